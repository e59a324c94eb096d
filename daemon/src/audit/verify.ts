import { GojinnError } from '@gojinn/errors';
import { parsePublicKey } from '@gojinn/manifest';
import type { BytesSublevel } from '@gojinn/store';
import {
  CHECKPOINT_KEY,
  ENTRY_KEY_END,
  ENTRY_KEY_PREFIX,
  GENESIS_HASH,
  HEAD_KEY,
  checkpointSignatureValid,
  entrySignatureValid,
  headSignatureValid,
  parseCheckpoint,
  parseEntry,
  parseHead,
  seqOfKey,
  sha256Hex,
  type AuditCheckpoint,
  type AuditEntry,
} from './entry.ts';
import { DEFAULT_AUDIT_LIMITS } from './limits.ts';

/** What `verifyAuditLog` found. `broken` names the first entry that fails, and why. */
export interface AuditVerification {
  ok: boolean;
  /**
   * Kept entries that passed every check, from the first kept one (entry 0, or the one after
   * the checkpoint) up to the first broken one.
   */
  entriesVerified: number;
  /** The key every entry is signed by: `publicKey` when given, else the first record's signer. */
  signer?: string;
  /**
   * The signed checkpoint retention left (docs/audit.md, "Retention"), once it has verified:
   * entries 0..`seq` (`pruned` of them) were deleted, the last had sha-256 `hash`.
   */
  checkpoint?: { seq: number; hash: string; time: string; pruned: number };
  broken?: { seq: number; reason: string };
}

export interface VerifyAuditOptions {
  /** The node's public key (text form): every record must be signed by it. Default: the first record's signer. */
  publicKey?: string;
  maxEntryBytes?: number;
}

/**
 * Where a walk of the chain stands: the number and `prev` the next entry must have, and the
 * key it must be signed by (undefined until the first signed record names it).
 */
export interface ChainPosition {
  /** The first number of the walk: 0, or the one after the checkpoint. */
  readonly start: number;
  seq: number;
  prevHash: string;
  signer: string | undefined;
}

/**
 * Checks that the entry stored under `key` continues the chain at `position`: filed under the
 * next number, well formed, the same number inside, signed by the log's key, signature valid,
 * linked to its predecessor's hash. Returns why not, or the parsed entry after advancing
 * `position`. `signature: false` skips the signature, for a caller that checks the signature
 * of a later entry the chain leads to (which then vouches for every byte before it).
 * Shared by verifyAuditLog and pruning (which verifies what it is about to delete).
 */
export function checkNextEntry(
  position: ChainPosition,
  key: string,
  value: Uint8Array,
  maxEntryBytes: number,
  options: { signature?: boolean } = {},
): string | AuditEntry {
  const expected = position.seq;
  const keySeq = seqOfKey(key);
  if (keySeq === undefined) return `unexpected key ${JSON.stringify(key)} in the log`;
  if (keySeq !== expected) return `entry ${expected} is missing (dropped)`;
  let entry;
  try {
    entry = parseEntry(value, maxEntryBytes);
  } catch (error) {
    return error instanceof GojinnError ? error.message : 'unreadable entry';
  }
  if (entry.seq !== keySeq) return `position ${expected} holds entry ${entry.seq} (reordered or moved)`;
  position.signer ??= entry.signer;
  if (entry.signer !== position.signer) return `signed by ${entry.signer}, not ${position.signer}`;
  if (options.signature !== false && !entrySignatureValid(entry)) {
    return 'signature does not verify (entry edited)';
  }
  if (entry.prev !== position.prevHash) {
    return expected === position.start && expected > 0
      ? `does not follow the checkpoint of entry ${expected - 1} (hash chain broken)`
      : `does not follow entry ${expected - 1} (hash chain broken)`;
  }
  position.prevHash = sha256Hex(value);
  position.seq = expected + 1;
  return entry;
}

/** "entry 3" or "entries 3–7". */
function entryRange(first: number, last: number): string {
  return first === last ? `entry ${first}` : `entries ${first}–${last}`;
}

/**
 * Checks the checkpoint's bytes, if any. Returns it (undefined: the log was never pruned) or
 * why it cannot be trusted.
 */
function checkCheckpoint(
  bytes: Uint8Array | undefined,
  maxEntryBytes: number,
  signer: string | undefined,
): { checkpoint?: AuditCheckpoint; problem?: string } {
  if (bytes === undefined) return {};
  let checkpoint;
  try {
    checkpoint = parseCheckpoint(bytes, maxEntryBytes);
  } catch (error) {
    return { problem: error instanceof GojinnError ? error.message : 'unreadable checkpoint' };
  }
  if (signer !== undefined && checkpoint.signer !== signer) {
    return { problem: `checkpoint signed by ${checkpoint.signer}, not ${signer}` };
  }
  if (!checkpointSignatureValid(checkpoint)) {
    return { problem: 'checkpoint signature does not verify (checkpoint edited)' };
  }
  return { checkpoint };
}

