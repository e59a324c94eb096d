/**
 * API keys: stored as the sha-256 of the key, never the key itself; each lists the functions
 * its holder may call. A presented key is hashed and compared with every stored hash in
 * constant time, so neither the key nor which stored hash is nearest leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { MAX_API_KEYS, checkRateLimit, type RateLimit } from './limits.ts';

export interface ApiKeyEntry {
  /** A name for logs and the admin API (never the key). */
  id: string;
  /** Hex sha-256 of the key's UTF-8 bytes (`apiKeyHash`). */
  sha256: string;
  /** Function names this key may call; any other ⇒ 403. */
  functions: readonly string[];
  /** This key's own token bucket; default DEFAULT_KEY_RATE_LIMIT. */
  rateLimit?: RateLimit;
}

export interface ApiKeyGrant {
  id: string;
  functions: ReadonlySet<string>;
  rateLimit: Readonly<RateLimit> | undefined;
}

const HASH_HEX = /^[0-9a-f]{64}$/;
const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** What stored key hashes are made of: hex sha-256 of the key text. */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Keys the gateway accepts; `revoke` takes effect on the next request. */
export class ApiKeyStore {
  readonly #entries = new Map<string, { hash: Buffer; grant: ApiKeyGrant }>();

  constructor(entries: readonly ApiKeyEntry[] = []) {
    for (const entry of entries) this.add(entry);
  }

  add(entry: ApiKeyEntry): void {
    if (!ID_PATTERN.test(entry.id))
      throw new RangeError(`API key id ${JSON.stringify(entry.id)} must match ${ID_PATTERN}`);
    if (!HASH_HEX.test(entry.sha256))
      throw new RangeError(`API key ${entry.id}: sha256 must be 64 lower-case hex digits`);
    if (this.#entries.has(entry.id)) throw new RangeError(`API key id ${entry.id} is already present`);
    if (this.#entries.size >= MAX_API_KEYS)
      throw new RangeError(`at most ${MAX_API_KEYS} API keys (MAX_API_KEYS)`);
    const rateLimit =
      entry.rateLimit === undefined
        ? undefined
        : checkRateLimit(entry.rateLimit, `API key ${entry.id} rateLimit`);
    this.#entries.set(entry.id, {
      hash: Buffer.from(entry.sha256, 'hex'),
      grant: { id: entry.id, functions: new Set(entry.functions), rateLimit },
    });
  }

  /** Removes a key; true when it was present. */
  revoke(id: string): boolean {
    return this.#entries.delete(id);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The grant of the key whose hash matches, or null. Compares against every entry. */
  authenticate(key: string): ApiKeyGrant | null {
    const presented = createHash('sha256').update(key, 'utf8').digest();
    let found: ApiKeyGrant | null = null;
    for (const { hash, grant } of this.#entries.values()) {
      // No early exit: the work done is the same whichever entry matches.
      if (timingSafeEqual(hash, presented) && found === null) found = grant;
    }
    return found;
  }
}

/** Visible ASCII without spaces (RFC 6750 b64token is narrower; this refuses only what cannot be a key). */
const TOKEN = /^[\x21-\x7e]+$/;

export type BearerParse = { kind: 'absent' } | { kind: 'malformed' } | { kind: 'token'; token: string };

/** `Authorization: Bearer <key>` → the key, bounded by maxLength before anything is hashed. */
export function parseBearer(header: string | undefined, maxLength: number): BearerParse {
  if (header === undefined) return { kind: 'absent' };
  const match = /^Bearer +(\S+) *$/i.exec(header);
  const token = match?.[1];
  if (token === undefined || token.length > maxLength || !TOKEN.test(token)) return { kind: 'malformed' };
  return { kind: 'token', token };
}
