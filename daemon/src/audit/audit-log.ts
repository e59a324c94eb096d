import { GojinnError } from '@gojinn/errors';
import type { JsonValue, PublisherKeyPair } from '@gojinn/manifest';
import type { BytesSublevel } from '@gojinn/store';
import {
  CHECKPOINT_KEY,
  ENTRY_KEY_END,
  ENTRY_KEY_PREFIX,
  GENESIS_HASH,
  AUDIT_ENTRY_VERSION,
  HEAD_KEY,
  checkpointSignatureValid,
  encodeEntry,
  entryKey,
  headSignatureValid,
  parseCheckpoint,
  parseEntry,
  parseHead,
  sealKey,
  seqOfKey,
  seqOfSealKey,
  sha256Hex,
  signEntry,
  signHead,
  signSeal,
  type AuditCheckpoint,
  type AuditEntry,
} from './entry.ts';
import { DEFAULT_AUDIT_LIMITS, type AuditLimits } from './limits.ts';
import {
  AuditPruneRefused,
  NO_AUDIT_RETENTION,
  ageCutoff,
  entriesOverCount,
  pruneOnce,
  type AuditRetention,
  type KeptRange,
} from './prune.ts';
import { verifyAuditLog, type AuditVerification } from './verify.ts';

export interface AuditLogOptions {
  /** The node identity key pair: every entry is signed by it (through its batch's seal). */
  signingKey: PublisherKeyPair;
  /** fsync each append before it resolves (default true, like the store). */
  sync?: boolean;
  /** Clock for entry and checkpoint times, and for the age bound (tests pass their own). */
  now?: () => Date;
  limits?: Partial<AuditLimits>;
  /** How much to keep (docs/audit.md, "Retention"); default NO_AUDIT_RETENTION (everything). */
  retention?: Partial<AuditRetention>;
  /**
   * Told when a prune step fails. An AuditPruneRefused (an entry about to be deleted does not
   * verify) stops pruning until the log is reopened; a write error is retried after the next
   * append. Appends are never affected. Default: ignored.
   */
  onPruneError?: (error: unknown) => void;
  /**
   * The entry version appended (docs/audit.md, "Entries"): 2 (default), unsigned entries
   * sealed by one signature per append batch; 1, each entry signed on its own (the format
   * before seals, one signature per entry: kept for the benchmark's baseline and for tests of
   * logs written before the upgrade). A log may hold both, version 1 entries first.
   */
  entryVersion?: 1 | 2;
}

interface PendingAppend {
  kind: string;
  data: JsonValue;
  resolve: (entry: AuditEntry) => void;
  reject: (error: unknown) => void;
}

export interface AuditPage {
  items: AuditEntry[];
  /** The `after` for the next page; absent at the end. */
  next?: number;
}

/** What open() read: the kept range, the tail, the checkpoint and the oldest entry's time. */
interface OpenedState {
  range: KeptRange;
  prevHash: string;
  checkpoint: AuditCheckpoint | undefined;
  oldestTime: number | undefined;
}

/**
 * The append-only, hash-chained, signed audit log kept in the store's `audit` sublevel
 * (docs/audit.md). One AuditLog per store: appends are serialized through one queue, and
 * each batch of them is written with its signed seal and the new signed head in one LevelDB
 * batch (all or nothing). With a retention bound, the oldest entries are pruned in bounded batches between
 * append batches, each leaving a signed checkpoint (prune.ts).
 */
