import { isIP } from 'node:net';

/**
 * True for an address that only this machine can reach: `localhost`, 127.0.0.0/8, ::1 and
 * IPv4-mapped 127.x. Any other name is treated as reachable from the network (a host name may
 * resolve anywhere), so binding it needs the explicit opt-in.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) {
    const lower = bare.toLowerCase();
    if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    return mapped?.[1]?.startsWith('127.') ?? false;
  }
  return false;
}
