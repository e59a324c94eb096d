import type { MessagePort } from 'node:worker_threads';
import type { InvocationOutcome, InvocationSpec } from '../runtime/types.ts';

/** What a worker receives in `workerData`. */
export interface WorkerInit {
  /** Worker → main channel (results and host calls); drained synchronously when the worker dies. */
  port: MessagePort;
  shared: SharedArrayBuffer;
  runnerUrl: string;
  maxHostCallPayloadBytes: number;
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
  | { type: 'done'; seq: number; outcome: InvocationOutcome }
  /** A host call waiting in the shared mailbox; `method` is validated on the main side. */
  | { type: 'host'; seq: number; callId: number; method: string };
