import { isIP } from 'node:net';
import { describeValue } from './config-error.ts';

/**
 * The kinds of value a config key can hold. Each kind knows how to check a value parsed from
 * TOML, what to say it expected (in errors, in the generated config.toml and in
 * docs/config.md — one text, so they cannot drift) and how to write a value back as TOML.
 */
export interface ValueKind<T> {
  /** The TOML type, for docs: `integer`, `string`, `boolean`, `array of strings`. */
  readonly type: string;
  /** What a valid value is, completing "expected …": `an integer in [1, 1024]`. */
  readonly expected: string;
  /** The checked value, or a Problem (`at` is a suffix of the key path, e.g. `[2]`). */
  check(value: unknown): T | Problem;
  /** The value as TOML source. */
  toToml(value: T): string;
}

/** Why a value was refused: "expected <expected>, got <describeValue>" unless `message` is set. */
export class Problem {
  readonly at: string;
  readonly message: string;
  constructor(message: string, at = '') {
    this.message = message;
    this.at = at;
  }
  static expected(expected: string, got: unknown, at = ''): Problem {
    return new Problem(`expected ${expected}, got ${describeValue(got)}`, at);
  }
}

function formatInteger(value: number | bigint): string {
  // Underscores make limits readable in the generated file (TOML accepts them).
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, '_');
}

export function integer(min: number, max: number, options: { multipleOf?: number } = {}): ValueKind<number> {
  const multiple = options.multipleOf;
  const expected =
    `an integer in [${formatInteger(min)}, ${formatInteger(max)}]` +
    (multiple === undefined ? '' : `, a multiple of ${formatInteger(multiple)}`);
  return {
    type: 'integer',
    expected,
    check(value) {
      const n = typeof value === 'bigint' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
        return Problem.expected(expected, value);
      }
      if (multiple !== undefined && n % multiple !== 0) return Problem.expected(expected, value);
      return n;
    },
    toToml: formatInteger,
  };
}

/** An integer that may exceed 2^53 (fuel): TOML integers are 64-bit signed. */
export function bigInteger(min: bigint, max: bigint): ValueKind<bigint> {
  const expected = `an integer in [${formatInteger(min)}, ${formatInteger(max)}]`;
  return {
    type: 'integer',
    expected,
    check(value) {
      if (typeof value === 'number' && Number.isSafeInteger(value)) value = BigInt(value);
      if (typeof value !== 'bigint' || value < min || value > max) return Problem.expected(expected, value);
      return value;
    },
    toToml: formatInteger,
  };
}

export const boolean: ValueKind<boolean> = {
  type: 'boolean',
  expected: 'true or false',
  check: (value) => (typeof value === 'boolean' ? value : Problem.expected('true or false', value)),
  toToml: String,
};

export function oneOf<const T extends string>(choices: readonly T[]): ValueKind<T> {
  const expected = `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`;
  return {
    type: 'string',
    expected,
    check: (value) =>
      typeof value === 'string' && (choices as readonly string[]).includes(value)
        ? (value as T)
        : Problem.expected(expected, value),
    toToml: (value) => JSON.stringify(value),
  };
}

/** A string accepted by `valid` (which returns true, or a reason appended to the message). */
export function text(
  expected: string,
  maxLength: number,
  valid: (s: string) => true | string,
): ValueKind<string> {
  return {
    type: 'string',
    expected,
    check(value) {
      if (typeof value !== 'string' || value.length > maxLength) return Problem.expected(expected, value);
      const verdict = valid(value);
      if (verdict === true) return value;
      return new Problem(`expected ${expected}, got ${describeValue(value)} (${verdict})`);
    },
    toToml: (value) => JSON.stringify(value),
  };
}

/** An array of at most `maxEntries` items of `item`, duplicates removed (first one kept). */
export function list<T>(item: ValueKind<T>, maxEntries: number): ValueKind<readonly T[]> {
  const expected = `an array of at most ${formatInteger(maxEntries)} entries, each ${item.expected}`;
  return {
    type: `array of ${item.type}s`,
    expected,
    check(value) {
      if (!Array.isArray(value) || value.length > maxEntries) return Problem.expected(expected, value);
      const out: T[] = [];
      const seen = new Set<unknown>();
      for (const [i, entry] of value.entries()) {
        // A repeated entry is dropped without checking it again (key checks can be costly).
        if (typeof entry !== 'object' && seen.has(entry)) continue;
        seen.add(entry);
        const checked = item.check(entry);
        if (checked instanceof Problem) return new Problem(checked.message, `[${i}]${checked.at}`);
        if (!out.includes(checked)) out.push(checked);
      }
      return out;
    },
    toToml: (values) => `[${values.map((v) => item.toToml(v)).join(', ')}]`,
  };
}

/** A TCP listen address as the daemon's HTTP servers take it. */
export interface ListenAddress {
  /** An IPv4 or IPv6 address (no brackets), or `localhost`. */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$/;

/** `127.0.0.1:8080`, `[::1]:8080` or `localhost:8080`: an IP literal (no name lookups at start). */
export const listenAddress: ValueKind<ListenAddress> = {
  type: 'string',
  expected: 'HOST:PORT with HOST an IPv4 address, [IPv6] or localhost, and PORT in [0, 65535]',
  check(value) {
    const match = typeof value === 'string' ? HOST_PORT.exec(value) : null;
    const host = match?.[1] ?? match?.[2];
    const port = Number(match?.[3]);
    if (host === undefined || port > 65535 || (host !== 'localhost' && isIP(host) === 0)) {
      return Problem.expected(this.expected, value);
    }
    return Object.freeze({ host, port });
  },
  toToml: (value) => JSON.stringify(formatListenAddress(value)),
};

export function formatListenAddress(address: ListenAddress): string {
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/**
 * True for an address only this machine can reach: `localhost`, 127.0.0.0/8, ::1 (also written
 * out in full or in brackets) and IPv4-mapped 127.x. Any other name counts as reachable from the
 * network (a host name may resolve anywhere), so binding it needs an explicit opt-in.
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
