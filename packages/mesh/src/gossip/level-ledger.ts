/**
 * A GossipLedger persisted in a level database the caller provides (a sublevel of the node's
 * store, for example), so rollback floors and revocations survive a restart. Bounded like the
 * memory ledger, with the same eviction order. Every lookup the validator makes is a key read
 * or a short range read, never a scan of the whole ledger.
 *
 * Keys (utf8; `<seq>` 16 hex digits, other parts encodeURIComponent-escaped so no part can
 * forge a separator):
 *   m/<seq>                              → {"trusted", "manifest"} JSON: every manifest, oldest first
 *   mu/<seq>                             → untrusted manifests (evicted first)
 *   ms/<publisher>/<signature>           → <seq>: hasManifest
 *   mh/<publisher>/<name>                → <seq> of the highest version: the rollback floor
 *   mc/<seq>                             → the same, in storage order, for sync
 *   r/<seq>                              → {"authority", "protected", "revocation"} JSON
 *   ru/<seq>                             → revocations not protected (evicted oldest first)
 *   rs/<signer>/<signature>              → <seq>: hasRevocation
 *   rt/<publisher>/p/<seq>               → publisher revocations of that key
 *   rt/<publisher>/v/<name>/<version>/<seq> → version revocations
 *   seq                                  → the last sequence number given out
 */
import { GojinnError } from '@gojinn/errors';
import type { Manifest, Revocation, VerifiedRevocation } from '@gojinn/manifest';
import type { GossipRecord } from './message.ts';
import { checkPageLimit, compareVersions, isProtectedRevocation, ledgerLimits } from './ledger.ts';
import type {
  EnumerableGossipLedger,
  GossipLedgerOptions,
  KnownManifest,
  LedgerLimits,
  LedgerPage,
} from './ledger.ts';
import { LEDGER_START, encodeLedgerCursor, parseLedgerCursor, seqText } from './ledger-cursor.ts';
import type { LedgerPosition } from './ledger-cursor.ts';

/** Key range of a read: lexicographic bounds on utf8 keys. */
export interface LedgerRange {
  gt?: string;
  gte?: string;
  lt?: string;
  limit?: number;
  reverse?: boolean;
}

export type LedgerOperation = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/**
 * What the ledger needs of a level database: utf8 keys, byte values (abstract-level 3, for
 * example `store.extension(...)` or `new Level(dir, { valueEncoding: 'view' })`). The ledger
 * owns every key in it.
 */
export interface LedgerDatabase {
  get(key: string): Promise<Uint8Array | undefined>;
  batch(operations: LedgerOperation[]): Promise<void>;
  iterator(options: LedgerRange): AsyncIterable<[string, Uint8Array]>;
  keys(options: LedgerRange): AsyncIterable<string>;
}

interface StoredManifest {
  manifest: Manifest;
  trusted: boolean;
}

interface StoredRevocation {
  revocation: Revocation;
  authority: VerifiedRevocation['authority'];
  protected: boolean;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });
const EMPTY = new Uint8Array(0);
const SEQ_KEY = 'seq';

