/**
 * The main thread's copy of one worker's module cache (hashes only, least recently used
 * first). The main thread decides what the worker holds: it sends a module with the first
 * task that needs it and names the hashes to evict, so no request/reply is ever needed to
 * learn what a worker has. Worker and mirror apply the same changes in the same order.
 */
export class ModuleCacheMirror {
  readonly #capacity: number;
  /** Map iteration order is insertion order: re-inserting on use keeps the oldest first. */
  readonly #hashes = new Map<string, true>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#hashes.size;
  }

  /**
   * Records a use of `hash`. Returns undefined when the worker already holds it, otherwise the
   * hashes the worker must evict to make room (possibly none) before it receives the module.
   */
  use(hash: string): string[] | undefined {
    if (this.#hashes.delete(hash)) {
      this.#hashes.set(hash, true);
      return undefined;
    }
    const evict: string[] = [];
    for (const oldest of this.#hashes.keys()) {
      if (this.#hashes.size < this.#capacity) break;
      this.#hashes.delete(oldest);
      evict.push(oldest);
    }
    this.#hashes.set(hash, true);
    return evict;
  }
}
