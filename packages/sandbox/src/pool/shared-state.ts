/**
 * The SharedArrayBuffer one worker shares with the main thread: a control word saying which
 * task runs, when it started, and the host-call bridge's mailbox. One buffer per worker
 * instance: a replacement worker gets a fresh buffer, so nothing written for a dead worker can
 * reach a live one.
 *
 * Why shared memory and not messages for "task started": a message per start would double the
 * message traffic; the main thread only needs to look when a timeout timer fires.
 */

/** Int32 slot: 0 = idle, > 0 = sequence number of the running task, CLAIMED = main stopped it. */
export const RUNNING = 0;
/** Int32 slot: state of the host-call mailbox (BRIDGE_*). */
export const BRIDGE_STATE = 1;
/** Int32 slot: id of the host call in the mailbox. */
export const CALL_ID = 2;
/** Int32 slot: bytes in the data region (request payload, then reply). */
export const DATA_LENGTH = 3;
/** Float64 slot (bytes 16-23): when the running task started, ms on the shared clock (`sharedNow`). */
export const STARTED_AT_F64 = 2;
/** Int32 slot (bytes 24-27): non-zero once the main thread wants the worker to start nothing more. */
export const STOP = 6;
/** Byte offset of the data region. */
export const DATA_OFFSET = 32;
/** Room for an encoded error reply, whatever the result limit. */
export const MIN_DATA_BYTES = 4096;

/**
 * RUNNING value once the worker is claimed for termination, by the main thread (timeout, or an
 * idle worker on close) or by the worker itself when it sees STOP: no task starts after it.
 */
export const CLAIMED = -1;

export const BRIDGE_IDLE = 0;
export const BRIDGE_REQUEST = 1;
export const BRIDGE_REPLY_OK = 2;
export const BRIDGE_REPLY_ERROR = 3;

export interface SharedState {
  buffer: SharedArrayBuffer;
  i32: Int32Array;
  f64: Float64Array;
  data: Uint8Array;
}

export function createSharedState(dataBytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(DATA_OFFSET + Math.max(dataBytes, MIN_DATA_BYTES));
}

export function viewSharedState(buffer: SharedArrayBuffer): SharedState {
  return {
    buffer,
    i32: new Int32Array(buffer, 0, DATA_OFFSET / 4),
    f64: new Float64Array(buffer, 0, DATA_OFFSET / 8),
    data: new Uint8Array(buffer, DATA_OFFSET),
  };
}

/**
 * Milliseconds on a clock both threads agree on: each thread's timeOrigin is taken from the
 * same wall clock and performance.now() is monotonic, so the sum is comparable across threads
 * (measured: within 0.03 ms).
 */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Task sequence numbers stay positive int32s, so they fit the RUNNING word. */
export function nextSeq(seq: number): number {
  return seq >= 0x7fffffff ? 1 : seq + 1;
}
