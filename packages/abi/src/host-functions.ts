import type { Capability } from './capabilities.ts';

/**
 * The import module every Gojinn host function lives in. Each function belongs to exactly one
 * capability (or to `log`, which every module has); importing a function links it only when
 * its capability is granted. docs/guest-abi.md documents signatures and memory ownership.
 */
export const HOST_MODULE = 'gojinn';

/** wasm value types as they appear in host function signatures. */
export type WasmValueType = 'i32' | 'i64';

export interface HostFunctionSpec {
  /** The capability that must be granted to import this function; 'log' is always available. */
  capability: Capability | 'log';
  params: readonly WasmValueType[];
  results: readonly WasmValueType[];
}

/**
 * Name → spec. The signatures follow one convention (docs/guest-abi.md): pointers and lengths
 * are i32 offsets into the guest's exported `memory`; a result i32 ≥ 0 is a length or status,
 * < 0 is a negated host error number (HOST_ERRNO).
 */
export const HOST_FUNCTIONS: Readonly<Record<string, HostFunctionSpec>> = Object.freeze({
  // log: always linked
  log: { capability: 'log', params: ['i32', 'i32', 'i32'], results: ['i32'] },
  // kv.read
  kv_get: { capability: 'kv.read', params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] },
  kv_list: { capability: 'kv.read', params: ['i32', 'i32', 'i32', 'i32', 'i32'], results: ['i32'] },
  // kv.write
  kv_set: { capability: 'kv.write', params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] },
  kv_delete: { capability: 'kv.write', params: ['i32', 'i32'], results: ['i32'] },
  // db.query
  db_query: { capability: 'db.query', params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] },
  // net.http
  http_request: { capability: 'net.http', params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] },
  // secrets.read
  secret_get: { capability: 'secrets.read', params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] },
  // debug.enable
  debug_event: { capability: 'debug.enable', params: ['i32', 'i32'], results: ['i32'] },
});

/** The capability that importing `gojinn.<name>` requires, or undefined for an unknown name. */
export function capabilityOfHostFunction(name: string): Capability | 'log' | undefined {
  return Object.hasOwn(HOST_FUNCTIONS, name) ? HOST_FUNCTIONS[name]?.capability : undefined;
}
