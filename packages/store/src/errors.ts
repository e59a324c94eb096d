import { GojinnError } from '@gojinn/errors';

/**
 * Store failures carry the stable code `internal`: to a caller (CLI, HTTP, a peer) a damaged
 * or busy store is a host failure, and its details (paths, keys) are the operator's business.
 * The subclasses let the node's own code and tests tell the cases apart without a new code.
 */

/**
 * Bytes read back from the store do not match the hash they are stored under (bit rot, a
 * damaged table, a hand edit), or a record cannot be decoded. The data is never served.
 */
export class StoreCorruptError extends GojinnError {
  readonly reason = 'store_corrupt';
  /** The sublevel and key whose value failed its check. */
  readonly where: string;

  constructor(where: string, detail: string, options?: { cause?: unknown }) {
    super('internal', `store_corrupt: ${where}: ${detail}; the entry is not served`, options);
    this.where = where;
  }
}

/** The data directory is already open, by this process or another (LevelDB's LOCK is held). */
export class StoreLockedError extends GojinnError {
  readonly reason = 'store_locked';
  readonly location: string;

  constructor(location: string, options?: { cause?: unknown }) {
    super(
      'internal',
      `store_locked: data directory ${location} is already in use by another store owner ` +
        `(a running node or another command); stop it or choose another data directory`,
      options,
    );
    this.location = location;
  }
}

/** True for level's own corruption reports, which the store turns into StoreCorruptError. */
export function isLevelCorruption(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'LEVEL_CORRUPTION'
  );
}
