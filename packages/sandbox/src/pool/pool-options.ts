import { availableParallelism } from 'node:os';
import { GojinnError } from '@gojinn/errors';

/**
 * Named limits and knobs of the worker pool. docs/sandbox-pool.md gives the reasons and the
 * measurements behind each default.
 */
export interface PoolOptions {
  /** Worker threads kept running. */
  size: number;
  /**
   * Invocations accepted beyond one per worker, waiting for a worker to start them (including
   * those already handed to a worker's pipeline). `run()` past it rejects with `overloaded`.
   */
  maxQueue: number;
  /**
   * Invocations handed to one worker at a time (the running one included). More than 1 lets a
   * worker start the next task without a message round trip; a timeout re-queues the unstarted.
   */
  pipelineDepth: number;
  /** Compiled modules each worker keeps (LRU by content hash). */
  moduleCacheSize: number;
  /** Native stack of each worker thread, MiB (V8 `stackSizeMb`): room for the guest's call-depth budget. */
  stackSizeMb: number;
  /** JS heap (old generation) of each worker, MiB. Guest linear memory is outside it. */
  maxHeapMb: number;
  /**
   * Bytes of each worker's outcome ring (the shared buffer finished outcomes travel through).
   * An outcome too large for the free space goes by postMessage instead, so this bounds memory,
   * not outcome size.
   */
  resultRingBytes: number;
  /** Largest payload a guest-side `callHost` may send to the main thread, in bytes. */
  maxHostCallPayloadBytes: number;
  /** Largest result a host handler may return to the guest side, in bytes. */
  maxHostCallResultBytes: number;
  /**
   * Module (URL) the workers load to run one invocation; it must export `runner`, a
   * `PoolTaskRunner`. The default runs the sandbox runtime (`runInvocation`).
   */
  runnerUrl: URL;
  /**
   * Module (URL) the workers load for the guest's `gojinn.*` host functions; it must export
   * `hostImports` (HostImports), normally functions that forward to the main thread through
   * `callHost`. Without it a guest importing a host function beyond `log` fails to link.
   */
  hostImportsUrl: URL | undefined;
}

/** Longest host method name carried over the bridge, in UTF-16 code units. */
export const MAX_HOST_METHOD_LENGTH = 128;

/**
 * While any worker is busy, the main thread drains the outcome rings at least this often (ms).
 * Workers ring a doorbell only every few outcomes or when they run out of work, so this bounds
 * how long a finished outcome can wait behind a long-running invocation on the same worker.
 */
export const RESULT_POLL_MS = 2;

export const DEFAULT_POOL_OPTIONS: Readonly<Omit<PoolOptions, 'size' | 'runnerUrl' | 'hostImportsUrl'>> =
  Object.freeze({
    maxQueue: 1024,
    pipelineDepth: 8,
    moduleCacheSize: 128,
    stackSizeMb: 8,
    maxHeapMb: 128,
    resultRingBytes: 256 * 1024,
    maxHostCallPayloadBytes: 1024 * 1024,
    maxHostCallResultBytes: 1024 * 1024,
  });

export function defaultPoolSize(): number {
  return availableParallelism();
}

export const DEFAULT_RUNNER_URL = new URL('./runtime-runner.ts', import.meta.url);

function requireInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new GojinnError(
      'bad_request',
      `pool option ${name} must be an integer in [${min}, ${max}], got ${value}`,
    );
  }
  return value;
}

/** Fills in defaults and rejects values outside what the pool can honour. */
export function resolvePoolOptions(options: Partial<PoolOptions> = {}): PoolOptions {
  const merged: PoolOptions = {
    ...DEFAULT_POOL_OPTIONS,
    size: defaultPoolSize(),
    runnerUrl: DEFAULT_RUNNER_URL,
    hostImportsUrl: undefined,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  requireInteger('size', merged.size, 1, 1024);
  requireInteger('maxQueue', merged.maxQueue, 0, 1 << 24);
  requireInteger('pipelineDepth', merged.pipelineDepth, 1, 1024);
  requireInteger('moduleCacheSize', merged.moduleCacheSize, 1, 1 << 16);
  requireInteger('stackSizeMb', merged.stackSizeMb, 1, 1024);
  requireInteger('maxHeapMb', merged.maxHeapMb, 16, 1 << 16);
  requireInteger('resultRingBytes', merged.resultRingBytes, 4096, 1 << 30);
  requireInteger('maxHostCallPayloadBytes', merged.maxHostCallPayloadBytes, 0, 1 << 30);
  requireInteger('maxHostCallResultBytes', merged.maxHostCallResultBytes, 0, 1 << 30);
  if (!(merged.runnerUrl instanceof URL)) {
    throw new GojinnError('bad_request', 'pool option runnerUrl must be a URL');
  }
  if (merged.hostImportsUrl !== undefined && !(merged.hostImportsUrl instanceof URL)) {
    throw new GojinnError('bad_request', 'pool option hostImportsUrl must be a URL');
  }
  return merged;
}
