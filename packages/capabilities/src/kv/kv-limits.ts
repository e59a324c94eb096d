/**
 * Limits of the kv capability, with their defaults (docs/capabilities.md, "kv"). A node may
 * lower or raise them; `resolveKvLimits` refuses combinations whose requests or responses would
 * not fit through one host call.
 */
import { GojinnError } from '@gojinn/errors';
import { HOST_CALL_MAX_REQUEST_BYTES, HOST_CALL_MAX_RESPONSE_BYTES } from '../limits.ts';

export interface KvLimits {
  /** Longest key, in bytes (keys are bytes; 1 to this many). */
  maxKeyBytes: number;
  /** Largest value, in bytes. */
  maxValueBytes: number;
  /** Most keys one kv_list call returns (a larger or zero request is clamped to this). */
  maxListPage: number;
  /** Most keys one module may hold. */
  quotaKeys: number;
  /** Most bytes (keys plus values) one module may hold. */
  quotaBytes: number;
}

export const DEFAULT_KV_LIMITS: Readonly<KvLimits> = Object.freeze({
  maxKeyBytes: 1024,
  maxValueBytes: 256 * 1024,
  maxListPage: 100,
  quotaKeys: 10_000,
  quotaBytes: 64 * 1024 * 1024,
});

/** Bytes of a kv_set request before the key: its u32 key length. */
export const KV_SET_HEADER_BYTES = 4;
/** Bytes of a kv_list response besides the keys: u32 count, u32 cursor length. */
export const KV_LIST_FIXED_BYTES = 8;

export function resolveKvLimits(options: Partial<KvLimits> = {}): KvLimits {
  const limits: KvLimits = { ...DEFAULT_KV_LIMITS, ...options };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new GojinnError('bad_request', `kv limit ${name} must be a positive integer, got ${value}`);
    }
  }
  if (KV_SET_HEADER_BYTES + limits.maxKeyBytes + limits.maxValueBytes > HOST_CALL_MAX_REQUEST_BYTES) {
    throw new GojinnError(
      'bad_request',
      `kv limits maxKeyBytes + maxValueBytes + ${KV_SET_HEADER_BYTES} must fit HOST_CALL_MAX_REQUEST_BYTES (${HOST_CALL_MAX_REQUEST_BYTES})`,
    );
  }
  const listBytes = KV_LIST_FIXED_BYTES + (limits.maxListPage + 1) * (4 + limits.maxKeyBytes);
  if (limits.maxValueBytes > HOST_CALL_MAX_RESPONSE_BYTES || listBytes > HOST_CALL_MAX_RESPONSE_BYTES) {
    throw new GojinnError(
      'bad_request',
      `kv limits maxValueBytes and a full kv_list page must fit HOST_CALL_MAX_RESPONSE_BYTES (${HOST_CALL_MAX_RESPONSE_BYTES})`,
    );
  }
  return limits;
}
