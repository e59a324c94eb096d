import { GojinnError } from '@gojinn/errors';
import type { JsonValue, PublisherKeyPair } from '@gojinn/manifest';
import type { BytesSublevel } from '@gojinn/store';
import {
  ENTRY_KEY_PREFIX,
  GENESIS_HASH,
  HEAD_KEY,
  entryKey,
  headSignatureValid,
  parseEntry,
  parseHead,
  seqOfKey,
  sha256Hex,
  signEntry,
  signHead,
  type AuditEntry,
} from './entry.ts';
import { DEFAULT_AUDIT_LIMITS, type AuditLimits } from './limits.ts';
import { verifyAuditLog, type AuditVerification } from './verify.ts';

export interface AuditLogOptions {
  /** The node identity key pair: every entry is signed by it. */
  signingKey: PublisherKeyPair;
  /** fsync each append before it resolves (default true, like the store). */
  sync?: boolean;
  /** Clock for entry times (tests pass a fixed one). */
  now?: () => Date;
  limits?: Partial<AuditLimits>;
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

/**
 * The append-only, hash-chained, signed audit log kept in the store's `audit` sublevel
 * (docs/audit.md). One AuditLog per store: appends are serialized through one queue, and
 * each batch of them is written with the new signed head in one LevelDB batch (all or
 * nothing).
 */
export class AuditLog {
  readonly #sublevel: BytesSublevel;
  readonly #key: PublisherKeyPair;
  readonly #sync: boolean;
  readonly #now: () => Date;
  readonly limits: Readonly<AuditLimits>;
  #nextSeq: number;
  #prevHash: string;
  /** The write in flight (resolves when the pending queue is empty). */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    sublevel: BytesSublevel,
    options: AuditLogOptions,
    tail: { nextSeq: number; prevHash: string },
  ) {
    this.#sublevel = sublevel;
    this.#key = options.signingKey;
    this.#sync = options.sync ?? true;
    this.#now = options.now ?? (() => new Date());
    this.limits = Object.freeze({ ...DEFAULT_AUDIT_LIMITS, ...options.limits });
    this.#nextSeq = tail.nextSeq;
    this.#prevHash = tail.prevHash;
  }

  /**
   * Opens the log in `sublevel` (from `store.extension('audit')`). The tail must agree with
   * the signed head and be signed by this key: appending after a tampered tail, or under a
   * different node key, would hide what happened, so both are refused (`internal`).
   */
  static async open(sublevel: BytesSublevel, options: AuditLogOptions): Promise<AuditLog> {
    const limits = { ...DEFAULT_AUDIT_LIMITS, ...options.limits };
    const headBytes = await sublevel.get(HEAD_KEY);
    const last = await lastEntry(sublevel);
    if (headBytes === undefined) {
      if (last !== undefined) throw tampered('entries exist but the signed head is missing');
      return new AuditLog(sublevel, options, { nextSeq: 0, prevHash: GENESIS_HASH });
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
    parseEntry(last.bytes, limits.maxEntryBytes);
    return new AuditLog(sublevel, options, { nextSeq: head.seq + 1, prevHash: head.hash });
  }

  /** The node key (text form) entries are signed by. */
  get signer(): string {
    return this.#key.publicKey;
  }

  /** Entries in the log (the next sequence number), counting appends that have resolved. */
  get length(): number {
    return this.#nextSeq;
  }

  /**
   * Appends one entry. `kind` is a short identifier (`admin`, `invocation`); `data` any JSON
   * value whose encoded entry fits maxEntryBytes (`bad_request` otherwise, nothing written).
   * Resolves once the entry is durable (fsynced unless `sync: false`).
   *
   * Group commit: appends that arrive while a write is in flight are chained and written
   * together in the next batch (at most `maxBatchEntries`), with one signed head for the
   * batch. A busy gateway then pays one fsync per batch, not per invocation, and every
   * entry still resolves only after the batch holding it is on disk.
   */
  append(kind: string, data: JsonValue): Promise<AuditEntry> {
    return new Promise<AuditEntry>((resolve, reject) => {
      this.#pending.push({ kind, data, resolve, reject });
      if (this.#pending.length === 1 && !this.#writing) this.#queue = this.#drain();
    });
  }

  readonly #pending: PendingAppend[] = [];
  #writing = false;

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, this.limits.maxBatchEntries);
        await this.#write(batch);
      }
    } finally {
      this.#writing = false;
    }
  }

  async #write(batch: PendingAppend[]): Promise<void> {
    let seq = this.#nextSeq;
    let prev = this.#prevHash;
    const operations: { type: 'put'; key: string; value: Uint8Array }[] = [];
    const written: { pending: PendingAppend; entry: AuditEntry }[] = [];
    for (const pending of batch) {
      let signed: { entry: AuditEntry; bytes: Uint8Array };
      try {
        signed = signEntry(
          { seq, time: this.#now().toISOString(), kind: pending.kind, data: pending.data, prev },
          this.#key,
        );
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
    if (written.length === 0) return;
    operations.push({ type: 'put', key: HEAD_KEY, value: signHead(seq - 1, prev, this.#key) });
    try {
      await this.#sublevel.batch(operations, { sync: this.#sync } as object);
    } catch (error) {
      // Nothing of the batch was written (a LevelDB batch is atomic): the chain is unchanged.
      for (const { pending } of written) pending.reject(error);
      return;
    }
    this.#nextSeq = seq;
    this.#prevHash = prev;
    for (const { pending, entry } of written) pending.resolve(entry);
  }

  /** Entries after sequence number `after` (from 0 when absent), at most maxPageSize. */
  async list(request: { after?: number; limit?: number } = {}): Promise<AuditPage> {
    const limit = Math.max(1, Math.min(Math.floor(request.limit ?? Infinity), this.limits.maxPageSize));
    const from = request.after === undefined ? 0 : request.after + 1;
    const items: AuditEntry[] = [];
    const iterator = this.#sublevel.iterator({ gte: entryKey(from), lt: 'entry0', limit: limit + 1 });
    try {
      for await (const [, value] of iterator) items.push(parseEntry(value, this.limits.maxEntryBytes));
    } finally {
      await iterator.close();
    }
    const more = items.length > limit;
    if (more) items.pop();
    const lastItem = items.at(-1);
    return more && lastItem !== undefined ? { items, next: lastItem.seq } : { items };
  }

  /** Verifies the whole chain against this node's key (see verifyAuditLog). */
  async verify(): Promise<AuditVerification> {
    while (this.#writing || this.#pending.length > 0) await this.#queue;
    return verifyAuditLog(this.#sublevel, {
      publicKey: this.#key.publicKey,
      maxEntryBytes: this.limits.maxEntryBytes,
    });
  }
}

async function lastEntry(sublevel: BytesSublevel): Promise<{ seq: number; bytes: Uint8Array } | undefined> {
  const iterator = sublevel.iterator({ gte: ENTRY_KEY_PREFIX, lt: 'entry0', reverse: true, limit: 1 });
  try {
    for await (const [key, bytes] of iterator) {
      const seq = seqOfKey(key);
      if (seq === undefined) throw tampered(`unexpected key ${JSON.stringify(key)}`);
      return { seq, bytes };
    }
    return undefined;
  } finally {
    await iterator.close();
  }
}

function tampered(detail: string): GojinnError {
  return new GojinnError(
    'internal',
    `audit log: ${detail}; run \`gojinn audit verify\` to find the broken entry`,
  );
}
