// The request → response convention every capability call shares (docs/guest-abi.md, "Host
// functions"): fn(req_ptr, req_len, out_ptr, out_cap) → bytes written, or a negated host error
// number. A response larger than the output buffer is not lost and not fetched twice: the call
// returns -HOST_TOO_SMALL and the host holds it for result_take. `finishCall` does that dance.
//
//   const out = new ArrayBuffer(<usize>FIRST_OUT_CAPACITY);
//   const response = finishCall(gojinn.kv_get(reqPtr, reqLen, changetype<usize>(out), out.byteLength), out);
//   if (response === null) { ... hostError() says why ... }
import * as gojinn from './gojinn';

// Host error numbers (HOST_ERRNO in @gojinn/abi): a failed call returns the negated value.
/** Outside the module's granted scope (key prefix, origin, secret name). Logged by the node. */
export const HOST_DENIED: i32 = 1;
/** No such key, secret or row. */
export const HOST_NOT_FOUND: i32 = 2;
/** The response did not fit the output buffer; it is held for result_take. */
export const HOST_TOO_SMALL: i32 = 3;
/** The request bytes are malformed. */
export const HOST_INVALID: i32 = 4;
/** A size limit was exceeded (key, value, page, request, response). */
export const HOST_LIMIT: i32 = 5;
/** The module's storage quota would be exceeded; nothing was written. */
export const HOST_QUOTA: i32 = 6;
/** Too many calls; try less often. */
export const HOST_RATE: i32 = 7;
/** result_take found nothing held. */
export const HOST_NO_RESULT: i32 = 8;
/** The host could not complete the call; details are in the node's log. */
export const HOST_UNAVAILABLE: i32 = 9;
/** The invocation's deadline passed first. */
export const HOST_TIMEOUT: i32 = 10;
/** The remote side failed. */
export const HOST_UPSTREAM: i32 = 11;

/** Output buffer the wrappers try first; a larger response arrives through result_take. */
export const FIRST_OUT_CAPACITY: i32 = 1024;

let lastError: i32 = 0;

/** The host error number of the last call made through these helpers (0 when it succeeded). */
export function hostError(): i32 {
  return lastError;
}

/** Records `errno` as the last error (0 = success); for wrappers that inspect results themselves. */
export function setHostError(errno: i32): void {
  lastError = errno;
}

/** The response of a call made with `out` as its output buffer, or null with hostError() set. */
export function finishCall(result: i32, out: ArrayBuffer): ArrayBuffer | null {
  if (result >= 0) {
    lastError = 0;
    return result == out.byteLength ? out : out.slice(0, result);
  }
  if (result == -HOST_TOO_SMALL) return takeHeldResult();
  lastError = -result;
  return null;
}

/** The response the host held back with -HOST_TOO_SMALL, or null (hostError() HOST_NO_RESULT). */
export function takeHeldResult(): ArrayBuffer | null {
  const size = gojinn.result_take(0, 0);
  if (size < 0) {
    lastError = -size;
    return null;
  }
  const full = new ArrayBuffer(size);
  gojinn.result_take(changetype<usize>(full), <usize>size);
  lastError = 0;
  return full;
}

/** A fresh output buffer of the first capacity the wrappers try. */
export function firstOut(): ArrayBuffer {
  return new ArrayBuffer(FIRST_OUT_CAPACITY);
}
