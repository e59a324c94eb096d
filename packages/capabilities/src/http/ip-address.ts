import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP addresses as bytes (4 for IPv4, 16 for IPv6) and CIDR ranges over them. The address rules
 * compare bytes, never text: "::ffff:7f00:1", "::ffff:127.0.0.1" and "0:0:0:0:0:ffff:7f00:0001"
 * are one address.
 */
export interface CidrRange {
  /** The network address, 4 or 16 bytes, host bits zero. */
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
  /** The range as written in canonical form, for messages. */
  readonly text: string;
}

/** The bytes of an IPv4 or IPv6 address in text form (an IPv6 zone `%eth0` is ignored), or undefined. */
export function parseIp(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return parseIPv4(text);
  const zone = text.indexOf('%');
  const bare = zone === -1 ? text : text.slice(0, zone);
  if (!isIPv6(bare)) return undefined;
  return parseIPv6(bare);
}

function parseIPv4(text: string): Uint8Array {
  // node:net's isIPv4 admits only four decimal octets 0..255 (no octal, hex or short forms).
  return Uint8Array.from(text.split('.'), Number);
}

function parseIPv6(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(16);
  let body = text;
  let tailBytes: Uint8Array | undefined;
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    tailBytes = parseIPv4(body.slice(lastColon + 1));
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', tail, extra] = body.split('::');
  if (extra !== undefined) return undefined;
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = 8 - headGroups.length - tailGroups.length;
  if (tail === undefined ? zeros !== 0 : zeros < 1) return undefined;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : zeros).fill('0'), ...tailGroups];
  for (let i = 0; i < 8; i++) {
    const value = Number.parseInt(groups[i] ?? '', 16);
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) return undefined;
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  }
  if (tailBytes !== undefined) bytes.set(tailBytes, 12);
  return bytes;
}

/** Canonical text of address bytes: dotted quad, or RFC 5952 IPv6 (longest zero run compressed). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Parses `address/prefix` (e.g. `10.0.0.0/8`, `fc00::/7`); undefined when malformed or host bits are set. */
export function parseCidr(text: string): CidrRange | undefined {
  const slash = text.indexOf('/');
  if (slash === -1) return undefined;
  const bytes = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (bytes === undefined || text.includes('%') || !/^(?:0|[1-9][0-9]{0,2})$/.test(prefixText))
    return undefined;
  const prefixLength = Number(prefixText);
  if (prefixLength > bytes.length * 8) return undefined;
  for (let bit = prefixLength; bit < bytes.length * 8; bit++) {
    if (((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) return undefined;
  }
  return { bytes, prefixLength, text: `${formatIp(bytes)}/${prefixLength}` };
}

/** True when `address` is in `range` (an IPv4 address is never in an IPv6 range or the reverse). */
export function cidrContains(range: CidrRange, address: Uint8Array): boolean {
  if (range.bytes.length !== address.length) return false;
  const whole = range.prefixLength >> 3;
  for (let i = 0; i < whole; i++) if (range.bytes[i] !== address[i]) return false;
  const rest = range.prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((range.bytes[whole] ?? 0) & mask) === ((address[whole] ?? 0) & mask);
}
