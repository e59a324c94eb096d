/**
 * A PoolTaskRunner that answers, for every task, the compile cache directory of the worker
 * thread it runs in (`module.getCompileCacheDir()`, null when there is none).
 */
import { getCompileCacheDir } from 'node:module';
import type { InvocationOutcome, InvocationSpec } from '../src/runtime/types.ts';
import type { PoolTaskRunner } from '../src/pool/task-runner.ts';

export const runner: PoolTaskRunner = {
  run(_module: WebAssembly.Module, _info: unknown, spec: InvocationSpec): InvocationOutcome {
    return {
      ok: true,
      response: { status: 200, headers: {}, body: JSON.stringify({ dir: getCompileCacheDir() ?? null }) },
      fuelUsed: 0n,
      durationMs: 0,
      seed: spec.seed,
      stderr: new Uint8Array(0),
      stderrTruncated: false,
      deterministic: true,
    };
  },
};
