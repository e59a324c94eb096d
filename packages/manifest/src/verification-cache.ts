import { createHash } from 'node:crypto';
import { DEFAULT_VERIFICATION_CACHE_ENTRIES } from './limits.ts';
import { manifestSigningBytes } from './manifest.ts';
import type { Manifest } from './schema.ts';

/**
 * Remembers manifests whose signature verified, so a hot path never runs ed25519 again.
 * Keyed by (content hash, signature); each entry also holds the SHA-256 of the exact signed
 * bytes, and a hit needs those to match too — a manifest with a reused signature but any
 * field changed is a miss and gets verified (and refused). Only the signature is cached: trust,
 * hash, size and imports are re-checked on every call because they are cheap and trust can
 * change. Bounded: least recently used entries are evicted beyond `maxEntries`.
 */
export class VerificationCache {
  readonly maxEntries: number;
  readonly #entries = new Map<string, string>();
  #hits = 0;
  #misses = 0;

  constructor(maxEntries: number = DEFAULT_VERIFICATION_CACHE_ENTRIES) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Lookups that found this exact manifest (ed25519 skipped). */
  get hits(): number {
    return this.#hits;
  }

  /** Lookups that did not (ed25519 ran, or the manifest was refused). */
  get misses(): number {
    return this.#misses;
  }

  /** True when this exact manifest (every signed byte and the signature) verified before. */
  has(manifest: Manifest): boolean {
    const key = cacheKey(manifest);
    const digest = this.#entries.get(key);
    if (digest === undefined || digest !== signedDigest(manifest)) {
      this.#misses++;
      return false;
    }
    this.#entries.delete(key); // re-insert: Map order is the recency order
    this.#entries.set(key, digest);
    this.#hits++;
    return true;
  }

  /** Records that `manifest`'s signature verified. Call only after verifying it. */
  remember(manifest: Manifest): void {
    const key = cacheKey(manifest);
    this.#entries.delete(key);
    this.#entries.set(key, signedDigest(manifest));
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}

function cacheKey(manifest: Manifest): string {
  return `${manifest.sha256}:${manifest.signature}`;
}

function signedDigest(manifest: Manifest): string {
  return createHash('sha256').update(manifestSigningBytes(manifest)).digest('base64');
}