export class LevelGossipLedger implements EnumerableGossipLedger {
  readonly #db: LedgerDatabase;
  readonly #limits: LedgerLimits;
  readonly #options: GossipLedgerOptions;
  #seq: number;
  #manifestCount: number;
  #revocationCount: number;
  // Writes run one at a time, so counts, sequence numbers and eviction stay consistent.
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    db: LedgerDatabase,
    limits: LedgerLimits,
    options: GossipLedgerOptions,
    state: { seq: number; manifests: number; revocations: number },
  ) {
    this.#db = db;
    this.#limits = limits;
    this.#options = options;
    this.#seq = state.seq;
    this.#manifestCount = state.manifests;
    this.#revocationCount = state.revocations;
  }

  /**
   * Opens the ledger over `db` (already open), counting what it holds. A limit lowered since
   * the last run is enforced at the next record added.
   */
  static async open(db: LedgerDatabase, options: GossipLedgerOptions = {}): Promise<LevelGossipLedger> {
    const limits = ledgerLimits(options);
    const manifests = await countKeys(db, 'm/');
    const revocations = await countKeys(db, 'r/');
    const lastManifest = await firstKey(db, 'm/', true);
    const lastRevocation = await firstKey(db, 'r/', true);
    const saved = await db.get(SEQ_KEY);
    // Never reuse a number, even one whose record was since forgotten: a caller's cursor may
    // point past it.
    const seq = Math.max(
      lastManifest === undefined ? 0 : seqOfKey(lastManifest),
      lastRevocation === undefined ? 0 : seqOfKey(lastRevocation),
      saved === undefined ? 0 : seqOfKey(fromUtf8.decode(saved)),
    );
    return new LevelGossipLedger(db, limits, options, { seq, manifests, revocations });
  }

  /** Manifests held now (every version, not only the current ones). */
  get manifestCount(): number {
    return this.#manifestCount;
  }

  get revocationCount(): number {
    return this.#revocationCount;
  }

  async revocationFor(
    manifest: Pick<Manifest, 'publisher' | 'name' | 'version'>,
  ): Promise<Revocation | undefined> {
    const publisher = part(manifest.publisher);
    const prefixes = [
      `rt/${publisher}/p/`,
      `rt/${publisher}/v/${part(manifest.name)}/${part(manifest.version)}/`,
    ];
    for (const prefix of prefixes) {
      const key = await firstKey(this.#db, prefix, false);
      if (key === undefined) continue;
      const stored = await this.#revocationAt(seqOfKey(key));
      if (stored !== undefined) return stored.revocation;
    }
    return undefined;
  }

  async highestManifest(publisher: string, name: string): Promise<KnownManifest | undefined> {
    const seq = await this.#seqAt(`mh/${part(publisher)}/${part(name)}`);
    return seq === undefined ? undefined : this.#manifestAt(seq);
  }

  async hasManifest(manifest: Manifest): Promise<boolean> {
    return (await this.#db.get(`ms/${part(manifest.publisher)}/${part(manifest.signature)}`)) !== undefined;
  }

  async hasRevocation(revocation: Revocation): Promise<boolean> {
    return (await this.#db.get(`rs/${part(revocation.signer)}/${part(revocation.signature)}`)) !== undefined;
  }

  addManifest(known: KnownManifest): Promise<void> {
    return this.#serialized(async () => {
      const { manifest, trusted } = known;
      const bySignature = `ms/${part(manifest.publisher)}/${part(manifest.signature)}`;
      if ((await this.#db.get(bySignature)) !== undefined) return;
      const seq = ++this.#seq;
      const stored: StoredManifest = { trusted, manifest };
      const operations: LedgerOperation[] = [
        { type: 'put', key: `m/${seqText(seq)}`, value: utf8.encode(JSON.stringify(stored)) },
        { type: 'put', key: bySignature, value: utf8.encode(seqText(seq)) },
        { type: 'put', key: SEQ_KEY, value: utf8.encode(seqText(seq)) },
      ];
      if (!trusted) operations.push({ type: 'put', key: `mu/${seqText(seq)}`, value: EMPTY });
      const seriesKey = `mh/${part(manifest.publisher)}/${part(manifest.name)}`;
      const currentSeq = await this.#seqAt(seriesKey);
      const current = currentSeq === undefined ? undefined : await this.#manifestAt(currentSeq);
      if (current === undefined || compareVersions(manifest.version, current.manifest.version) > 0) {
        operations.push({ type: 'put', key: seriesKey, value: utf8.encode(seqText(seq)) });
        operations.push({ type: 'put', key: `mc/${seqText(seq)}`, value: EMPTY });
        if (currentSeq !== undefined) operations.push({ type: 'del', key: `mc/${seqText(currentSeq)}` });
      }
      await this.#db.batch(operations);
      this.#manifestCount++;
      while (this.#manifestCount > this.#limits.maxManifests) {
        if (!(await this.#forgetOldestManifest())) break;
      }
    });
  }

  async #forgetOldestManifest(): Promise<boolean> {
    const untrusted = await firstKey(this.#db, 'mu/', false);
    const key = untrusted === undefined ? await firstKey(this.#db, 'm/', false) : `m/${untrusted.slice(3)}`;
    if (key === undefined) return false;
    const seq = seqOfKey(key);
    const stored = await this.#manifestAt(seq);
    const operations: LedgerOperation[] = [
      { type: 'del', key },
      { type: 'del', key: `mu/${seqText(seq)}` },
    ];
    if (stored !== undefined) {
      const { manifest } = stored;
      operations.push({ type: 'del', key: `ms/${part(manifest.publisher)}/${part(manifest.signature)}` });
      // Forgetting the highest version forgets the series' rollback floor (as in the memory ledger).
      const seriesKey = `mh/${part(manifest.publisher)}/${part(manifest.name)}`;
      if ((await this.#seqAt(seriesKey)) === seq) {
        operations.push({ type: 'del', key: seriesKey }, { type: 'del', key: `mc/${seqText(seq)}` });
      }
    }
    await this.#db.batch(operations);
    this.#manifestCount--;
    return true;
  }

  addRevocation(verified: VerifiedRevocation): Promise<void> {
    return this.#serialized(async () => {
      const { revocation, authority } = verified;
      const bySignature = `rs/${part(revocation.signer)}/${part(revocation.signature)}`;
      if ((await this.#db.get(bySignature)) !== undefined) return;
      const seq = ++this.#seq;
      const isProtected = isProtectedRevocation(verified, this.#options.trust);
      const stored: StoredRevocation = { authority, protected: isProtected, revocation };
      const operations: LedgerOperation[] = [
        { type: 'put', key: `r/${seqText(seq)}`, value: utf8.encode(JSON.stringify(stored)) },
        { type: 'put', key: bySignature, value: utf8.encode(seqText(seq)) },
        { type: 'put', key: targetKey(revocation, seq), value: EMPTY },
        { type: 'put', key: SEQ_KEY, value: utf8.encode(seqText(seq)) },
      ];
      if (!isProtected) operations.push({ type: 'put', key: `ru/${seqText(seq)}`, value: EMPTY });
      await this.#db.batch(operations);
      this.#revocationCount++;
      while (this.#revocationCount > this.#limits.maxRevocations) {
        if (!(await this.#forgetOldestRevocation())) break;
      }
    });
  }

  /** False when every stored revocation is protected. */
  async #forgetOldestRevocation(): Promise<boolean> {
    const index = await firstKey(this.#db, 'ru/', false);
    if (index === undefined) return false;
    const seq = seqOfKey(index);
    const stored = await this.#revocationAt(seq);
    const operations: LedgerOperation[] = [
      { type: 'del', key: index },
      { type: 'del', key: `r/${seqText(seq)}` },
    ];
    if (stored !== undefined) {
      const { revocation } = stored;
      operations.push(
        { type: 'del', key: `rs/${part(revocation.signer)}/${part(revocation.signature)}` },
        { type: 'del', key: targetKey(revocation, seq) },
      );
    }
    await this.#db.batch(operations);
    this.#revocationCount--;
    return true;
  }

  async page(cursor: string | undefined, limit: number): Promise<LedgerPage> {
    checkPageLimit(limit);
    const after = cursor === undefined ? LEDGER_START : parseLedgerCursor(cursor);
    const last: LedgerPosition = { ...after };
    const records: GossipRecord[] = [];
    let scanned = 0;
    const full = (): boolean => records.length >= limit || scanned >= this.#limits.maxPageScan;
    for await (const [key, value] of this.#db.iterator({ gt: `r/${seqText(after.revocation)}`, lt: 'r0' })) {
      if (full()) return { records, next: encodeLedgerCursor(last), more: true };
      scanned++;
      last.revocation = seqOfKey(key);
      records.push({ type: 'revocation', revocation: decode<StoredRevocation>(key, value).revocation });
    }
    // Most publishers have no revocation at all: one range read per publisher and page.
    const revokedPublishers = new Map<string, boolean>();
    const withdrawn = async (manifest: Manifest): Promise<boolean> => {
      let any = revokedPublishers.get(manifest.publisher);
      if (any === undefined) {
        any = (await firstKey(this.#db, `rt/${part(manifest.publisher)}/`, false)) !== undefined;
        revokedPublishers.set(manifest.publisher, any);
      }
      return any && (await this.revocationFor(manifest)) !== undefined;
    };
    for await (const key of this.#db.keys({ gt: `mc/${seqText(after.manifest)}`, lt: 'mc0' })) {
      if (full()) return { records, next: encodeLedgerCursor(last), more: true };
      scanned++;
      const seq = seqOfKey(key);
      last.manifest = seq;
      const stored = await this.#manifestAt(seq);
      // A current manifest a stored revocation withdraws would only be rejected by the caller.
      if (stored !== undefined && !(await withdrawn(stored.manifest))) {
        records.push({ type: 'manifest', manifest: stored.manifest });
      }
    }
    return { records, next: encodeLedgerCursor(last), more: false };
  }

  async #seqAt(key: string): Promise<number | undefined> {
    const value = await this.#db.get(key);
    if (value === undefined) return undefined;
    const seq = Number.parseInt(fromUtf8.decode(value), 16);
    if (!Number.isSafeInteger(seq)) throw corrupt(key);
    return seq;
  }

  async #manifestAt(seq: number): Promise<StoredManifest | undefined> {
    const key = `m/${seqText(seq)}`;
    const value = await this.#db.get(key);
    return value === undefined ? undefined : decode<StoredManifest>(key, value);
  }

  async #revocationAt(seq: number): Promise<StoredRevocation | undefined> {
    const key = `r/${seqText(seq)}`;
    const value = await this.#db.get(key);
    return value === undefined ? undefined : decode<StoredRevocation>(key, value);
  }

  #serialized<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step, step);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** Escapes one key component: no `/` can appear in it. */
function part(value: string): string {
  return encodeURIComponent(value);
}

function targetKey(revocation: Revocation, seq: number): string {
  const publisher = part(revocation.publisher);
  return revocation.kind === 'publisher'
    ? `rt/${publisher}/p/${seqText(seq)}`
    : `rt/${publisher}/v/${part(revocation.name)}/${part(revocation.version)}/${seqText(seq)}`;
}

/** The sequence number every index key ends with. */
function seqOfKey(key: string): number {
  const seq = Number.parseInt(key.slice(key.lastIndexOf('/') + 1), 16);
  if (!Number.isSafeInteger(seq)) throw corrupt(key);
  return seq;
}

/** Key range of everything under `prefix` (which ends with `/`): `/` + 1 is `0`. */
function under(prefix: string): { gte: string; lt: string } {
  return { gte: prefix, lt: `${prefix.slice(0, -1)}0` };
}

async function firstKey(db: LedgerDatabase, prefix: string, reverse: boolean): Promise<string | undefined> {
  for await (const key of db.keys({ ...under(prefix), limit: 1, reverse })) return key;
  return undefined;
}

async function countKeys(db: LedgerDatabase, prefix: string): Promise<number> {
  let count = 0;
  for await (const _key of db.keys(under(prefix))) count++;
  return count;
}

/** Our own records, but read back from disk: a damaged one is `internal`, never trusted blindly. */
function decode<T extends object>(key: string, value: Uint8Array): T {
  try {
    const parsed: unknown = JSON.parse(fromUtf8.decode(value));
    if (parsed !== null && typeof parsed === 'object') return parsed as T;
  } catch {
    // Reported below.
  }
  throw corrupt(key);
}

function corrupt(key: string): GojinnError {
  return new GojinnError('internal', `gossip ledger record ${key.slice(0, 200)} is damaged`);
}
