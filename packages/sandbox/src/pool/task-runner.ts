import type { HostImports, InvocationOutcome, InvocationSpec } from '../runtime/types.ts';

/**
 * What a pool worker does with one task. The worker loads it from `PoolOptions.runnerUrl`
 * (a module exporting `runner`), so the pool itself knows nothing of how an invocation runs.
 */
export interface PoolTaskRunner {
  /**
   * Once when the worker starts, before it reports ready: warms this thread's own code paths
   * (JS compiled per thread) so the worker's first real invocation is not the slow one.
   * Must not run guest code. A throw means the worker cannot start.
   */
  warmUp?(): void;
  /**
   * Once per module entering this worker's cache, inside the timeout of the first task that
   * uses it there. Compiled wasm is shared through the Module, so this is for per-thread work.
   */
  warm?(module: WebAssembly.Module, info: unknown): void;
  /**
   * Runs one invocation to completion. `host` holds the functions loaded from
   * PoolOptions.hostImportsUrl (undefined without one). A throw becomes the invocation's error
   * (`internal` unless it is a GojinnError).
   */
  run(
    module: WebAssembly.Module,
    info: unknown,
    spec: InvocationSpec,
    host: HostImports | undefined,
  ): InvocationOutcome;
}

export function isPoolTaskRunner(value: unknown): value is PoolTaskRunner {
  if (typeof value !== 'object' || value === null) return false;
  const { run, warm, warmUp } = value as Record<string, unknown>;
  const optional = (fn: unknown): boolean => fn === undefined || typeof fn === 'function';
  return typeof run === 'function' && optional(warm) && optional(warmUp);
}

/** What a module named by PoolOptions.hostImportsUrl exports: worker-side functions built on `callHost`. */
export function isHostImports(value: unknown): value is HostImports {
  if (typeof value !== 'object' || value === null) return false;
  return Object.values(value).every((fn) => typeof fn === 'function');
}
