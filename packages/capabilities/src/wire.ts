/**
 * The bytes that cross the host-call bridge between the worker-side host imports and the
 * main-side dispatcher. The method is the `gojinn` function name; the request is the guest's
 * own request bytes (for `log`, a small header first); every reply starts with a fixed header:
 *
 *   offset 0  i32 LE  status: 0 = ok, < 0 = -HOST_ERRNO value for the guest
 *   offset 4  u32 LE  flags: bit 0 = the call was non-deterministic (the outcome must say so)
 *   offset 8  …       the response bytes (only when status is 0)
 *
 * Both sides are our code; the header is still checked on decode, so a malformed reply fails
 * the invocation as `internal` rather than handing the guest garbage.
 */
import { GojinnError } from '@gojinn/errors';
import { REPLY_HEADER_BYTES } from './limits.ts';

export const FLAG_NONDETERMINISTIC = 1;

export interface Reply {
  /** 0 = ok, < 0 = negated HOST_ERRNO. */
  status: number;
  flags: number;
  body: Uint8Array;
}

export function encodeReply(status: number, flags: number, body?: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(REPLY_HEADER_BYTES + (body?.byteLength ?? 0));
  const view = new DataView(bytes.buffer);
  view.setInt32(0, status, true);
  view.setUint32(4, flags, true);
  if (body !== undefined) bytes.set(body, REPLY_HEADER_BYTES);
  return bytes;
}

export function decodeReply(bytes: Uint8Array): Reply {
  if (bytes.byteLength < REPLY_HEADER_BYTES) {
    throw new GojinnError(
      'internal',
      `host call reply is ${bytes.byteLength} bytes, shorter than its header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const status = view.getInt32(0, true);
  if (status > 0 || (status < 0 && bytes.byteLength !== REPLY_HEADER_BYTES)) {
    throw new GojinnError('internal', `host call reply has an invalid status ${status}`);
  }
  return { status, flags: view.getUint32(4, true), body: bytes.subarray(REPLY_HEADER_BYTES) };
}

/** Bytes before the message in a `log` request: i32 level, u32 the message's full length in the guest. */
export const LOG_HEADER_BYTES = 8;

export function encodeLogRequest(level: number, fullLength: number, message: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(LOG_HEADER_BYTES + message.byteLength);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, level, true);
  view.setUint32(4, fullLength, true);
  bytes.set(message, LOG_HEADER_BYTES);
  return bytes;
}

export interface LogRequest {
  level: number;
  /** The message's length in the guest; more than `message.byteLength` when the worker cut it. */
  fullLength: number;
  message: Uint8Array;
}

export function decodeLogRequest(bytes: Uint8Array): LogRequest | undefined {
  if (bytes.byteLength < LOG_HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    level: view.getInt32(0, true),
    fullLength: view.getUint32(4, true),
    message: bytes.subarray(LOG_HEADER_BYTES),
  };
}
