import { GojinnError } from '@gojinn/errors';
import { parsePublicKey } from '@gojinn/manifest';
import type { BytesSublevel } from '@gojinn/store';
import { checkNextEntry, isChainBreak, type ChainPosition } from './chain.ts';
import {
  CHECKPOINT_KEY,
  ENTRY_KEY_END,
  ENTRY_KEY_PREFIX,
  GENESIS_HASH,
  HEAD_KEY,
  checkpointSignatureValid,
  headSignatureValid,
  parseCheckpoint,
  parseHead,
  seqOfKey,
  seqOfSealKey,
  type AuditCheckpoint,
} from './entry.ts';
import { DEFAULT_AUDIT_LIMITS } from './limits.ts';
import { SealCover, entryRange } from './seal-cover.ts';

/** What `verifyAuditLog` found. `broken` names the first entry that fails, and why. */
export interface AuditVerification {
  ok: boolean;
  /**
   * Kept entries that passed every check, from the first kept one (entry 0, or the one after
   * the checkpoint) up to the first broken one.
   */
  entriesVerified: number;
  /**
   * Seals (one per append batch of version 2 entries) that verified: each signs every entry
   * of its batch. 0 on a log of version 1 entries only (each signed on its own).
   */
  sealsVerified: number;
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
 * Walks the whole chain, reading one record at a time: from entry 0, or — when retention has
 * pruned the log — from the signed checkpoint, whose hash the first kept entry must link to.
 * Reports a checkpoint that is malformed, signed by another key or edited; kept entries that
 * do not start where the checkpoint (or entry 0) says; then the first entry that is missing,
 * malformed, filed under another number, signed by another key, not verified by its signature
 * (version 1) or its batch's seal (version 2, SealCover), or not linked to its predecessor's
 * hash; then checks the signed head against the last entry, so a cut-off tail is found too.
 * Read-only.
 *
 * Everything is read through one iterator over the sublevel (keys sort `checkpoint` <
 * `entry/N` < `entry/N/seal` < `entry/N+1` < `head`), so from one LevelDB snapshot: on a
 * running node, an append or a prune step landing mid-walk cannot make the checkpoint, the
 * entries, the seals and the head disagree.
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
    const cover = new SealCover();
    const fail = (seq: number, reason: string): AuditVerification => ({
      ok: false,
      // The head and seal checks can fault an entry already walked (not the one they signed),
      // and entries waiting for their batch's seal are not verified until it is checked.
      entriesVerified: Math.max(0, Math.min(position.seq, seq, cover.uncoveredFrom ?? Infinity) - start),
      sealsVerified: cover.sealsChecked,
      ...(position.signer === undefined ? {} : { signer: position.signer }),
      ...checkpointReport,
      broken: { seq, reason },
    });

    let first = true;
    for (; item !== undefined && item[0] < ENTRY_KEY_END; item = await iterator.next()) {
      const [key, value] = item;
      const sealSeq = seqOfSealKey(key);
      // A checkpoint that cannot be trusted leaves the first kept entry unlinked to history.
      if (problem !== undefined) return fail(seqOfKey(key) ?? sealSeq ?? 0, problem);
      if (first && sealSeq === undefined) {
        first = false;
        const keySeq = seqOfKey(key);
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
      if (sealSeq !== undefined) {
        const sealed = cover.seal(sealSeq, value, position, maxEntryBytes);
        if (sealed !== undefined && isChainBreak(sealed)) return fail(sealed.seq, sealed.reason);
        continue;
      }
      const checked = checkNextEntry(position, key, value, maxEntryBytes);
      if (isChainBreak(checked)) return fail(checked.seq, checked.reason);
      const uncovered = cover.entry(checked);
      if (uncovered !== undefined) return fail(uncovered.seq, uncovered.reason);
    }
    if (problem !== undefined) return fail(0, problem);
    const unsealed = cover.end(position.seq - 1);
    if (unsealed !== undefined) return fail(unsealed.seq, unsealed.reason);
    // After the entries: the head.
    let headBytes: Uint8Array | undefined;
    for (; item !== undefined; item = await iterator.next()) {
      if (item[0] === HEAD_KEY) headBytes = item[1];
    }
    const ok: AuditVerification = {
      ok: true,
      entriesVerified: position.seq - start,
      sealsVerified: cover.sealsChecked,
      ...(position.signer === undefined ? {} : { signer: position.signer }),
      ...checkpointReport,
    };
    const head = checkHead(headBytes, maxEntryBytes, position, ok, fail);
    if (!head.ok) return head;
    const stray = cover.strayAfterEnd(position.seq - 1);
    return stray === undefined ? ok : fail(stray.seq, stray.reason);
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
