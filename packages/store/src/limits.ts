/**
 * Every limit the store enforces, with its name and default (docs/store.md, "Limits").
 * Writes above a size limit are refused before anything reaches the disk; list calls never
 * return more than `maxPageSize` entries, whatever the caller asks for.
 */
export interface StoreLimits {
  /** Largest blob (module) accepted, in bytes. Matches the sandbox's maxModuleBytes default. */
  maxBlobBytes: number;
  /** Largest manifest accepted, in bytes. */
  maxManifestBytes: number;
  /** Largest signed revocation record accepted, in bytes. */
  maxRevocationBytes: number;
  /** Most entries one list call returns; callers page with the returned cursor. */
  maxPageSize: number;
}

export const DEFAULT_STORE_LIMITS: Readonly<StoreLimits> = Object.freeze({
  maxBlobBytes: 16 * 1024 * 1024,
  maxManifestBytes: 64 * 1024,
  maxRevocationBytes: 16 * 1024,
  maxPageSize: 1000,
});

/** A page of a bounded listing: `next` is the cursor for the following page, absent at the end. */
export interface Page<T> {
  items: T[];
  next?: string;
}

export interface PageRequest {
  /** Cursor returned by the previous page. */
  after?: string;
  /** Entries wanted; clamped to 1..maxPageSize. */
  limit?: number;
}

export function clampPageSize(requested: number | undefined, maxPageSize: number): number {
  if (requested === undefined || !Number.isFinite(requested)) return maxPageSize;
  return Math.max(1, Math.min(Math.floor(requested), maxPageSize));
}
