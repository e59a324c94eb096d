/**
 * The audit log's limits (docs/audit.md, "Limits"). An entry is written by this node, but the
 * bytes on disk are untrusted when read back (an attacker may have had disk access), so every
 * read is bounded by the same limit that bounds a write.
 */
export interface AuditLimits {
  /** Largest encoded entry (canonical JSON, signature included), in bytes; bounds every stored record read. */
  maxEntryBytes: number;
  /** Most entries one `list` call returns; callers page with the returned cursor. */
  maxPageSize: number;
  /** Most entries written in one batch (one fsync, one seal and one head signature) by group commit. */
  maxBatchEntries: number;
  /**
   * Most entries one prune batch reads, verifies and deletes (one LevelDB batch with the new
   * checkpoint). An append arriving meanwhile waits for at most one such batch. At least
   * maxBatchEntries by default, so pruning keeps up with the largest append batch.
   */
  maxPruneEntries: number;
}

export const DEFAULT_AUDIT_LIMITS: Readonly<AuditLimits> = Object.freeze({
  maxEntryBytes: 16 * 1024,
  maxPageSize: 1000,
  maxBatchEntries: 256,
  maxPruneEntries: 256,
});

/** Entry kinds are short identifiers (`invocation`, `admin`, ...): 1..64 characters. */
export const AUDIT_KIND_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;