export class AuditLog {
  readonly #sublevel: BytesSublevel;
  readonly #key: PublisherKeyPair;
  readonly #sync: boolean;
  readonly #now: () => Date;
  readonly #onPruneError: (error: unknown) => void;
  readonly #entryVersion: 1 | 2;
  readonly limits: Readonly<AuditLimits>;
  readonly retention: Readonly<AuditRetention>;
  /** The kept entries: first..next-1; `next` is the number the next append gets. */
  #range: KeptRange;
  #prevHash: string;
  #checkpoint: AuditCheckpoint | undefined;
  /** The first kept entry's time (ms), for the age bound; undefined while the log is empty. */
  #oldestTime: number | undefined;
  /** Set by a refused prune (the entries do not verify): no more pruning until reopened. */
  #pruneStopped = false;
  /** Set by a prune step that did nothing or failed to write: wait for the next append. */
  #pruneIdle = false;
  /** The write in flight (resolves when the pending queue is empty). */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(sublevel: BytesSublevel, options: AuditLogOptions, state: OpenedState) {
    this.#sublevel = sublevel;
    this.#key = options.signingKey;
    this.#sync = options.sync ?? true;
    this.#now = options.now ?? (() => new Date());
    this.#onPruneError = options.onPruneError ?? (() => undefined);
    this.#entryVersion = options.entryVersion ?? AUDIT_ENTRY_VERSION;
    this.limits = Object.freeze({ ...DEFAULT_AUDIT_LIMITS, ...options.limits });
    this.retention = Object.freeze({ ...NO_AUDIT_RETENTION, ...options.retention });
    this.#range = state.range;
    this.#prevHash = state.prevHash;
    this.#checkpoint = state.checkpoint;
    this.#oldestTime = state.oldestTime;
    // A bound lowered since the last run (or a node stopped mid-backlog) prunes right away.
    if (this.#pruneDue()) this.#queue = this.#drain();
  }

  /**
   * Opens the log in `sublevel` (from `store.extension('audit')`). The tail must agree with
   * the signed head, the first kept entry with the signed checkpoint (if any), and both be
   * signed by this key: appending after a tampered log, or under a different node key, would
   * hide what happened, so both are refused (`internal`).
   */
  static async open(sublevel: BytesSublevel, options: AuditLogOptions): Promise<AuditLog> {
    const limits = { ...DEFAULT_AUDIT_LIMITS, ...options.limits };
    const retention = { ...NO_AUDIT_RETENTION, ...options.retention };
    requireCount('retention.maxEntries', retention.maxEntries, 0);
    requireCount('retention.maxAgeDays', retention.maxAgeDays, 0);
    requireCount('limits.maxPruneEntries', limits.maxPruneEntries, 1);
    const checkpoint = await readCheckpoint(sublevel, options.signingKey, limits.maxEntryBytes);
    const first = checkpoint === undefined ? 0 : checkpoint.seq + 1;
    const firstPrev = checkpoint?.hash ?? GENESIS_HASH;
    const headBytes = await sublevel.get(HEAD_KEY);
    const last = await edgeEntry(sublevel, true);
    if (headBytes === undefined) {
      if (last !== undefined) throw tampered('entries exist but the signed head is missing');
      if (checkpoint !== undefined) throw tampered('a checkpoint exists but the signed head is missing');
      return new AuditLog(sublevel, options, {
        range: { first, firstPrev, next: 0 },
        prevHash: GENESIS_HASH,
        checkpoint,
        oldestTime: undefined,
      });
    }
    const head = parseHead(headBytes, limits.maxEntryBytes);
    if (head.signer !== options.signingKey.publicKey) {
      throw new GojinnError(
        'internal',
        `audit log: signed by ${head.signer}, but this node's key is ${options.signingKey.publicKey}`,
      );
    }
    if (!headSignatureValid(head)) throw tampered('the head signature does not verify');
    if (last === undefined || last.seq !== head.seq || sha256Hex(last.bytes) !== head.hash) {
      throw tampered(`the last entry is not the entry ${head.seq} the head signed`);
    }
    // The newest batch is sealed in the same LevelDB batch as the head: its seal must be there.
    if (parseEntry(last.bytes, limits.maxEntryBytes).v === 2 && !last.sealed) {
      throw tampered(`the seal of the newest batch (entry ${last.seq}) is missing`);
    }
    const oldest = await edgeEntry(sublevel, false);
    if (oldest === undefined || oldest.seq !== first) {
      throw tampered(
        checkpoint === undefined
          ? `the first entry is ${oldest?.seq} but there is no checkpoint (entries deleted without one)`
          : `the first entry is ${oldest?.seq}, not ${first} (the one after the checkpoint)`,
      );
    }
    return new AuditLog(sublevel, options, {
      range: { first, firstPrev, next: head.seq + 1 },
      prevHash: head.hash,
      checkpoint,
      oldestTime: Date.parse(parseEntry(oldest.bytes, limits.maxEntryBytes).time),
    });
  }

  /** The node key (text form) entries are signed by. */
  get signer(): string {
    return this.#key.publicKey;
  }

  /**
   * Entries ever appended (the next sequence number), counting appends that have resolved;
   * pruned ones included (see `firstSeq` and `kept`).
   */
  get length(): number {
    return this.#range.next;
  }

  /** The first kept entry's number: 0 until retention prunes, then the checkpoint's seq + 1. */
  get firstSeq(): number {
    return this.#range.first;
  }

  /** Entries currently kept (`length - firstSeq`). */
  get kept(): number {
    return this.#range.next - this.#range.first;
  }

  /** The signed checkpoint the last prune wrote; undefined when nothing was ever pruned. */
  get checkpoint(): AuditCheckpoint | undefined {
    return this.#checkpoint;
  }

  /**
   * Appends one entry. `kind` is a short identifier (`admin`, `invocation`); `data` any JSON
   * value whose encoded entry fits maxEntryBytes (`bad_request` otherwise, nothing written).
   * Resolves once the entry is durable (fsynced unless `sync: false`).
   *
   * Group commit: appends that arrive while a write is in flight are chained and written
   * together in the next batch (at most `maxBatchEntries`), with one signed seal and one
   * signed head for the batch. A busy gateway then pays one fsync and two signatures per
   * batch, not per invocation, and every entry still resolves only after the batch holding
   * it is on disk.
   */
  append(kind: string, data: JsonValue): Promise<AuditEntry> {
    return new Promise<AuditEntry>((resolve, reject) => {
      this.#pending.push({ kind, data, resolve, reject });
      if (this.#pending.length === 1 && !this.#writing) this.#queue = this.#drain();
    });
  }

  readonly #pending: PendingAppend[] = [];
  #writing = false;

  /**
   * Writes pending appends, and between append batches at most one prune batch: an append
   * never waits for more than one prune batch (maxPruneEntries), and a backlog of pruning
   * (a lowered bound) proceeds batch by batch while appends keep flowing.
   */
  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      for (;;) {
        if (this.#pending.length > 0) {
          const batch = this.#pending.splice(0, this.limits.maxBatchEntries);
          await this.#write(batch);
        }
        if (this.#pruneDue()) await this.#prune();
        else if (this.#pending.length === 0) break;
      }
    } finally {
      this.#writing = false;
    }
  }

  /** Whether a bound is exceeded (from what is known in memory: no read). */
  #pruneDue(): boolean {
    if (this.#pruneStopped || this.#pruneIdle || this.kept <= 1) return false;
    if (entriesOverCount(this.#range, this.retention) > 0) return true;
    const cutoff = ageCutoff(this.#now(), this.retention);
    return cutoff !== undefined && this.#oldestTime !== undefined && this.#oldestTime <= cutoff;
  }

  async #prune(): Promise<void> {
    try {
      const result = await pruneOnce({
        sublevel: this.#sublevel,
        key: this.#key,
        now: this.#now(),
        retention: this.retention,
        maxPruneEntries: this.limits.maxPruneEntries,
        maxEntryBytes: this.limits.maxEntryBytes,
        range: this.#range,
      });
      if (result === undefined || result.pruned === 0) this.#pruneIdle = true;
      if (result === undefined) return;
      this.#oldestTime = Date.parse(result.firstKept.time);
      if (result.checkpoint !== undefined) {
        this.#checkpoint = result.checkpoint;
        this.#range = { ...this.#range, first: result.checkpoint.seq + 1, firstPrev: result.checkpoint.hash };
      }
    } catch (error) {
      if (error instanceof AuditPruneRefused) this.#pruneStopped = true;
      else this.#pruneIdle = true;
      this.#onPruneError(error);
    }
  }

  async #write(batch: PendingAppend[]): Promise<void> {
    let seq = this.#range.next;
    let prev = this.#prevHash;
    const operations: { type: 'put'; key: string; value: Uint8Array }[] = [];
    const written: { pending: PendingAppend; entry: AuditEntry }[] = [];
    for (const pending of batch) {
      let signed: { entry: AuditEntry; bytes: Uint8Array };
      try {
        const fields = { seq, time: this.#now().toISOString(), kind: pending.kind, data: pending.data, prev };
        signed =
          this.#entryVersion === 2 ? encodeEntry(fields, this.#key.publicKey) : signEntry(fields, this.#key);
      } catch (error) {
        // A bad kind or a value that cannot be encoded: refused alone, the rest is chained without it.
        pending.reject(error);
        continue;
      }
      const { entry, bytes } = signed;
      if (bytes.byteLength > this.limits.maxEntryBytes) {
        pending.reject(
          new GojinnError(
            'bad_request',
            `audit entry is ${bytes.byteLength} bytes, over maxEntryBytes (${this.limits.maxEntryBytes})`,
          ),
        );
        continue;
      }
      operations.push({ type: 'put', key: entryKey(seq), value: bytes });
      written.push({ pending, entry });
      prev = sha256Hex(bytes);
      seq++;
    }
    const firstWritten = written[0];
    if (firstWritten === undefined) return;
    if (this.#entryVersion === 2) {
      // One signature for the batch: the chain hash of its last entry commits to all of it.
      const { bytes } = signSeal({ first: firstWritten.entry.seq, seq: seq - 1, hash: prev }, this.#key);
      operations.push({ type: 'put', key: sealKey(seq - 1), value: bytes });
    }
    // The head stays beside the seals: a seal outlives its batch, the head is overwritten, so
    // cutting off the newest batches with their seals still leaves a head naming more entries.
    operations.push({ type: 'put', key: HEAD_KEY, value: signHead(seq - 1, prev, this.#key) });
    try {
      await this.#sublevel.batch(operations, { sync: this.#sync } as object);
    } catch (error) {
      // Nothing of the batch was written (a LevelDB batch is atomic): the chain is unchanged.
      for (const { pending } of written) pending.reject(error);
      return;
    }
    if (this.kept === 0) this.#oldestTime = Date.parse(firstWritten.entry.time);
    this.#range = { ...this.#range, next: seq };
    this.#prevHash = prev;
    this.#pruneIdle = false;
    for (const { pending, entry } of written) pending.resolve(entry);
  }

  /**
   * Kept entries after sequence number `after` (from the first kept one when absent, or when
   * `after` is before it), at most maxPageSize.
   */
  async list(request: { after?: number; limit?: number } = {}): Promise<AuditPage> {
    const limit = Math.max(1, Math.min(Math.floor(request.limit ?? Infinity), this.limits.maxPageSize));
    const from = request.after === undefined ? 0 : request.after + 1;
    const items: AuditEntry[] = [];
    // Seals sit between the entries (at most one after each): twice the entries bounds the read.
    const iterator = this.#sublevel.iterator({
      gte: entryKey(from),
      lt: ENTRY_KEY_END,
      limit: 2 * (limit + 1),
    });
    try {
      for await (const [key, value] of iterator) {
        if (seqOfSealKey(key) !== undefined) continue;
        items.push(parseEntry(value, this.limits.maxEntryBytes));
        if (items.length > limit) break;
      }
    } finally {
      await iterator.close();
    }
    const more = items.length > limit;
    if (more) items.pop();
    const lastItem = items.at(-1);
    return more && lastItem !== undefined ? { items, next: lastItem.seq } : { items };
  }

  /**
   * Prunes now, if a bound is exceeded, and resolves once pruning (and any append in flight)
   * is done. Pruning otherwise runs only after appends: an idle node calls this on a timer so
   * the age bound holds without traffic. Failures go to onPruneError, as after an append.
   */
  async prune(): Promise<void> {
    this.#pruneIdle = false;
    if (!this.#writing && this.#pending.length === 0 && this.#pruneDue()) this.#queue = this.#drain();
    await this.idle();
  }

  /** Resolves once no append or prune step is in flight (before closing the store). */
  async idle(): Promise<void> {
    while (this.#writing || this.#pending.length > 0) await this.#queue;
  }

  /** Verifies the whole chain against this node's key (see verifyAuditLog). */
  async verify(): Promise<AuditVerification> {
    await this.idle();
    return verifyAuditLog(this.#sublevel, {
      publicKey: this.#key.publicKey,
      maxEntryBytes: this.limits.maxEntryBytes,
    });
  }
}

/** The checkpoint, checked like the head: this node's key, a valid signature; or undefined. */
async function readCheckpoint(
  sublevel: BytesSublevel,
  key: PublisherKeyPair,
  maxEntryBytes: number,
): Promise<AuditCheckpoint | undefined> {
  const bytes = await sublevel.get(CHECKPOINT_KEY);
  if (bytes === undefined) return undefined;
  const checkpoint = parseCheckpoint(bytes, maxEntryBytes);
  if (checkpoint.signer !== key.publicKey) {
    throw tampered(`the checkpoint is signed by ${checkpoint.signer}, not this node's key`);
  }
  if (!checkpointSignatureValid(checkpoint)) throw tampered('the checkpoint signature does not verify');
  return checkpoint;
}

/**
 * The last (`newest`) or first stored entry (`sealed`: the newest, followed by its own seal),
 * past any seal keys at that end (one in a log
 * this node wrote: the newest batch's seal after the last entry; more only in a tampered one,
 * which open() then refuses).
 */
async function edgeEntry(
  sublevel: BytesSublevel,
  newest: boolean,
): Promise<{ seq: number; bytes: Uint8Array; sealed: boolean } | undefined> {
  const iterator = sublevel.iterator({ gte: ENTRY_KEY_PREFIX, lt: ENTRY_KEY_END, reverse: newest });
  let edgeSeal: number | undefined;
  try {
    for await (const [key, bytes] of iterator) {
      const sealSeq = seqOfSealKey(key);
      const seq = sealSeq === undefined ? seqOfKey(key) : undefined;
      if (sealSeq !== undefined) {
        // After the last entry, only that entry's own seal may come: another names an entry
        // that is not there (the next append would otherwise land beside it).
        if (newest && edgeSeal === undefined) edgeSeal = sealSeq;
        continue;
      }
      if (seq === undefined) throw tampered(`unexpected key ${JSON.stringify(key)}`);
      if (edgeSeal !== undefined && edgeSeal !== seq) {
        throw tampered(`a seal names entry ${edgeSeal}, past the last entry ${seq}`);
      }
      return { seq, bytes, sealed: edgeSeal === seq };
    }
    return undefined;
  } finally {
    await iterator.close();
  }
}

function requireCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new GojinnError(
      'bad_request',
      `audit log: ${name} must be an integer of at least ${min}, got ${value}`,
    );
  }
}

function tampered(detail: string): GojinnError {
  return new GojinnError(
    'internal',
    `audit log: ${detail}; run \`gojinn audit verify\` to find the broken entry`,
  );
}
