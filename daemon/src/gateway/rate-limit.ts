/**
 * Token buckets keyed by client (an IP address or an API key id), with a bounded number of
 * clients remembered. Time comes from an injectable clock so the edge can be tested exactly.
 */
import { MAX_TRACKED_CLIENTS, type RateLimit } from './limits.ts';

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export type Clock = () => number;

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: Clock;
  readonly #maxClients: number;

  constructor(now: Clock = () => performance.now(), maxClients = MAX_TRACKED_CLIENTS) {
    this.#now = now;
    this.#maxClients = maxClients;
  }

  /** Takes one token from `client`'s bucket under `limit`; when empty, says when one will be there. */
  take(client: string, limit: Readonly<RateLimit>): TakeResult {
    const now = this.#now();
    let bucket = this.#buckets.get(client);
    if (bucket === undefined) {
      bucket = { tokens: limit.burst, updatedMs: now };
      if (this.#buckets.size >= this.#maxClients) {
        // Map order is insertion order and every take re-inserts: the first key is the idlest.
        const idlest = this.#buckets.keys().next().value;
        if (idlest !== undefined) this.#buckets.delete(idlest);
      }
    } else {
      const elapsed = Math.max(0, now - bucket.updatedMs);
      bucket.tokens = Math.min(limit.burst, bucket.tokens + (elapsed * limit.perSecond) / 1000);
      bucket.updatedMs = now;
      this.#buckets.delete(client);
    }
    this.#buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    const seconds = (1 - bucket.tokens) / limit.perSecond;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(seconds)) };
  }

  get trackedClients(): number {
    return this.#buckets.size;
  }
}
