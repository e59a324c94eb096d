import type { AbstractSublevel } from 'abstract-level';
import type { Level } from 'level';

/** The root database: utf8 keys, byte values. Every key lives in a sublevel (layout.ts). */
export type RootDatabase = Level<string, Uint8Array>;

type Format = string | Buffer | Uint8Array;

/** A sublevel whose values are bytes (blobs, manifests, signed records). */
export type BytesSublevel = AbstractSublevel<RootDatabase, Format, string, Uint8Array>;

/** A sublevel whose values are text (JSON records, index markers). */
export type TextSublevel = AbstractSublevel<RootDatabase, Format, string, string>;

export function bytesSublevel(db: RootDatabase, name: string): BytesSublevel {
  return db.sublevel<string, Uint8Array>(name, { keyEncoding: 'utf8', valueEncoding: 'view' });
}

export function textSublevel(db: RootDatabase, name: string): TextSublevel {
  return db.sublevel<string, string>(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
}

/** One put or delete in one sublevel; a list of them commits atomically. */
export type StoreOperation =
  | { type: 'put'; sublevel: BytesSublevel; key: string; value: Uint8Array }
  | { type: 'put'; sublevel: TextSublevel; key: string; value: string }
  | { type: 'del'; sublevel: BytesSublevel | TextSublevel; key: string };

/**
 * The store's only write path: commits operations as one LevelDB batch (atomic: one log
 * record) with the store's durability setting. Sub-stores receive it instead of the root.
 */
export type AtomicWrite = (operations: StoreOperation[]) => Promise<void>;
