import type { MessagePort } from 'node:worker_threads';
import type { InvocationOutcome, InvocationSpec } from '../runtime/types.ts';

/** What a worker receives in `workerData`. */
export interface WorkerInit {
  /** Worker → main channel (results and host calls); drained synchronously when the worker dies. */
  port: MessagePort;
  shared: SharedArrayBuffer;
  /** The outcome ring (result-ring.ts). */
  results: SharedArrayBuffer;
  /** Outcomes written to the ring before the worker rings the doorbell (also when it runs dry). */
  doorbellEvery: number;
  runnerUrl: string;
  hostImportsUrl: string | undefined;
  maxHostCallPayloadBytes: number;
  /**
   * The main thread's compile cache (`module.getCompileCacheDir()`), which worker-entry.mjs
   * turns on in the worker before it loads any TypeScript; undefined when the main thread has none.
   */
  compileCacheDir: string | undefined;
}

/** One invocation handed to a worker. `module` travels only the first time that worker needs it. */
export interface TaskMessage {
  seq: number;
  spec: InvocationSpec;
  /** Present when the module enters this worker's cache. */
  module?: WebAssembly.Module;
  info?: unknown;
  /** Hashes to drop from the worker's cache before this task's module enters it. */
  evict?: string[];
}

/** Main → worker: run these in order. */
export interface RunBatchMessage {
  tasks: TaskMessage[];
}

/** Worker → main. */
export type WorkerMessage =
  | { type: 'ready' }
  /** The worker saw STOP, claimed itself and starts nothing more: terminate it. */
  | { type: 'parked' }
  /** Outcomes are waiting in the ring. */
  | { type: 'results' }
  /** An outcome that did not fit the ring. */
  | { type: 'done'; seq: number; outcome: InvocationOutcome }
  /** A host call waiting in the shared mailbox; `method` is validated on the main side. */
  | { type: 'host'; seq: number; callId: number; method: string };
