/**
 * The caller's memory of receipt batches whose root signature it already checked, so that one
 * Ed25519 verification (≈ 130 µs of OpenSSL on the machines measured) serves every receipt of a
 * batch. An entry is the exact (peer, size, root, signature) that verified: a receipt rides on
 * it only when its own inclusion path leads to that very root and it carries that very
 * signature — a receipt whose claims were changed leads to another root, so it is checked (and
 * refused) in full. Only successful verifications are remembered.
 */

/** Batches remembered as verified; least recently used forgotten first. */
export const MAX_CACHED_RECEIPT_BATCHES = 256;

export class VerifiedBatchCache {
  readonly capacity: number;
  /** Lookups answered from memory (an OpenSSL verification spared). */
  hits = 0;
  /** Lookups that found nothing (the signature was then checked). */
  misses = 0;
  // A Map iterates in insertion order: deleting and re-adding an entry marks it recently used.
  readonly #entries = new Map<string, true>();

  constructor(capacity: number = MAX_CACHED_RECEIPT_BATCHES) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${String(capacity)}`);
    }
    this.capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Whether exactly this batch root and signature of `peer` verified before. */
  has(peer: string, size: number, root: string, signature: string): boolean {
    const key = keyOf(peer, size, root, signature);
    if (!this.#entries.has(key)) {
      this.misses++;
      return false;
    }
    this.#entries.delete(key);
    this.#entries.set(key, true);
    this.hits++;
    return true;
  }

  /** Remembers a batch whose root signature was just verified. */
  add(peer: string, size: number, root: string, signature: string): void {
    const key = keyOf(peer, size, root, signature);
    this.#entries.delete(key);
    if (this.#entries.size >= this.capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, true);
  }

  clear(): void {
    this.#entries.clear();
  }
}

// Peer ids (base58btc), roots (hex) and signatures (base64url, checked canonical) contain no
// space, and the size is decimal: the joined key is unambiguous.
function keyOf(peer: string, size: number, root: string, signature: string): string {
  return `${peer} ${size} ${root} ${signature}`;
}
