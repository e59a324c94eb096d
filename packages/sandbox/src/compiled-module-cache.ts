/**
 * A bounded LRU map from content hash to prepared module. Preparation (validate, rewrite,
 * compile, warm up) happens once per module; the hot path only looks the hash up.
 */
export class CompiledModuleCache<T> {
  readonly #entries = new Map<string, T>();
  readonly capacity: number;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`module cache capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(hash: string): T | undefined {
    const entry = this.#entries.get(hash);
    if (entry !== undefined) {
      // Re-insert: a Map iterates in insertion order, so the first key is the least recent.
      this.#entries.delete(hash);
      this.#entries.set(hash, entry);
    }
    return entry;
  }

  set(hash: string, entry: T): void {
    this.#entries.delete(hash);
    this.#entries.set(hash, entry);
    while (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  delete(hash: string): boolean {
    return this.#entries.delete(hash);
  }
}
