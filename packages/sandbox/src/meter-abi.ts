/**
 * The contract between the module rewriter (which instruments guest code) and the runtime
 * (which instantiates it). The rewriter adds these exports to every prepared module; the
 * runtime sets them before running any guest code and reads them after.
 *
 * Why exported globals and not imported host functions: a trap raised by the instrumented
 * code itself (`unreachable` after a failed check) costs nothing on the hot path and adds no
 * function imports, so function indices in the guest stay as they were. After any trap the
 * runtime reads the globals to tell fuel exhaustion, stack overflow and a denied
 * `memory.grow` apart from an ordinary guest trap.
 *
 * Guest modules may not export names starting with RESERVED_EXPORT_PREFIX (invalid_module).
 */
export const RESERVED_EXPORT_PREFIX = '__gojinn_';

export const METER_EXPORTS = {
  /** Mutable i64: fuel remaining. Set to the invocation's fuel before the start function; < 0 ⇒ fuel_exhausted. */
  fuel: '__gojinn_fuel',
  /** Mutable i32: call-stack budget remaining, in stack units (see docs/sandbox-rewriter.md); < 0 ⇒ stack_overflow. */
  stack: '__gojinn_stack',
  /** Mutable i32: memory ceiling in 64 KiB pages for this invocation; `memory.grow` past it returns -1. */
  memoryLimitPages: '__gojinn_memory_limit_pages',
  /** Mutable i32: 0, or the page count a denied `memory.grow` asked for (the first one denied). */
  memoryDenied: '__gojinn_memory_denied',
  /** Function: the module's original start function, which the rewriter removed from the start section so it runs metered after the fuel is set. Absent when the module had none. */
  start: '__gojinn_start',
  /**
   * Function [] -> [i32], present in every prepared module that defines functions: returns 1
   * after putting every mutable global (the guest's and the meter's) back to its initial value
   * when the module's instances may be reused, or 0 without changing anything when they may
   * not (wasm/reset-function.ts; docs/sandbox.md, "Instance reuse").
   */
  reset: '__gojinn_reset',
} as const;
