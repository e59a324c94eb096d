/**
 * The named limits and costs of the host-call layer, with their defaults. docs/capabilities.md
 * lists each one with its reason; each has a test at the limit.
 */

/**
 * Largest request a guest may pass to one capability call, in bytes. Equal to the pool's default
 * `maxHostCallPayloadBytes`: a larger request is refused in the worker with `-LIMIT` before
 * anything crosses to the main thread. (A pool configured lower fails such a call with
 * `output_limit` instead; configure it at least this high.)
 */
export const HOST_CALL_MAX_REQUEST_BYTES = 1024 * 1024;

/** Bytes of the reply header the dispatcher puts before a response (status i32, flags u32). */
export const REPLY_HEADER_BYTES = 8;

/**
 * Largest response one capability call may return, in bytes: the pool's default
 * `maxHostCallResultBytes` (1 MiB) less the reply header. A handler returning more gives the
 * guest `-LIMIT`.
 */
export const HOST_CALL_MAX_RESPONSE_BYTES = 1024 * 1024 - REPLY_HEADER_BYTES;

/**
 * Fuel charged by the host-imports module for every call that crosses to the main thread (log,
 * debug_event and every capability call), on top of the sandbox's HOST_CALL_FUEL (50) that every
 * `gojinn` call pays. A round trip costs the node tens of microseconds: priced like ~10k
 * instructions, so a guest cannot buy unbounded host work with cheap calls.
 */
export const HOST_CALL_BASE_FUEL = 10_000n;

/** Fuel charged per byte a host call moves: request bytes before the call, response bytes after it. */
export const HOST_CALL_BYTE_FUEL = 1n;

/**
 * Longest guest log message or debug event kept, in bytes of UTF-8. A longer one is cut here
 * (at a character boundary) and logged with `truncated: true`; only this much leaves the worker.
 */
export const MAX_LOG_MESSAGE_BYTES = 4096;
