// The module's own key-value store (capabilities kv.read and kv.write; docs/capabilities.md).
// Keys are bytes (1..1024 by default) and must start with one of the prefixes the manifest
// declares and the node grants; values up to 256 KiB by default. A module sees only its own
// keys. Failures return null/false with hostError() saying why (HOST_NOT_FOUND, HOST_DENIED,
// HOST_QUOTA, HOST_LIMIT, ...).
//
//   const seen = kvGet('visits/total');          // null + HOST_NOT_FOUND the first time
//   kvSet('visits/total', '1');
//   const page = kvList('visits/');              // up to 100 keys, then page.cursor to go on
import { finishCall, firstOut, setHostError } from './call';
import * as gojinn from './gojinn';

function ptr(buffer: ArrayBuffer): usize {
  return changetype<usize>(buffer);
}

function size(buffer: ArrayBuffer): usize {
  return <usize>buffer.byteLength;
}

/** The value under `key` (bytes), or null (HOST_NOT_FOUND when absent). Needs kv.read. */
export function kvGetBytes(key: ArrayBuffer): ArrayBuffer | null {
  const out = firstOut();
  return finishCall(gojinn.kv_get(ptr(key), size(key), ptr(out), size(out)), out);
}

/** The value under `key` as UTF-8 text, or null. Needs kv.read. */
export function kvGet(key: string): string | null {
  const value = kvGetBytes(String.UTF8.encode(key));
  return value === null ? null : String.UTF8.decode(value);
}

/** Stores `value` under `key`; false when refused (HOST_DENIED, HOST_QUOTA, HOST_LIMIT). Needs kv.write. */
export function kvSetBytes(key: ArrayBuffer, value: ArrayBuffer): bool {
  // Request: u32 key length, key, value.
  const request = new ArrayBuffer(4 + key.byteLength + value.byteLength);
  const at = ptr(request);
  store<u32>(at, <u32>key.byteLength);
  memory.copy(at + 4, ptr(key), size(key));
  memory.copy(at + 4 + size(key), ptr(value), size(value));
  return finishCall(gojinn.kv_set(at, size(request), 0, 0), request) !== null;
}

/** Stores the UTF-8 text `value` under `key`. Needs kv.write. */
export function kvSet(key: string, value: string): bool {
  return kvSetBytes(String.UTF8.encode(key), String.UTF8.encode(value));
}

/** Deletes `key`; false when it was absent (HOST_NOT_FOUND) or refused. Needs kv.write. */
export function kvDeleteBytes(key: ArrayBuffer): bool {
  return finishCall(gojinn.kv_delete(ptr(key), size(key), 0, 0), key) !== null;
}

export function kvDelete(key: string): bool {
  return kvDeleteBytes(String.UTF8.encode(key));
}

/** One page of keys from kvList. */
export class KvPage {
  keys: ArrayBuffer[] = [];
  /** Pass to the next kvList call to continue after this page; null when there are no more keys. */
  cursor: ArrayBuffer | null = null;

  /** Key `i` as UTF-8 text. */
  keyText(i: i32): string {
    return String.UTF8.decode(this.keys[i]);
  }
}

/**
 * Keys starting with `prefix`, in byte order, after `cursor` when given: at most `limit` (0 or
 * more than the node's page size means a full page, 100 by default). Null when refused. Needs
 * kv.read, and `prefix` must lie within a granted prefix.
 */
export function kvListBytes(
  prefix: ArrayBuffer,
  limit: u32 = 0,
  cursor: ArrayBuffer | null = null,
): KvPage | null {
  // Request: u32 limit, u32 prefix length, prefix, cursor.
  const cursorSize: usize = cursor === null ? 0 : size(cursor);
  const request = new ArrayBuffer(<i32>(8 + size(prefix) + cursorSize));
  const at = ptr(request);
  store<u32>(at, limit);
  store<u32>(at + 4, <u32>prefix.byteLength);
  memory.copy(at + 8, ptr(prefix), size(prefix));
  if (cursor !== null) memory.copy(at + 8 + size(prefix), ptr(cursor), cursorSize);
  const out = firstOut();
  const response = finishCall(gojinn.kv_list(at, size(request), ptr(out), size(out)), out);
  if (response === null) return null;
  // Response: u32 count, count × (u32 length, key), u32 cursor length, cursor.
  const page = new KvPage();
  const base = ptr(response);
  const end = base + size(response);
  let p = base + 4;
  const count = load<u32>(base);
  for (let i: u32 = 0; i < count; i++) {
    const length = <usize>load<u32>(p);
    if (p + 4 + length > end) {
      setHostError(4); // HOST_INVALID: a malformed response (never from a correct host)
      return null;
    }
    page.keys.push(response.slice(<i32>(p + 4 - base), <i32>(p + 4 + length - base)));
    p += 4 + length;
  }
  const cursorLength = <usize>load<u32>(p);
  if (cursorLength > 0) page.cursor = response.slice(<i32>(p + 4 - base), <i32>(p + 4 + cursorLength - base));
  return page;
}

export function kvList(prefix: string, limit: u32 = 0, cursor: ArrayBuffer | null = null): KvPage | null {
  return kvListBytes(String.UTF8.encode(prefix), limit, cursor);
}