/**
 * Walks the whole chain, reading one entry at a time: from entry 0, or — when retention has
 * pruned the log — from the signed checkpoint, whose hash the first kept entry must link to.
 * Reports a checkpoint that is malformed, signed by another key or edited; kept entries that
 * do not start where the checkpoint (or entry 0) says; then the first entry that is missing,
 * malformed, filed under another number, signed by another key, not verified by its signature,
 * or not linked to its predecessor's hash; then checks the signed head against the last entry,
 * so a cut-off tail is found too. Read-only.
 *
 * Everything is read through one iterator over the sublevel (keys sort `checkpoint` <
 * `entry/…` < `head`), so from one LevelDB snapshot: on a running node, an append or a prune
 * step landing mid-walk cannot make the checkpoint, the entries and the head disagree.
 */
export async function verifyAuditLog(
  sublevel: BytesSublevel,
  options: VerifyAuditOptions = {},
): Promise<AuditVerification> {
  const maxEntryBytes = options.maxEntryBytes ?? DEFAULT_AUDIT_LIMITS.maxEntryBytes;
  if (options.publicKey !== undefined) parsePublicKey(options.publicKey);
  const iterator = sublevel.iterator();
  try {
    let item = await iterator.next();
    // Before the entries: the checkpoint (any other key there is not the log's).
    let checkpointBytes: Uint8Array | undefined;
    for (; item !== undefined && item[0] < ENTRY_KEY_PREFIX; item = await iterator.next()) {
      if (item[0] === CHECKPOINT_KEY) checkpointBytes = item[1];
    }
    const { checkpoint, problem } = checkCheckpoint(checkpointBytes, maxEntryBytes, options.publicKey);
    const start = checkpoint === undefined ? 0 : checkpoint.seq + 1;
    const position: ChainPosition = {
      start,
      seq: start,
      prevHash: checkpoint?.hash ?? GENESIS_HASH,
      signer: options.publicKey ?? checkpoint?.signer,
    };
    const checkpointReport =
      checkpoint === undefined
        ? {}
        : {
            checkpoint: {
              seq: checkpoint.seq,
              hash: checkpoint.hash,
              time: checkpoint.time,
              pruned: checkpoint.seq + 1,
            },
          };
    const fail = (seq: number, reason: string): AuditVerification => ({
      ok: false,
      // The head check can fault an entry already walked (it was not the one the head signed).
      entriesVerified: Math.max(0, Math.min(position.seq, seq) - start),
      ...(position.signer === undefined ? {} : { signer: position.signer }),
      ...checkpointReport,
      broken: { seq, reason },
    });

    let first = true;
    for (; item !== undefined && item[0] < ENTRY_KEY_END; item = await iterator.next()) {
      const [key, value] = item;
      if (first) {
        first = false;
        // A checkpoint that cannot be trusted leaves the first kept entry unlinked to history.
        const keySeq = seqOfKey(key);
        if (problem !== undefined) return fail(keySeq ?? 0, problem);
        if (keySeq !== undefined && keySeq < start) {
          return fail(
            keySeq,
            `entry ${keySeq} is present although the checkpoint says ${entryRange(0, start - 1)} were pruned`,
          );
        }
        if (keySeq !== undefined && keySeq > start) {
          return fail(
            start,
            checkpoint === undefined
              ? `${entryRange(0, keySeq - 1)} missing and no signed checkpoint covers them (deleted without a checkpoint, or the checkpoint removed)`
              : `${entryRange(start, keySeq - 1)} missing past the checkpoint of entry ${checkpoint.seq} (deleted without a new checkpoint)`,
          );
        }
      }
      const checked = checkNextEntry(position, key, value, maxEntryBytes);
      if (typeof checked === 'string') return fail(position.seq, checked);
    }
    if (problem !== undefined) return fail(0, problem);
    // After the entries: the head.
    let headBytes: Uint8Array | undefined;
    for (; item !== undefined; item = await iterator.next()) {
      if (item[0] === HEAD_KEY) headBytes = item[1];
    }
    const ok: AuditVerification = {
      ok: true,
      entriesVerified: position.seq - start,
      ...(position.signer === undefined ? {} : { signer: position.signer }),
      ...checkpointReport,
    };
    return checkHead(headBytes, maxEntryBytes, position, ok, fail);
  } finally {
    await iterator.close();
  }
}

function checkHead(
  bytes: Uint8Array | undefined,
  maxEntryBytes: number,
  position: ChainPosition,
  ok: AuditVerification,
  fail: (seq: number, reason: string) => AuditVerification,
): AuditVerification {
  const next = position.seq;
  if (bytes === undefined) return next === 0 ? ok : fail(next, 'the signed head record is missing');
  let head;
  try {
    head = parseHead(bytes, maxEntryBytes);
  } catch (error) {
    return fail(next, error instanceof GojinnError ? error.message : 'unreadable head');
  }
  const signer = position.signer;
  if (signer !== undefined && head.signer !== signer) return fail(next, `head signed by ${head.signer}`);
  if (!headSignatureValid(head)) return fail(next, 'head signature does not verify (head edited)');
  if (head.seq + 1 > next)
    return fail(next, `entry ${next} is missing (the head names ${head.seq + 1} entries)`);
  if (head.seq + 1 < next)
    return fail(head.seq + 1, `entry ${head.seq + 1} is not covered by the signed head`);
  if (head.hash !== position.prevHash) {
    return fail(head.seq, `entry ${head.seq} differs from the one the head signed`);
  }
  return ok;
}
