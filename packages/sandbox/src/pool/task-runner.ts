import type { InvocationOutcome, InvocationSpec } from '../runtime/types.ts';

/**
 * What a pool worker does with one task. The worker loads it from `PoolOptions.runnerUrl`
 * (a module exporting `runner`), so the pool itself knows nothing of how an invocation runs.
 * Both methods run inside the task's timeout.
 */
export interface PoolTaskRunner {
  /** Once per module entering this worker's cache, before its first invocation there. */
  warm?(module: WebAssembly.Module, info: unknown): void;
  /** Runs one invocation to completion. A throw becomes the invocation's error (`internal` unless a GojinnError). */
  run(module: WebAssembly.Module, info: unknown, spec: InvocationSpec): InvocationOutcome;
}

export function isPoolTaskRunner(value: unknown): value is PoolTaskRunner {
  if (typeof value !== 'object' || value === null) return false;
  const { run, warm } = value as Record<string, unknown>;
  return typeof run === 'function' && (warm === undefined || typeof warm === 'function');
}
