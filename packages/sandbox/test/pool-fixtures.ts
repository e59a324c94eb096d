/** Shared helpers for the pool tests: WAT guests, specs, and a pool on the fixture runner. */
import { createHash } from 'node:crypto';
import wabtInit from 'wabt';
import { DEFAULT_INVOCATION_LIMITS } from '../src/limits.ts';
import type { InvocationOutcome, InvocationSpec } from '../src/runtime/types.ts';
import type { PoolOptions } from '../src/pool/pool-options.ts';
import { WorkerPool } from '../src/pool/worker-pool.ts';
import type { PooledModule } from '../src/pool/worker-slot.ts';
import type { FixtureReply } from './pool-fixture-runner.ts';

const wabt = await wabtInit();

export const FIXTURE_RUNNER_URL = new URL('./pool-fixture-runner.ts', import.meta.url);

export function compileWat(wat: string): PooledModule {
  const parsed = wabt.parseWat('fixture.wat', wat);
  const bytes = parsed.toBinary({}).buffer;
  parsed.destroy();
  return {
    hash: createHash('sha256').update(bytes).digest('hex'),
    module: new WebAssembly.Module(bytes),
  };
}

export const GUESTS = {
  /** Returns at once. */
  hello: () => compileWat('(module (func (export "run")))'),
  /** A distinct trivial module per `tag`, for cache tests. */
  tagged: (tag: number) =>
    compileWat(`(module (func (export "run")) (global (export "tag") i32 (i32.const ${tag})))`),
  /** Loops forever in `run`. */
  spin: () => compileWat('(module (func (export "run") (loop (br 0))))'),
  /** Loops forever in its start function, during instantiation. */
  spinInStart: () => compileWat('(module (func $s (loop (br 0))) (start $s))'),
  /** Makes the host calls listed in stdin, then returns. */
  hostCaller: () =>
    compileWat('(module (import "fixture" "call_host" (func $c)) (func (export "run") (call $c)))'),
  /** Ends its worker thread with process.exit(7). */
  exitThread: () =>
    compileWat(
      '(module (import "fixture" "exit" (func $e (param i32))) (func (export "run") (call $e (i32.const 7))))',
    ),
  /** Fills the worker's JS heap until V8 kills the thread. */
  exhaustHeap: () =>
    compileWat('(module (import "fixture" "exhaust_heap" (func $h)) (func (export "run") (call $h)))'),
};

export interface FixtureCall {
  method: string;
  size: number;
  fill: number;
}

export function specFor(
  module: PooledModule,
  options: { timeoutMs?: number; calls?: FixtureCall[] } = {},
): InvocationSpec {
  return {
    moduleHash: module.hash,
    stdin: new TextEncoder().encode(JSON.stringify({ calls: options.calls ?? [] })),
    limits: { ...DEFAULT_INVOCATION_LIMITS, timeoutMs: options.timeoutMs ?? 5_000 },
    seed: '00'.repeat(32),
    granted: [],
  };
}

export function fixturePool(options: Partial<PoolOptions> = {}): WorkerPool {
  return new WorkerPool({ size: 2, runnerUrl: FIXTURE_RUNNER_URL, ...options });
}

export function replyOf(outcome: InvocationOutcome): FixtureReply {
  if (!outcome.ok || outcome.response === undefined) {
    throw new Error(`invocation failed: ${JSON.stringify(outcome.error)}`);
  }
  return JSON.parse(outcome.response.body) as FixtureReply;
}

/** Resolves after `ms` (for letting a worker get stuck; never used to assert durations). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A host handler that holds every call until `open()`; `entered` resolves on the first call,
 * which proves the invocation is running (not queued) at that moment.
 */
export function gate(): {
  handler: (method: string, payload: Uint8Array) => Promise<Uint8Array>;
  entered: Promise<void>;
  open: () => void;
  calls: () => number;
} {
  const opened = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  let calls = 0;
  return {
    handler: async (_method, payload) => {
      calls++;
      entered.resolve();
      await opened.promise;
      return payload;
    },
    entered: entered.promise,
    open: () => opened.resolve(),
    calls: () => calls,
  };
}

/** One host call of `size` bytes: the guest blocks in it until the handler answers. */
export const ONE_CALL: FixtureCall[] = [{ method: 'wait', size: 1, fill: 1 }];
