/**
 * Host-side costs and bounds of the WASI shim. Guest code pays fuel for its own instructions
 * (the rewriter's instrumentation); these constants make the work the host does on the guest's
 * behalf count against the same budget, so a guest cannot buy unbounded host work with a
 * cheap call. docs/wasi.md explains each value.
 */

/** Fuel charged for every WASI call, before it does anything (roughly the cost of a host call in wasm instructions). */
export const WASI_CALL_FUEL = 50n;

/**
 * Fuel charged per byte the shim moves between the guest and the host (stdin/stdout/stderr
 * bytes, iovec and subscription records, random bytes, clock values written back).
 */
export const WASI_BYTE_FUEL = 1n;

/**
 * Most iovecs one `fd_read`/`fd_write` accepts; more ⇒ EINVAL, as POSIX `readv`/`writev` do
 * above IOV_MAX (wasi-libc's IOV_MAX is 1024).
 */
export const MAX_IOVECS = 1024;

/** Most subscriptions one `poll_oneoff` accepts; more ⇒ EINVAL. Bounds host work per call. */
export const MAX_POLL_SUBSCRIPTIONS = 1024;

/** argv[0] shown to a guest when the invocation does not name the module. */
export const DEFAULT_PROGRAM_NAME = 'gojinn-guest';
