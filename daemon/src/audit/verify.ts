import { GojinnError } from '@gojinn/errors';
import { parsePublicKey } from '@gojinn/manifest';
import type { BytesSublevel } from '@gojinn/store';
import {
  ENTRY_KEY_PREFIX,
  GENESIS_HASH,
  HEAD_KEY,
  entrySignatureValid,
  headSignatureValid,
  parseEntry,
  parseHead,
  seqOfKey,
  sha256Hex,
} from './entry.ts';
import { DEFAULT_AUDIT_LIMITS } from './limits.ts';

/** What `verifyAuditLog` found. `broken` names the first entry that fails, and why. */
export interface AuditVerification {
  ok: boolean;
  /** Entries that passed every check, from entry 0 up to the first broken one. */
  entriesVerified: number;
  /** The key every entry is signed by: `publicKey` when given, else entry 0's signer. */
  signer?: string;
  broken?: { seq: number; reason: string };
}

export interface VerifyAuditOptions {
  /** The node's public key (text form): every entry must be signed by it. Default: entry 0's signer. */
  publicKey?: string;
  maxEntryBytes?: number;
}

/**
 * Walks the whole chain from entry 0, reading one entry at a time, and reports the first
 * entry that is missing, malformed, filed under another number, signed by another key, not
 * verified by its signature, or not linked to its predecessor's hash; then checks the signed
 * head against the last entry, so a cut-off tail is found too. Read-only.
 */
export async function verifyAuditLog(
  sublevel: BytesSublevel,
  options: VerifyAuditOptions = {},
): Promise<AuditVerification> {
  const maxEntryBytes = options.maxEntryBytes ?? DEFAULT_AUDIT_LIMITS.maxEntryBytes;
  if (options.publicKey !== undefined) parsePublicKey(options.publicKey);
  let signer = options.publicKey;
  let expected = 0;
  let prevHash = GENESIS_HASH;
  const fail = (seq: number, reason: string): AuditVerification => ({
    ok: false,
    // The head check can fault an entry already walked (it was not the one the head signed).
    entriesVerified: Math.min(expected, seq),
    ...(signer === undefined ? {} : { signer }),
    broken: { seq, reason },
  });

  // The range ends before the character after '/', so only `entry/...` keys are walked.
  const iterator = sublevel.iterator({ gte: ENTRY_KEY_PREFIX, lt: 'entry0' });
  try {
    for await (const [key, value] of iterator) {
      const keySeq = seqOfKey(key);
      if (keySeq === undefined) return fail(expected, `unexpected key ${JSON.stringify(key)} in the log`);
      if (keySeq !== expected) return fail(expected, `entry ${expected} is missing (dropped)`);
      let entry;
      try {
        entry = parseEntry(value, maxEntryBytes);
      } catch (error) {
        return fail(expected, error instanceof GojinnError ? error.message : 'unreadable entry');
      }
      if (entry.seq !== keySeq) {
        return fail(expected, `position ${expected} holds entry ${entry.seq} (reordered or moved)`);
      }
      signer ??= entry.signer;
      if (entry.signer !== signer) return fail(expected, `signed by ${entry.signer}, not ${signer}`);
      if (!entrySignatureValid(entry)) return fail(expected, 'signature does not verify (entry edited)');
      if (entry.prev !== prevHash) {
        return fail(expected, `does not follow entry ${expected - 1} (hash chain broken)`);
      }
      prevHash = sha256Hex(value);
      expected += 1;
    }
  } finally {
    await iterator.close();
  }
  return checkHead(sublevel, maxEntryBytes, expected, prevHash, signer, fail);
}

async function checkHead(
  sublevel: BytesSublevel,
  maxEntryBytes: number,
  count: number,
  lastHash: string,
  signer: string | undefined,
  fail: (seq: number, reason: string) => AuditVerification,
): Promise<AuditVerification> {
  const bytes = await sublevel.get(HEAD_KEY);
  const ok: AuditVerification = {
    ok: true,
    entriesVerified: count,
    ...(signer === undefined ? {} : { signer }),
  };
  if (bytes === undefined) return count === 0 ? ok : fail(count, 'the signed head record is missing');
  let head;
  try {
    head = parseHead(bytes, maxEntryBytes);
  } catch (error) {
    return fail(count, error instanceof GojinnError ? error.message : 'unreadable head');
  }
  if (signer !== undefined && head.signer !== signer) return fail(count, `head signed by ${head.signer}`);
  if (!headSignatureValid(head)) return fail(count, 'head signature does not verify (head edited)');
  if (head.seq + 1 > count)
    return fail(count, `entry ${count} is missing (the head names ${head.seq + 1} entries)`);
  if (head.seq + 1 < count)
    return fail(head.seq + 1, `entry ${head.seq + 1} is not covered by the signed head`);
  if (head.hash !== lastHash) return fail(head.seq, `entry ${head.seq} differs from the one the head signed`);
  return ok;
}
