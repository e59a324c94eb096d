import { GojinnError } from '@gojinn/errors';
import { cidrContains, parseCidr, parseIp, type CidrRange } from './ip-address.ts';

/**
 * Which IP addresses a guest's HTTP request may connect to: every public unicast address, and
 * none of the special-purpose ones (RFC 6890 and the IANA special-purpose registries) unless the
 * node explicitly allows a range. This is the SSRF defence: it is applied to the addresses a
 * host name RESOLVES to, so a public name pointing at 127.0.0.1 is refused like 127.0.0.1.
 */
interface DeniedRange {
  readonly range: CidrRange;
  readonly why: string;
}

/** An IPv6 range that carries an IPv4 address, judged by the rules for that IPv4 address. */
interface EmbeddingRange {
  readonly range: CidrRange;
  readonly why: string;
  /** Byte offset of the embedded IPv4 address. */
  readonly offset: number;
}

function cidr(text: string): CidrRange {
  const range = parseCidr(text);
  if (range === undefined) throw new Error(`bad built-in range ${text}`);
  return range;
}

const DENIED_IPV4: readonly DeniedRange[] = [
  { range: cidr('0.0.0.0/8'), why: 'unspecified ("this network")' },
  { range: cidr('10.0.0.0/8'), why: 'private' },
  { range: cidr('100.64.0.0/10'), why: 'shared address space (carrier-grade NAT)' },
  { range: cidr('127.0.0.0/8'), why: 'loopback' },
  { range: cidr('169.254.0.0/16'), why: 'link-local (cloud metadata lives here)' },
  { range: cidr('172.16.0.0/12'), why: 'private' },
  { range: cidr('192.0.0.0/24'), why: 'IETF protocol assignments' },
  { range: cidr('192.0.2.0/24'), why: 'documentation' },
  { range: cidr('192.88.99.0/24'), why: '6to4 relay anycast' },
  { range: cidr('192.168.0.0/16'), why: 'private' },
  { range: cidr('198.18.0.0/15'), why: 'benchmarking' },
  { range: cidr('198.51.100.0/24'), why: 'documentation' },
  { range: cidr('203.0.113.0/24'), why: 'documentation' },
  { range: cidr('224.0.0.0/4'), why: 'multicast' },
  { range: cidr('240.0.0.0/4'), why: 'reserved (includes broadcast 255.255.255.255)' },
];

// Checked before DENIED_IPV6: these forms reach an IPv4 address (the kernel maps them, or a
// NAT64/6to4 gateway does), so they are exactly as safe as the address they carry.
const EMBEDDING_IPV6: readonly EmbeddingRange[] = [
  { range: cidr('::ffff:0:0/96'), why: 'IPv4-mapped', offset: 12 },
  { range: cidr('64:ff9b::/96'), why: 'NAT64', offset: 12 },
  { range: cidr('2002::/16'), why: '6to4', offset: 2 },
];

/** Searched in order; the first range that holds the address names the reason. */
const DENIED_IPV6: readonly DeniedRange[] = [
  { range: cidr('::/128'), why: 'unspecified' },
  { range: cidr('::1/128'), why: 'loopback' },
  { range: cidr('64:ff9b:1::/48'), why: 'local-use NAT64' },
  { range: cidr('100::/64'), why: 'discard-only' },
  { range: cidr('2001::/23'), why: 'IETF protocol assignments (includes Teredo)' },
  { range: cidr('2001:db8::/32'), why: 'documentation' },
  { range: cidr('3fff::/20'), why: 'documentation' },
  { range: cidr('fc00::/7'), why: 'unique local (private)' },
  { range: cidr('fe80::/10'), why: 'link-local' },
  { range: cidr('fec0::/10'), why: 'site-local (deprecated)' },
  { range: cidr('ff00::/8'), why: 'multicast' },
  // Last: it holds the more specific ranges above (64:ff9b::/96 and 64:ff9b:1::/48 start 0064).
  { range: cidr('::/8'), why: 'reserved (includes IPv4-compatible and IPv4-translated forms)' },
];

/** Most address ranges a node may exempt from the rules (keeps a config mistake bounded). */
export const MAX_ALLOWED_RANGES = 64;

export interface AddressPolicyOptions {
  /**
   * CIDR ranges exempt from the address rules (e.g. `127.0.0.0/8` for tests against a loopback
   * server, or a private range an operator deliberately exposes). Empty by default: nothing
   * special-purpose is reachable. An IPv4 range also covers that address's IPv4-mapped, NAT64
   * and 6to4 forms.
   */
  allowedRanges?: readonly string[];
}

export class AddressPolicy {
  readonly #allowed: readonly CidrRange[];

  constructor(options: AddressPolicyOptions = {}) {
    const ranges = options.allowedRanges ?? [];
    if (ranges.length > MAX_ALLOWED_RANGES) {
      throw new GojinnError(
        'bad_request',
        `allowedRanges has ${ranges.length} entries; the limit is MAX_ALLOWED_RANGES (${MAX_ALLOWED_RANGES})`,
      );
    }
    this.#allowed = ranges.map((text) => {
      const range = typeof text === 'string' ? parseCidr(text) : undefined;
      if (range === undefined) {
        throw new GojinnError(
          'bad_request',
          `allowedRanges entry ${JSON.stringify(String(text).slice(0, 64))} is not a CIDR range like 127.0.0.0/8`,
        );
      }
      return range;
    });
  }

  /** The ranges exempt from the rules, canonical text. */
  get allowedRanges(): string[] {
    return this.#allowed.map((range) => range.text);
  }

  /**
   * Why a connection to `address` (IP text) is refused, or undefined when it may be made. The
   * reason names only the rule (e.g. "is loopback (127.0.0.0/8)"), never the address, so it
   * may go to the security log. Text that is not an IP address is refused.
   */
  denial(address: string): string | undefined {
    const bytes = parseIp(address);
    if (bytes === undefined) return 'is not an IP address';
    return this.#denialOf(bytes);
  }

  #denialOf(bytes: Uint8Array): string | undefined {
    if (this.#allowed.some((range) => cidrContains(range, bytes))) return undefined;
    if (bytes.length === 4) {
      const denied = DENIED_IPV4.find((rule) => cidrContains(rule.range, bytes));
      return denied === undefined ? undefined : `is ${denied.why} (${denied.range.text})`;
    }
    const embedding = EMBEDDING_IPV6.find((rule) => cidrContains(rule.range, bytes));
    if (embedding !== undefined) {
      const inner = bytes.subarray(embedding.offset, embedding.offset + 4);
      const why = this.#denialOf(inner);
      return why === undefined
        ? undefined
        : `is ${embedding.why} (${embedding.range.text}) of an IPv4 address that ${why}`;
    }
    const denied = DENIED_IPV6.find((rule) => cidrContains(rule.range, bytes));
    return denied === undefined ? undefined : `is ${denied.why} (${denied.range.text})`;
  }
}
