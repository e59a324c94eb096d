/**
 * Every limit the sandbox enforces, with its name and default. docs/limits.md documents each
 * one; every limit has a test at the limit. Values a caller passes are clamped to the node's
 * own ceilings (see `clampToCeilings`), never widened.
 */

/** Static limits checked when a module is prepared (validation). Exceeding one ⇒ invalid_module. */
export interface ModuleLimits {
  /** Largest accepted module, in bytes. */
  maxModuleBytes: number;
  /** Functions defined plus imported. */
  maxFunctions: number;
  /** Globals defined plus imported. */
  maxGlobals: number;
  /** Tables defined plus imported. */
  maxTables: number;
  /** Initial and maximum size of any table, in elements; also the ceiling `table.grow` can reach. */
  maxTableElements: number;
  /** Data segments. */
  maxDataSegments: number;
  /** Element segments. */
  maxElementSegments: number;
  /** Imports of any kind. */
  maxImports: number;
  /** Exports of any kind. */
  maxExports: number;
  /** Type section entries. */
  maxTypes: number;
  /** Parameters plus locals of one function (bounds its stack frame). */
  maxLocalsPerFunction: number;
  /** Size of one function body, in bytes. */
  maxFunctionBodyBytes: number;
}

/** Per-invocation limits. The node's config sets defaults and ceilings; a caller may only lower them. */
export interface InvocationLimits {
  /** Fuel units an invocation may consume (start function, `_start` and host calls together). */
  fuel: bigint;
  /** Hard ceiling on linear memory, in bytes (a multiple of 64 KiB). */
  memoryBytes: number;
  /** Wall-clock time, in milliseconds, after which a running guest is stopped. */
  timeoutMs: number;
  /** Bytes of stdout kept; a guest writing more fails with output_limit. */
  maxStdoutBytes: number;
  /** Bytes of stderr kept; the rest is dropped and marked as truncated. */
  maxStderrBytes: number;
  /** Bytes of request (stdin) handed to the guest. */
  maxStdinBytes: number;
}

export const WASM_PAGE_BYTES = 65536;

/** Pages of a 32-bit memory (4 GiB): no memory, declared or granted, has more. */
export const MAX_MEMORY_PAGES = 65536;

export const DEFAULT_MODULE_LIMITS: Readonly<ModuleLimits> = Object.freeze({
  maxModuleBytes: 16 * 1024 * 1024,
  maxFunctions: 100_000,
  maxGlobals: 10_000,
  maxTables: 16,
  maxTableElements: 100_000,
  maxDataSegments: 100_000,
  maxElementSegments: 10_000,
  maxImports: 1_000,
  maxExports: 10_000,
  maxTypes: 10_000,
  maxLocalsPerFunction: 10_000,
  maxFunctionBodyBytes: 4 * 1024 * 1024,
});

export const DEFAULT_INVOCATION_LIMITS: Readonly<InvocationLimits> = Object.freeze({
  fuel: 1_000_000_000n,
  memoryBytes: 64 * 1024 * 1024,
  timeoutMs: 5_000,
  maxStdoutBytes: 1024 * 1024,
  maxStderrBytes: 64 * 1024,
  maxStdinBytes: 1024 * 1024,
});

/** Returns `requested` with every field lowered to at most the matching ceiling. */
export function clampToCeilings(
  requested: Partial<InvocationLimits>,
  ceilings: InvocationLimits,
): InvocationLimits {
  const min = <T extends number | bigint>(a: T | undefined, b: T): T => (a === undefined || a > b ? b : a);
  return {
    fuel: min(requested.fuel, ceilings.fuel),
    memoryBytes: min(requested.memoryBytes, ceilings.memoryBytes),
    timeoutMs: min(requested.timeoutMs, ceilings.timeoutMs),
    maxStdoutBytes: min(requested.maxStdoutBytes, ceilings.maxStdoutBytes),
    maxStderrBytes: min(requested.maxStderrBytes, ceilings.maxStderrBytes),
    maxStdinBytes: min(requested.maxStdinBytes, ceilings.maxStdinBytes),
  };
}

/**
 * The most any invocation can be given, whatever a config or flag says: 2^63-1 fuel (the fuel
 * global is a signed i64), 4 GiB of memory (a 32-bit memory), one hour, 64 MiB of stdout and
 * of request. `gojinn run` uses these as its ceilings (the operator runs it on their own behalf).
 */
export const MAX_INVOCATION_LIMITS: Readonly<InvocationLimits> = Object.freeze({
  fuel: 2n ** 63n - 1n,
  memoryBytes: MAX_MEMORY_PAGES * WASM_PAGE_BYTES,
  timeoutMs: 60 * 60 * 1000,
  maxStdoutBytes: 64 * 1024 * 1024,
  maxStderrBytes: 64 * 1024 * 1024,
  maxStdinBytes: 64 * 1024 * 1024,
});
