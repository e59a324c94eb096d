import type { Capability } from './capabilities.ts';

/**
 * The import module every Gojinn host function lives in. Each function belongs to exactly one
 * capability, or to the always-linked core (`log`, `result_take`); importing a function links it
 * only when its capability is granted. docs/guest-abi.md documents signatures, memory ownership,
 * error numbers and limits for guest authors in any language.
 */
export const HOST_MODULE = 'gojinn';

/** wasm value types as they appear in host function signatures. */
export type WasmValueType = 'i32' | 'i64';

/**
 * What importing a host function requires: a capability, or `'log'` — the always-linked core
 * (the name predates `result_take`; both core functions are granted to every module).
 */
export type HostFunctionRequirement = Capability | 'log';

export interface HostFunctionSpec {
  /** The capability that must be granted to import this function; 'log' = always available. */
  capability: HostFunctionRequirement;
  params: readonly WasmValueType[];
  results: readonly WasmValueType[];
}

/**
 * The one signature of every capability call: `fn(req_ptr, req_len, out_ptr, out_cap) → i32`.
 * The guest owns both buffers; the host reads `req_len` bytes at `req_ptr` during the call and
 * writes at most `out_cap` bytes at `out_ptr`. A result ≥ 0 is the number of response bytes
 * written; < 0 is a negated HOST_ERRNO value. A response larger than `out_cap` is not written:
 * the call returns `-TOO_SMALL` and the host holds the response for `result_take`.
 */
const CAPABILITY_CALL: Pick<HostFunctionSpec, 'params' | 'results'> = Object.freeze({
  params: Object.freeze(['i32', 'i32', 'i32', 'i32'] as const),
  results: Object.freeze(['i32'] as const),
});

function call(capability: Capability): HostFunctionSpec {
  return Object.freeze({ capability, ...CAPABILITY_CALL });
}

function core(params: readonly WasmValueType[]): HostFunctionSpec {
  return Object.freeze({
    capability: 'log',
    params: Object.freeze([...params]),
    results: CAPABILITY_CALL.results,
  });
}

/** Name → spec. docs/guest-abi.md, "Host functions", gives each request and response format. */
export const HOST_FUNCTIONS: Readonly<Record<string, HostFunctionSpec>> = Object.freeze({
  // Core, always linked.
  /** log(level, msg_ptr, msg_len) → 0 or -errno: one structured log line (rate- and size-limited). */
  log: core(['i32', 'i32', 'i32']),
  /**
   * result_take(out_ptr, out_cap) → n or -errno: the response a call held back with -TOO_SMALL.
   * n is its full size; it is written (and released) only when n ≤ out_cap, so
   * `result_take(0, 0)` asks for the size. -NO_RESULT when nothing is held.
   */
  result_take: core(['i32', 'i32']),
  // kv.read
  kv_get: call('kv.read'),
  kv_list: call('kv.read'),
  // kv.write
  kv_set: call('kv.write'),
  kv_delete: call('kv.write'),
  // db.query
  db_query: call('db.query'),
  // net.http
  http_request: call('net.http'),
  // secrets.read
  secret_get: call('secrets.read'),
  // debug.enable
  debug_event: call('debug.enable'),
});

/**
 * Host error numbers: a failing host call returns `-HOST_ERRNO.X` to the guest. Stable: a value
 * is never reused for another meaning. Every capability shares this one table.
 */
export const HOST_ERRNO = Object.freeze({
  /** The call is outside the module's granted scope (key prefix, host, secret name). Logged as a security event. */
  DENIED: 1,
  /** No such key, secret or row. */
  NOT_FOUND: 2,
  /** The response is larger than out_cap: nothing was written; result_take retrieves it. */
  TOO_SMALL: 3,
  /** The request bytes are malformed (bad framing, empty key, invalid UTF-8 where text is required). */
  INVALID: 4,
  /** A size limit was exceeded (key, value, message, page size, response size). */
  LIMIT: 5,
  /** The module's storage quota (keys or bytes) would be exceeded; nothing was written. */
  QUOTA: 6,
  /** Too many calls of this kind in this invocation or per module; try less often. */
  RATE: 7,
  /** result_take found no held response. */
  NO_RESULT: 8,
  /** The host could not complete the call (backend failure); details are in the node's log. */
  UNAVAILABLE: 9,
  /** The invocation's deadline passed before the host finished. */
  TIMEOUT: 10,
  /** The remote side failed (an HTTP connection error, a refused upstream). */
  UPSTREAM: 11,
} as const);

export type HostErrnoName = keyof typeof HOST_ERRNO;
export type HostErrno = (typeof HOST_ERRNO)[HostErrnoName];

const ERRNO_NAMES: ReadonlyMap<number, HostErrnoName> = new Map(
  (Object.entries(HOST_ERRNO) as [HostErrnoName, number][]).map(([name, value]) => [value, name]),
);

/** The name of a host error number (positive), or undefined when it is not one. */
export function hostErrnoName(errno: number): HostErrnoName | undefined {
  return ERRNO_NAMES.get(errno);
}

/** The capability that importing `gojinn.<name>` requires, or undefined for an unknown name. */
export function capabilityOfHostFunction(name: string): HostFunctionRequirement | undefined {
  return Object.hasOwn(HOST_FUNCTIONS, name) ? HOST_FUNCTIONS[name]?.capability : undefined;
}
