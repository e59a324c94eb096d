/**
 * The kv data of every module, in the store's `kv` sublevel (kv-keys.ts has the layout). Writes
 * of one module are serialised (one at a time, in arrival order), and each commits the entry
 * and the module's usage record in one LevelDB batch — so concurrent invocations of a module
 * can never together exceed its quota, and usage always equals what is stored, even after a
 * crash. Batches are written with `sync: true` by default: a write the guest saw succeed is
 * on disk.
 */
import type { AbstractBatchOptions } from 'abstract-level';
import { GojinnError } from '@gojinn/errors';
import type { BytesSublevel } from '@gojinn/store';
import { entryKey, listRange, namespaceOf, usageKey, userKeyOf, type KvOwner } from './kv-keys.ts';
import type { KvLimits } from './kv-limits.ts';

/** The database the store hands out for kv: utf8 keys, byte values (`store.extension('kv')`). */
export type KvDatabase = BytesSublevel;

/** classic-level honours `sync` (fsync before the batch resolves); abstract-level's types omit it. */
type SyncBatchOptions = AbstractBatchOptions<string, Uint8Array> & { sync: boolean };

export interface KvUsage {
  /** Keys the module holds. */
  keys: number;
  /** Bytes of its keys plus values. */
  bytes: number;
}

export type KvSetResult = 'ok' | 'quota_keys' | 'quota_bytes';

export interface KvPage {
  keys: Uint8Array[];
  /** More keys follow the last one returned (pass it as the next call's cursor). */
  more: boolean;
}

export interface KvStoreOptions {
  /** fsync every write (default true). false only for benchmarks that measure the difference. */
  sync?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY_USAGE: Readonly<KvUsage> = Object.freeze({ keys: 0, bytes: 0 });

export class KvStore {
  readonly #db: KvDatabase;
  readonly #batchOptions: SyncBatchOptions;
  /** Per namespace, the tail of its queue of writes. */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(db: KvDatabase, options: KvStoreOptions = {}) {
    this.#db = db;
    this.#batchOptions = { sync: options.sync ?? true };
  }

  async get(owner: KvOwner, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#db.get(entryKey(namespaceOf(owner), key));
  }

  async usage(owner: KvOwner): Promise<KvUsage> {
    return this.#readUsage(namespaceOf(owner));
  }

  /** Sets `key`; refused (nothing written) when it would take the module over a quota. */
  async set(owner: KvOwner, key: Uint8Array, value: Uint8Array, limits: KvLimits): Promise<KvSetResult> {
    const namespace = namespaceOf(owner);
    return this.#exclusive(namespace, async () => {
      const stored = entryKey(namespace, key);
      const [previous, usage] = await Promise.all([this.#db.get(stored), this.#readUsage(namespace)]);
      const next: KvUsage = {
        keys: usage.keys + (previous === undefined ? 1 : 0),
        bytes:
          usage.bytes -
          (previous === undefined ? 0 : key.byteLength + previous.byteLength) +
          key.byteLength +
          value.byteLength,
      };
      // Only growth is refused: a module over a lowered quota may still shrink or rewrite in place.
      if (next.keys > limits.quotaKeys && next.keys > usage.keys) return 'quota_keys';
      if (next.bytes > limits.quotaBytes && next.bytes > usage.bytes) return 'quota_bytes';
      await this.#db.batch(
        [
          { type: 'put', key: stored, value },
          { type: 'put', key: usageKey(namespace), value: encodeUsage(next) },
        ],
        this.#batchOptions,
      );
      return 'ok';
    });
  }

  /** Deletes `key`; false when it did not exist. */
  async delete(owner: KvOwner, key: Uint8Array): Promise<boolean> {
    const namespace = namespaceOf(owner);
    return this.#exclusive(namespace, async () => {
      const stored = entryKey(namespace, key);
      const [previous, usage] = await Promise.all([this.#db.get(stored), this.#readUsage(namespace)]);
      if (previous === undefined) return false;
      const next: KvUsage = {
        keys: usage.keys - 1,
        bytes: usage.bytes - key.byteLength - previous.byteLength,
      };
      await this.#db.batch(
        [
          { type: 'del', key: stored },
          next.keys === 0
            ? { type: 'del', key: usageKey(namespace) }
            : { type: 'put', key: usageKey(namespace), value: encodeUsage(next) },
        ],
        this.#batchOptions,
      );
      return true;
    });
  }

  /** Up to `limit` keys starting with `prefix`, in bytewise order, strictly after `after` when given. */
  async list(
    owner: KvOwner,
    prefix: Uint8Array,
    after: Uint8Array | undefined,
    limit: number,
  ): Promise<KvPage> {
    const namespace = namespaceOf(owner);
    const stored = await this.#db.keys({ ...listRange(namespace, prefix, after), limit: limit + 1 }).all();
    const keys: Uint8Array[] = [];
    for (const key of stored.slice(0, limit)) {
      const user = userKeyOf(namespace, key);
      if (user === undefined) throw new GojinnError('internal', 'kv: a stored key is not an entry key');
      keys.push(user);
    }
    return { keys, more: stored.length > limit };
  }

  async #readUsage(namespace: string): Promise<KvUsage> {
    const bytes = await this.#db.get(usageKey(namespace));
    if (bytes === undefined) return EMPTY_USAGE;
    const parsed = JSON.parse(decoder.decode(bytes)) as Partial<KvUsage>;
    if (!Number.isSafeInteger(parsed.keys) || !Number.isSafeInteger(parsed.bytes)) {
      throw new GojinnError('internal', 'kv: a usage record is malformed');
    }
    return { keys: parsed.keys as number, bytes: parsed.bytes as number };
  }

  /** Runs `work` after every earlier write of `namespace` has settled, and before any later one. */
  async #exclusive<T>(namespace: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(namespace) ?? Promise.resolve();
    const { promise: done, resolve } = Promise.withResolvers<void>();
    this.#queues.set(namespace, done);
    await previous;
    try {
      return await work();
    } finally {
      resolve();
      if (this.#queues.get(namespace) === done) this.#queues.delete(namespace);
    }
  }
}

function encodeUsage(usage: KvUsage): Uint8Array {
  return encoder.encode(JSON.stringify(usage));
}
