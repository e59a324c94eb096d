/** Smallest allocation for captured output; grows by doubling up to the buffer's limit. */
const INITIAL_CAPACITY = 256;

/**
 * Bytes a guest wrote to stdout or stderr, never more than `limit`. What to do with bytes past
 * the limit is the caller's policy (stdout fails the invocation, stderr drops them); this only
 * refuses to hold them. Memory is allocated as output arrives, so a silent guest costs nothing.
 */
export class OutputBuffer {
  readonly limit: number;
  #bytes: Uint8Array = new Uint8Array(0);
  #length = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get length(): number {
    return this.#length;
  }

  /** Room left before the limit. */
  get available(): number {
    return this.limit - this.#length;
  }

  /** Appends as much of `chunk` as fits under the limit and returns how many bytes were kept. */
  append(chunk: Uint8Array): number {
    const kept = Math.min(chunk.byteLength, this.limit - this.#length);
    if (kept <= 0) return 0;
    this.#reserve(this.#length + kept);
    this.#bytes.set(kept === chunk.byteLength ? chunk : chunk.subarray(0, kept), this.#length);
    this.#length += kept;
    return kept;
  }

  /** A copy of the captured bytes in its own ArrayBuffer, exactly `length` long (safe to post to another thread). */
  toBytes(): Uint8Array {
    return new Uint8Array(this.#bytes.subarray(0, this.#length));
  }

  /** A view of the captured bytes (no copy), valid until the next append. */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  #reserve(needed: number): void {
    if (needed <= this.#bytes.byteLength) return;
    let capacity = Math.max(INITIAL_CAPACITY, this.#bytes.byteLength * 2);
    while (capacity < needed) capacity *= 2;
    // allocUnsafe carves small buffers out of Node's shared pool: far cheaper than a fresh
    // ArrayBuffer on the hot path. Only the written prefix is ever read, and toBytes() copies
    // it out, so neither stale pool bytes nor the pool itself can leave this object.
    const grown = Buffer.allocUnsafe(Math.min(capacity, this.limit));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }
}
