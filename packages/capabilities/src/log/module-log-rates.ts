/**
 * Per-module log rate: a token bucket per module (publisher + name), shared by every
 * invocation of that module on this node, so many short invocations cannot flood the node's
 * log where each alone stays under its per-invocation budget.
 */

/** Modules whose buckets are kept; the least recently used is forgotten beyond this (it restarts full). */
export const MAX_TRACKED_MODULES = 10_000;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class ModuleLogRates {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /** `now` is a monotonic clock in milliseconds (performance.now by default; tests pass their own). */
  constructor(perSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#now = now;
  }

  /** Takes one line's token for `moduleKey`; false when the module is over its rate. */
  take(moduleKey: string): boolean {
    const now = this.#now();
    let bucket = this.#buckets.get(moduleKey);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, updatedAt: now };
      if (this.#buckets.size >= MAX_TRACKED_MODULES) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    } else {
      this.#buckets.delete(moduleKey); // re-inserted below: Map order is least recently used first
      const elapsed = Math.max(0, now - bucket.updatedAt);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (elapsed * this.#perSecond) / 1000);
      bucket.updatedAt = now;
    }
    this.#buckets.set(moduleKey, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get trackedModules(): number {
    return this.#buckets.size;
  }
}
