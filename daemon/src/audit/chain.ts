import { GojinnError } from '@gojinn/errors';
import { entrySignatureValid, parseEntry, seqOfKey, sha256Hex, type AuditEntry } from './entry.ts';

/**
 * Where a walk of the chain stands: the number and `prev` the next entry must have, and the
 * key it must be signed by (undefined until the first record names it).
 */
export interface ChainPosition {
  /** The first number of the walk: 0, or the one after the checkpoint. */
  readonly start: number;
  seq: number;
  prevHash: string;
  signer: string | undefined;
  /** The version of the last entry walked (undefined before the first). */
  prevVersion?: AuditEntry['v'];
}

/** Where a walk found the log broken (the first entry not verified), and why. */
export interface ChainBreak {
  seq: number;
  reason: string;
}

export function isChainBreak(value: object): value is ChainBreak {
  return 'reason' in value;
}

/**
 * Checks that the entry stored under `key` continues the chain at `position`: filed under the
 * next number, well formed, the same number inside, from the log's key, a version 1 entry's
 * signature valid, linked to its predecessor's hash. Returns where and why not, or the parsed
 * entry after advancing `position`. A version 2 entry has no signature of its own: its
 * batch's seal signs it (SealCover). `signature: false` skips version 1 signatures too, for a
 * caller that checks the signature of a later record the chain leads to (which then vouches
 * for every byte before it). Shared by verifyAuditLog and pruning.
 */
export function checkNextEntry(
  position: ChainPosition,
  key: string,
  value: Uint8Array,
  maxEntryBytes: number,
  options: { signature?: boolean } = {},
): ChainBreak | AuditEntry {
  const expected = position.seq;
  const broken = (reason: string): ChainBreak => ({ seq: expected, reason });
  const keySeq = seqOfKey(key);
  if (keySeq === undefined) return broken(`unexpected key ${JSON.stringify(key)} in the log`);
  if (keySeq !== expected) return broken(`entry ${expected} is missing (dropped)`);
  let entry;
  try {
    entry = parseEntry(value, maxEntryBytes);
  } catch (error) {
    return broken(error instanceof GojinnError ? error.message : 'unreadable entry');
  }
  if (entry.seq !== keySeq)
    return broken(`position ${expected} holds entry ${entry.seq} (reordered or moved)`);
  position.signer ??= entry.signer;
  if (entry.signer !== position.signer) return broken(`signed by ${entry.signer}, not ${position.signer}`);
  if (entry.v === 1 && options.signature !== false && !entrySignatureValid(entry)) {
    return broken('signature does not verify (entry edited)');
  }
  if (entry.prev !== position.prevHash) {
    if (expected === position.start && expected > 0) {
      return broken(`does not follow the checkpoint of entry ${expected - 1} (hash chain broken)`);
    }
    // The numbers are right, so the link itself was changed. A version 2 predecessor has no
    // signature of its own: the edit is most likely there (or in this entry's `prev`).
    if (position.prevVersion === 2) {
      return {
        seq: expected - 1,
        reason: `entry ${expected - 1} edited, or the prev of entry ${expected}: its hash is not entry ${expected}'s prev (hash chain broken)`,
      };
    }
    return broken(`does not follow entry ${expected - 1} (hash chain broken)`);
  }
  position.prevHash = sha256Hex(value);
  position.seq = expected + 1;
  position.prevVersion = entry.v;
  return entry;
}
