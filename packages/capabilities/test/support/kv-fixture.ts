/** A real store in a temp directory with the kv handlers over it. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@gojinn/store';
import { createKvHandlers } from '../../src/kv/kv-handler.ts';
import type { KvLimits } from '../../src/kv/kv-limits.ts';
import { KvStore } from '../../src/kv/kv-store.ts';
import type { AnyCapabilityHandler } from '../../src/handler.ts';

export interface KvFixture {
  dir: string;
  store: Store;
  kv: KvStore;
  handlers: AnyCapabilityHandler[];
  /** New handlers over the same store with other limits. */
  handlersWith(limits: Partial<KvLimits>): AnyCapabilityHandler[];
  close(): Promise<void>;
}

export async function kvFixture(limits: Partial<KvLimits> = {}): Promise<KvFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-kv-'));
  const store = await openStore(join(dir, 'node'));
  const kv = new KvStore(store.extension('kv'));
  return {
    dir,
    store,
    kv,
    handlers: createKvHandlers(kv, limits),
    handlersWith: (other) => createKvHandlers(kv, other),
    close: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const encoder = new TextEncoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A kv_set request: u32 LE key length, key, value. */
export function setRequest(key: Uint8Array | string, value: Uint8Array | string): Uint8Array {
  const k = typeof key === 'string' ? bytes(key) : key;
  const v = typeof value === 'string' ? bytes(value) : value;
  const out = new Uint8Array(4 + k.byteLength + v.byteLength);
  new DataView(out.buffer).setUint32(0, k.byteLength, true);
  out.set(k, 4);
  out.set(v, 4 + k.byteLength);
  return out;
}

/** A kv_list request: u32 limit, u32 prefix length, prefix, cursor. */
export function listRequest(
  limit: number,
  prefix: Uint8Array | string,
  cursor: Uint8Array | string = '',
): Uint8Array {
  const p = typeof prefix === 'string' ? bytes(prefix) : prefix;
  const c = typeof cursor === 'string' ? bytes(cursor) : cursor;
  const out = new Uint8Array(8 + p.byteLength + c.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, limit, true);
  view.setUint32(4, p.byteLength, true);
  out.set(p, 8);
  out.set(c, 8 + p.byteLength);
  return out;
}

/** Decodes a kv_list response into its keys and cursor. */
export function decodeList(response: Uint8Array): { keys: Uint8Array[]; cursor: Uint8Array } {
  const view = new DataView(response.buffer, response.byteOffset, response.byteLength);
  const count = view.getUint32(0, true);
  const keys: Uint8Array[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(at, true);
    keys.push(response.slice(at + 4, at + 4 + length));
    at += 4 + length;
  }
  const cursorLength = view.getUint32(at, true);
  const cursor = response.slice(at + 4, at + 4 + cursorLength);
  if (at + 4 + cursorLength !== response.byteLength) throw new Error('kv_list response has trailing bytes');
  return { keys, cursor };
}
