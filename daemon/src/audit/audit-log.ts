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

export interface AuditPage {
  items: AuditEntry[];
  /** The `after` for the next page; absent at the end. */
  next?: number;
}

/**
 * The append-only, hash-chained, signed audit log kept in the store's `audit` sublevel
 * (docs/audit.md). One AuditLog per store: appends are serialized through one queue, and
 * each writes its entry and the new signed head in one LevelDB batch (both or neither).
 */
export class AuditLog {
  readonly #sublevel: BytesSublevel;
  readonly #key: PublisherKeyPair;
  readonly #sync: boolean;
  readonly #now: () => Date;
  readonly limits: Readonly<AuditLimits>;
  #nextSeq: number;
  #prevHash: string;
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
   */
  append(kind: string, data: JsonValue): Promise<AuditEntry> {
    const run = this.#queue.then(() => this.#append(kind, data));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #append(kind: string, data: JsonValue): Promise<AuditEntry> {
    const seq = this.#nextSeq;
    const { entry, bytes } = signEntry(
      { seq, time: this.#now().toISOString(), kind, data, prev: this.#prevHash },
      this.#key,
    );
    if (bytes.byteLength > this.limits.maxEntryBytes) {
      throw new GojinnError(
        'bad_request',
        `audit entry is ${bytes.byteLength} bytes, over maxEntryBytes (${this.limits.maxEntryBytes})`,
      );
    }
    const hash = sha256Hex(bytes);
    await this.#sublevel.batch(
      [
        { type: 'put', key: entryKey(seq), value: bytes },
        { type: 'put', key: HEAD_KEY, value: signHead(seq, hash, this.#key) },
      ],
      { sync: this.#sync } as object,
    );
    this.#nextSeq = seq + 1;
    this.#prevHash = hash;
    return entry;
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
    await this.#queue;
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
