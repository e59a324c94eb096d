import { GojinnError, isErrorCode, type ErrorInfo } from '@gojinn/errors';
import {
  BRIDGE_IDLE,
  BRIDGE_REPLY_ERROR,
  BRIDGE_REPLY_OK,
  BRIDGE_REQUEST,
  BRIDGE_STATE,
  CALL_ID,
  DATA_LENGTH,
  type SharedState,
} from './shared-state.ts';

/**
 * The host-call mailbox in a worker's shared buffer. Strictly one call at a time per worker:
 * the worker writes a request and blocks; the main thread copies the request out, later
 * writes one reply into the same bytes and wakes the worker. Payloads go through shared
 * memory rather than postMessage so a view into guest memory is never structured-cloned
 * (cloning a view clones its whole buffer) and both directions share one bounded region.
 */

/** Longest error message carried back (at most 6 bytes per char once JSON-escaped, so it fits MIN_DATA_BYTES). */
const MAX_ERROR_MESSAGE_CHARS = 512;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---- worker side ----

export function postRequest(shared: SharedState, callId: number, payload: Uint8Array): void {
  shared.data.set(payload);
  shared.i32[DATA_LENGTH] = payload.byteLength;
  shared.i32[CALL_ID] = callId;
  Atomics.store(shared.i32, BRIDGE_STATE, BRIDGE_REQUEST);
}

/** Blocks the calling thread until the reply arrives; returns the result or throws its error. */
export function awaitReply(shared: SharedState): Uint8Array {
  let state = Atomics.load(shared.i32, BRIDGE_STATE);
  while (state === BRIDGE_REQUEST) {
    // No timeout: the main thread's invocation timer terminates this thread if no reply comes.
    Atomics.wait(shared.i32, BRIDGE_STATE, BRIDGE_REQUEST);
    state = Atomics.load(shared.i32, BRIDGE_STATE);
  }
  const length = shared.i32[DATA_LENGTH] ?? 0;
  if (length < 0 || length > shared.data.byteLength) {
    Atomics.store(shared.i32, BRIDGE_STATE, BRIDGE_IDLE);
    throw new GojinnError('internal', `host call reply length ${length} is out of range`);
  }
  const bytes = shared.data.slice(0, length);
  Atomics.store(shared.i32, BRIDGE_STATE, BRIDGE_IDLE);
  if (state === BRIDGE_REPLY_OK) return bytes;
  if (state === BRIDGE_REPLY_ERROR) throw GojinnError.fromInfo(decodeError(bytes));
  throw new GojinnError('internal', `host call mailbox in unexpected state ${state}`);
}

function decodeError(bytes: Uint8Array): ErrorInfo {
  try {
    const parsed: unknown = JSON.parse(decoder.decode(bytes));
    if (typeof parsed === 'object' && parsed !== null) {
      const { code, message } = parsed as Record<string, unknown>;
      if (isErrorCode(code) && typeof message === 'string') return { code, message };
    }
  } catch {
    // fall through: an undecodable reply is an internal failure, not the guest's
  }
  return { code: 'internal', message: 'internal error' };
}

// ---- main side ----

/**
 * Copies the pending request out of the mailbox, or returns undefined when the mailbox does
 * not hold request `callId` (a stale or forged notification) or its length is out of bounds.
 */
export function takeRequest(
  shared: SharedState,
  callId: number,
  maxPayloadBytes: number,
): Uint8Array | undefined {
  if (Atomics.load(shared.i32, BRIDGE_STATE) !== BRIDGE_REQUEST) return undefined;
  if (shared.i32[CALL_ID] !== callId) return undefined;
  const length = shared.i32[DATA_LENGTH] ?? -1;
  if (length < 0 || length > maxPayloadBytes || length > shared.data.byteLength) return undefined;
  return shared.data.slice(0, length);
}

/** Writes the reply to request `callId` and wakes the worker. No-op unless that request is still waiting. */
export function writeReply(
  shared: SharedState,
  callId: number,
  reply: { ok: true; bytes: Uint8Array } | { ok: false; error: ErrorInfo },
): boolean {
  if (Atomics.load(shared.i32, BRIDGE_STATE) !== BRIDGE_REQUEST || shared.i32[CALL_ID] !== callId)
    return false;
  let bytes: Uint8Array;
  let state: number;
  if (reply.ok) {
    bytes = reply.bytes;
    state = BRIDGE_REPLY_OK;
  } else {
    const message = reply.error.message.slice(0, MAX_ERROR_MESSAGE_CHARS);
    bytes = encoder.encode(JSON.stringify({ code: reply.error.code, message }));
    state = BRIDGE_REPLY_ERROR;
  }
  if (bytes.byteLength > shared.data.byteLength) {
    throw new GojinnError(
      'internal',
      `host call reply of ${bytes.byteLength} bytes does not fit the mailbox`,
    );
  }
  shared.data.set(bytes);
  shared.i32[DATA_LENGTH] = bytes.byteLength;
  Atomics.store(shared.i32, BRIDGE_STATE, state);
  Atomics.notify(shared.i32, BRIDGE_STATE);
  return true;
}
