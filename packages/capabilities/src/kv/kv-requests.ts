/**
 * The kv request and response formats (docs/guest-abi.md, "kv"): parsed once, bounded, with
 * the failure the guest sees. Integers are u32 little-endian.
 *
 *   kv_get     request: key                              response: value
 *   kv_delete  request: key                              response: empty
 *   kv_set     request: u32 key_len, key, value          response: empty
 *   kv_list    request: u32 limit, u32 prefix_len, prefix, cursor (rest; empty = from the start)
 *              response: u32 count, count × (u32 key_len, key), u32 cursor_len, cursor
 *              (cursor empty = no more keys; else pass it back to continue after it)
 */
import { HostCallFailure } from '../handler.ts';
import { KV_LIST_FIXED_BYTES, KV_SET_HEADER_BYTES, type KvLimits } from './kv-limits.ts';

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function checkKey(key: Uint8Array, limits: KvLimits, what = 'key'): Uint8Array {
  if (key.byteLength === 0) throw new HostCallFailure('INVALID', `${what} is empty`);
  if (key.byteLength > limits.maxKeyBytes) {
    throw new HostCallFailure(
      'LIMIT',
      `${what} is ${key.byteLength} bytes; limit maxKeyBytes is ${limits.maxKeyBytes}`,
    );
  }
  return key;
}

export interface SetRequest {
  key: Uint8Array;
  value: Uint8Array;
}

export function parseSetRequest(request: Uint8Array, limits: KvLimits): SetRequest {
  if (request.byteLength < KV_SET_HEADER_BYTES)
    throw new HostCallFailure('INVALID', 'kv_set request has no key length');
  const keyLength = view(request).getUint32(0, true);
  if (keyLength > request.byteLength - KV_SET_HEADER_BYTES) {
    throw new HostCallFailure('INVALID', 'kv_set key length runs past the request');
  }
  const key = checkKey(request.subarray(KV_SET_HEADER_BYTES, KV_SET_HEADER_BYTES + keyLength), limits);
  const value = request.subarray(KV_SET_HEADER_BYTES + keyLength);
  if (value.byteLength > limits.maxValueBytes) {
    throw new HostCallFailure(
      'LIMIT',
      `value is ${value.byteLength} bytes; limit maxValueBytes is ${limits.maxValueBytes}`,
    );
  }
  return { key, value };
}

export interface ListRequest {
  /** Keys wanted, already clamped to 1..maxListPage (0 asks for a full page). */
  limit: number;
  prefix: Uint8Array;
  cursor: Uint8Array | undefined;
}

export function parseListRequest(request: Uint8Array, limits: KvLimits): ListRequest {
  if (request.byteLength < 8)
    throw new HostCallFailure('INVALID', 'kv_list request is shorter than its header');
  const header = view(request);
  const wanted = header.getUint32(0, true);
  const prefixLength = header.getUint32(4, true);
  if (prefixLength > request.byteLength - 8)
    throw new HostCallFailure('INVALID', 'kv_list prefix runs past the request');
  const prefix = request.subarray(8, 8 + prefixLength);
  if (prefix.byteLength > limits.maxKeyBytes) {
    throw new HostCallFailure(
      'LIMIT',
      `prefix is ${prefix.byteLength} bytes; limit maxKeyBytes is ${limits.maxKeyBytes}`,
    );
  }
  const rest = request.subarray(8 + prefixLength);
  const cursor = rest.byteLength === 0 ? undefined : checkKey(rest, limits, 'cursor');
  return { limit: wanted === 0 ? limits.maxListPage : Math.min(wanted, limits.maxListPage), prefix, cursor };
}

export function encodeListResponse(keys: readonly Uint8Array[], more: boolean): Uint8Array {
  const cursor = more ? keys[keys.length - 1] : undefined;
  let size = KV_LIST_FIXED_BYTES + (cursor?.byteLength ?? 0);
  for (const key of keys) size += 4 + key.byteLength;
  const bytes = new Uint8Array(size);
  const out = view(bytes);
  out.setUint32(0, keys.length, true);
  let at = 4;
  for (const key of keys) {
    out.setUint32(at, key.byteLength, true);
    bytes.set(key, at + 4);
    at += 4 + key.byteLength;
  }
  out.setUint32(at, cursor?.byteLength ?? 0, true);
  if (cursor !== undefined) bytes.set(cursor, at + 4);
  return bytes;
}
