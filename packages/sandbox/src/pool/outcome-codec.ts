import { isErrorCode } from '@gojinn/errors';
import type { InvocationOutcome } from '../runtime/types.ts';

/**
 * A compact binary form of InvocationOutcome for the outcome ring. `v8.serialize` did the job
 * generically but cost ~13 µs per outcome in the worker (its typed-array path runs in JS) plus
 * a Buffer per outcome for the GC; this writes into one reusable buffer.
 *
 * Layout (little-endian): u8 flags, f64 durationMs, i64 fuelUsed, str seed,
 * [u16 status, str headers-JSON, str body] if response, [str code, str message] if error,
 * u32 stderr length + bytes. `str` is u32 byte length + UTF-8.
 */

/** Every field of InvocationOutcome, so adding one to the type fails the type check here until it is encoded. */
const ENCODED_FIELDS = {
  ok: true,
  response: true,
  error: true,
  fuelUsed: true,
  durationMs: true,
  seed: true,
  stderr: true,
  stderrTruncated: true,
  deterministic: true,
} as const satisfies Record<keyof InvocationOutcome, true>;
export const OUTCOME_FIELDS: readonly string[] = Object.keys(ENCODED_FIELDS);

const OK = 1;
const HAS_RESPONSE = 2;
const HAS_ERROR = 4;
const STDERR_TRUNCATED = 8;
const DETERMINISTIC = 16;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let scratch = new Uint8Array(4096);
let view = new DataView(scratch.buffer);
let at = 0;

function reserve(bytes: number): void {
  if (at + bytes <= scratch.byteLength) return;
  let size = scratch.byteLength * 2;
  while (size < at + bytes) size *= 2;
  const grown = new Uint8Array(size);
  grown.set(scratch.subarray(0, at));
  scratch = grown;
  view = new DataView(scratch.buffer);
}

class NotWellFormed extends Error {}

function putString(value: string): void {
  // UTF-8 cannot carry a lone surrogate (JSON.parse makes one from "\ud800"): send such an outcome another way.
  if (!value.isWellFormed()) throw new NotWellFormed();
  reserve(4 + value.length * 3);
  const { written } = encoder.encodeInto(value, scratch.subarray(at + 4));
  view.setUint32(at, written, true);
  at += 4 + written;
}

/**
 * Encodes `outcome`; the returned bytes are valid until the next call. Returns undefined for an
 * outcome this form cannot carry exactly (fuelUsed outside int64, a string with a lone
 * surrogate): send it another way.
 */
export function encodeOutcome(outcome: InvocationOutcome): Uint8Array | undefined {
  if (outcome.fuelUsed < INT64_MIN || outcome.fuelUsed > INT64_MAX) return undefined;
  try {
    return encode(outcome);
  } catch (error) {
    if (error instanceof NotWellFormed) return undefined;
    throw error;
  }
}

function encode(outcome: InvocationOutcome): Uint8Array {
  at = 0;
  reserve(17);
  const { response, error } = outcome;
  const flags =
    (outcome.ok ? OK : 0) |
    (response !== undefined ? HAS_RESPONSE : 0) |
    (error !== undefined ? HAS_ERROR : 0) |
    (outcome.stderrTruncated ? STDERR_TRUNCATED : 0) |
    (outcome.deterministic ? DETERMINISTIC : 0);
  view.setUint8(0, flags);
  view.setFloat64(1, outcome.durationMs, true);
  view.setBigInt64(9, outcome.fuelUsed, true);
  at = 17;
  putString(outcome.seed);
  if (response !== undefined) {
    reserve(2);
    view.setUint16(at, response.status, true);
    at += 2;
    putString(JSON.stringify(response.headers));
    putString(response.body);
  }
  if (error !== undefined) {
    putString(error.code);
    putString(error.message);
  }
  reserve(4 + outcome.stderr.byteLength);
  view.setUint32(at, outcome.stderr.byteLength, true);
  scratch.set(outcome.stderr, at + 4);
  at += 4 + outcome.stderr.byteLength;
  return scratch.subarray(0, at);
}

/** Decodes what encodeOutcome wrote (bytes produced by the pool's own worker). */
export function decodeOutcome(bytes: Uint8Array): InvocationOutcome {
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 17;
  const string = (): string => {
    const length = data.getUint32(pos, true);
    const text = decoder.decode(bytes.subarray(pos + 4, pos + 4 + length));
    pos += 4 + length;
    return text;
  };
  const flags = data.getUint8(0);
  const outcome: InvocationOutcome = {
    ok: (flags & OK) !== 0,
    fuelUsed: data.getBigInt64(9, true),
    durationMs: data.getFloat64(1, true),
    seed: string(),
    stderr: new Uint8Array(0),
    stderrTruncated: (flags & STDERR_TRUNCATED) !== 0,
    deterministic: (flags & DETERMINISTIC) !== 0,
  };
  if ((flags & HAS_RESPONSE) !== 0) {
    const status = data.getUint16(pos, true);
    pos += 2;
    const headers = JSON.parse(string()) as Record<string, string>;
    outcome.response = { status, headers, body: string() };
  }
  if ((flags & HAS_ERROR) !== 0) {
    const code = string();
    const message = string();
    outcome.error = isErrorCode(code) ? { code, message } : { code: 'internal', message: 'internal error' };
  }
  const stderrLength = data.getUint32(pos, true);
  outcome.stderr = bytes.slice(pos + 4, pos + 4 + stderrLength);
  return outcome;
}
