import { GojinnError } from '@gojinn/errors';
import type { PublisherKeyPair } from '@gojinn/manifest';
import type { BytesSublevel } from '@gojinn/store';
import { checkNextEntry, isChainBreak, type ChainPosition } from './chain.ts';
import {
  CHECKPOINT_KEY,
  ENTRY_KEY_END,
  entryKey,
  entrySignatureValid,
  seqOfSealKey,
  signCheckpoint,
  type AuditCheckpoint,
  type AuditEntry,
} from './entry.ts';
import { SealCover } from './seal-cover.ts';

/**
 * How much of the log a node keeps (docs/audit.md, "Retention"; the `[audit]` config section).
 * 0 turns a bound off. The newest entry is always kept, whatever the bounds: the signed head
 * names it, and it is what the next append links to.
 */
export interface AuditRetention {
  /** Most entries kept; the oldest beyond it are pruned. 0: no bound on the count. */
  maxEntries: number;
  /** Entries older than this many days (by their `time`) are pruned. 0: no bound on the age. */
  maxAgeDays: number;
}

/** The library's default: keep everything (the daemon's config turns retention on). */
export const NO_AUDIT_RETENTION: Readonly<AuditRetention> = Object.freeze({ maxEntries: 0, maxAgeDays: 0 });

const MS_PER_DAY = 24 * 60 * 60 * 1000;

/**
 * How often a running node prunes by age without traffic (start-node.ts, only when
 * maxAgeDays is set): pruning otherwise follows appends, and an idle node appends nothing.
 */
export const AUDIT_AGE_PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** The kept part of the log, as the AuditLog tracks it. */
export interface KeptRange {
  /** The first kept entry's number (0, or the checkpoint's seq + 1). */
  first: number;
  /** The `prev` the first kept entry links to: the checkpoint's hash, or GENESIS_HASH. */
  firstPrev: string;
  /** The number the next append gets: entries first..next-1 exist. */
  next: number;
}

export interface PruneRequest {
  sublevel: BytesSublevel;
  key: PublisherKeyPair;
  now: Date;
  retention: Readonly<AuditRetention>;
  maxPruneEntries: number;
  maxEntryBytes: number;
  range: KeptRange;
}

export interface PruneResult {
  /** Entries deleted (0: nothing was due; nothing written). */
  pruned: number;
  /** The checkpoint written with the deletions (when pruned > 0). */
  checkpoint?: AuditCheckpoint;
  /** The first entry kept after this step (read and verified). */
  firstKept: AuditEntry;
}

/** Why pruning stopped: what it was about to delete does not verify. Nothing was deleted. */
export class AuditPruneRefused extends GojinnError {
  constructor(seq: number, reason: string) {
    super(
      'internal',
      `audit log: not pruning: entry ${seq}: ${reason}; the entries are kept — run \`gojinn audit verify\``,
    );
  }
}

/** Entries beyond `maxEntries`, or 0. Never more than leaves the newest entry in place. */
export function entriesOverCount(range: KeptRange, retention: Readonly<AuditRetention>): number {
  const kept = range.next - range.first;
  if (retention.maxEntries === 0 || kept <= retention.maxEntries) return 0;
  return kept - retention.maxEntries;
}

/** The time (ms) at or before which an entry is too old, or undefined without an age bound. */
export function ageCutoff(now: Date, retention: Readonly<AuditRetention>): number | undefined {
  return retention.maxAgeDays === 0 ? undefined : now.getTime() - retention.maxAgeDays * MS_PER_DAY;
}

/**
 * One bounded prune step: reads the oldest kept entries (at most maxPruneEntries + 1, and the
 * seals between them) and deletes those over the count bound or older than the age bound,
 * stopping at the first that is neither — the first kept entry. The deletions (entries and
 * the seals of batches deleted whole) and the new signed checkpoint (the last deleted entry's
 * number and hash) are one LevelDB batch: a crash leaves the old state or the new one.
 *
 * What is deleted is verified first, as `gojinn audit verify` would, with one signature
 * check instead of one per entry or per seal: every entry read must be filed under its
 * number, well formed, from this key and linked by `prev` to the one before (starting from
 * the checkpoint or genesis), every seal passed must sit where its batch ends and sign the
 * chain hash there, and one signature must verify at the end: the first kept entry's own
 * (version 1), or — for a version 2 first kept entry, which has none — the signature of the
 * seal of its batch, reached by following the chain from it to that seal (at most the rest
 * of one append batch). Either signs a hash that, through the `prev` links, commits to every
 * byte of the entries before it back to the checkpoint: an edit anywhere changes a hash the
 * next link would have to match. The per-record signatures would add nothing and cost most
 * of the CPU (docs/audit.md).
 *
 * Throws AuditPruneRefused (nothing deleted) when something does not verify: deleting it
 * would destroy the evidence. Write errors propagate (nothing deleted either).
 */
