import type { VerifiedModule } from '@gojinn/manifest';

/** Entries the registry's verified-module cache keeps before evicting the least recently used. */
export const DEFAULT_VERIFIED_CACHE_ENTRIES = 4096;

/**
 * Manifests (by the sha-256 of their exact bytes) that passed every check of verifyModule
 * under this registry's trust policy. The policy is fixed for a registry's lifetime, so a
 * hit means: signature, publisher, content hash and imports were all checked for these very
 * bytes — the serving path does not verify again. Revocation is NOT cached: it is looked up
 * on every serve, so a revocation takes effect at once.
 */
export class VerifiedModuleCache {
  readonly maxEntries: number;
  readonly #entries = new Map<string, VerifiedModule>();

  constructor(maxEntries: number = DEFAULT_VERIFIED_CACHE_ENTRIES) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(manifestHash: string): VerifiedModule | undefined {
    const entry = this.#entries.get(manifestHash);
    if (entry !== undefined) {
      this.#entries.delete(manifestHash); // Map order is recency order
      this.#entries.set(manifestHash, entry);
    }
    return entry;
  }

  set(manifestHash: string, verified: VerifiedModule): void {
    this.#entries.delete(manifestHash);
    this.#entries.set(manifestHash, verified);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }
}