export async function pruneOnce(request: PruneRequest): Promise<PruneResult | undefined> {
  const { range, retention } = request;
  const kept = range.next - range.first;
  if (kept <= 1) return undefined;
  const overCount = entriesOverCount(range, retention);
  const cutoff = ageCutoff(request.now, retention);
  if (overCount === 0 && cutoff === undefined) return undefined;
  // The newest entry always stays.
  const most = Math.min(request.maxPruneEntries, kept - 1);
  const position: ChainPosition = {
    start: range.first,
    seq: range.first,
    prevHash: range.firstPrev,
    signer: request.key.publicKey,
  };
  const cover = new SealCover();
  let pruned = 0;
  let lastPrunedHash = range.firstPrev;
  let firstKept: AuditEntry | undefined;
  /** Whether the one signature (first kept entry's, or its seal's) has verified. */
  let signed = false;
  const deletedSeals: string[] = [];
  // No iterator limit: the walk stops at the first kept entry (at most `most` + 1 entries in),
  // or for a version 2 one at its batch's seal (at most maxBatchEntries further in a log this
  // node wrote; in a tampered one, at the end of the log once, before refusing).
  const iterator = request.sublevel.iterator({ gte: entryKey(range.first), lt: ENTRY_KEY_END });
  try {
    for await (const [key, value] of iterator) {
      const sealSeq = seqOfSealKey(key);
      if (sealSeq !== undefined) {
        // Before the first kept entry: the seal of a batch deleted whole (checked, unsigned:
        // the chain leads on to the signature checked below). After it: the seal covering it.
        const sealed = cover.seal(sealSeq, value, position, request.maxEntryBytes, {
          signature: firstKept !== undefined,
        });
        // A seal whose entry is missing (undefined): the walk refuses at the gap, or unsigned.
        if (sealed === undefined) continue;
        if (isChainBreak(sealed)) throw new AuditPruneRefused(sealed.seq, sealed.reason);
        if (firstKept === undefined) {
          deletedSeals.push(key);
          continue;
        }
        signed = true;
        break;
      }
      const checked = checkNextEntry(position, key, value, request.maxEntryBytes, { signature: false });
      if (isChainBreak(checked)) throw new AuditPruneRefused(checked.seq, checked.reason);
      const uncovered = cover.entry(checked);
      if (uncovered !== undefined) throw new AuditPruneRefused(uncovered.seq, uncovered.reason);
      if (firstKept !== undefined) continue; // on the way to the first kept entry's seal
      const due =
        pruned < most && (pruned < overCount || (cutoff !== undefined && Date.parse(checked.time) <= cutoff));
      if (due) {
        pruned++;
        lastPrunedHash = position.prevHash;
        continue;
      }
      firstKept = checked;
      if (checked.v === 1) {
        // The one signature checked: it covers this entry's prev, which by the hash links
        // covers every byte of the entries before it back to the checkpoint (see above).
        if (!entrySignatureValid(checked)) {
          throw new AuditPruneRefused(checked.seq, 'signature does not verify (entry edited)');
        }
        signed = true;
        break;
      }
    }
  } finally {
    await iterator.close();
  }
  if (firstKept === undefined) {
    // The range said more entries exist than the store holds: the tail was removed under us.
    throw new AuditPruneRefused(position.seq, `entry ${position.seq} is missing (dropped)`);
  }
  if (!signed) {
    const unsealed = cover.end(position.seq - 1);
    throw new AuditPruneRefused(unsealed?.seq ?? firstKept.seq, unsealed?.reason ?? 'no seal covers it');
  }
  if (pruned === 0) return { pruned, firstKept };
  const lastPruned = range.first + pruned - 1;
  const { checkpoint, bytes } = signCheckpoint(
    { seq: lastPruned, hash: lastPrunedHash, time: request.now.toISOString() },
    request.key,
  );
  const operations: ({ type: 'del'; key: string } | { type: 'put'; key: string; value: Uint8Array })[] = [];
  for (let seq = range.first; seq <= lastPruned; seq++) operations.push({ type: 'del', key: entryKey(seq) });
  for (const key of deletedSeals) operations.push({ type: 'del', key });
  operations.push({ type: 'put', key: CHECKPOINT_KEY, value: bytes });
  // Not fsynced: a prune lost to a crash leaves the previous state (entries and checkpoint
  // together: a LevelDB batch is atomic either way), which verifies and is pruned again; the
  // next synced append makes it durable. An fsync per step would double a synced append's cost.
  await request.sublevel.batch(operations, { sync: false } as object);
  return { pruned, checkpoint, firstKept };
}
