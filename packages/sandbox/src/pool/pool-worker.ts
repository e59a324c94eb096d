/**
 * Entry point of one pool worker thread. Runs the tasks the main thread hands it, strictly in
 * the order received, one at a time; writes each outcome to the shared outcome ring as soon as
 * it exists (so a later timeout on this worker cannot lose it) and rings the doorbell every
 * `doorbellEvery` outcomes or when it runs out of work. Before starting a task it claims the
 * shared RUNNING word; once the main thread has claimed it instead, the worker starts nothing
 * more and waits to be terminated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toErrorInfo } from '@gojinn/errors';
import type { HostImports, InvocationOutcome } from '../runtime/types.ts';
import { attachHostBridge, setActiveTask } from './call-host.ts';
import { failedOutcome } from './invocation-failure.ts';
import type { RunBatchMessage, TaskMessage, WorkerInit, WorkerMessage } from './protocol.ts';
import { encodeOutcome } from './outcome-codec.ts';
import { ResultRing } from './result-ring.ts';
import { CLAIMED, RUNNING, STARTED_AT_F64, STOP, sharedNow, viewSharedState } from './shared-state.ts';
import { isHostImports, isPoolTaskRunner, type PoolTaskRunner } from './task-runner.ts';

interface CachedModule {
  module: WebAssembly.Module;
  info: unknown;
  warmed: boolean;
}

interface QueuedTask {
  message: TaskMessage;
  /** Resolved at receipt, so an eviction ordered by a later task cannot take it away. */
  cached: CachedModule | undefined;
}

const init = workerData as WorkerInit;
const input = parentPort;
if (input === null) throw new Error('pool-worker must run in a worker thread');
const shared = viewSharedState(init.shared);
const ring = new ResultRing(init.results);
/** Outcomes in the ring the main thread has not been told about. */
let unannounced = 0;
attachHostBridge(init.port, shared, init.maxHostCallPayloadBytes);

const runner: PoolTaskRunner = await loadRunner(init.runnerUrl);
const hostImports =
  init.hostImportsUrl === undefined ? undefined : await loadHostImports(init.hostImportsUrl);

async function loadRunner(url: string): Promise<PoolTaskRunner> {
  const loaded = (await import(url)) as { runner?: unknown };
  if (!isPoolTaskRunner(loaded.runner))
    throw new Error(`${url} does not export a PoolTaskRunner named runner`);
  return loaded.runner;
}

async function loadHostImports(url: string): Promise<HostImports> {
  const loaded = (await import(url)) as { hostImports?: unknown };
  if (!isHostImports(loaded.hostImports))
    throw new Error(`${url} does not export HostImports named hostImports`);
  return loaded.hostImports;
}

/** Eviction is decided by the main thread, which mirrors this cache to know what to send. */
const cache = new Map<string, CachedModule>();
let queue: QueuedTask[] = [];
let stopped = false;

function post(message: WorkerMessage): void {
  init.port.postMessage(message);
}

function deliver(seq: number, outcome: InvocationOutcome): void {
  const bytes = encodeOutcome(outcome);
  if (bytes !== undefined && bytes.byteLength <= ring.maxRecordBytes && ring.tryWrite(seq, bytes)) {
    unannounced++;
  } else {
    post({ type: 'done', seq, outcome });
  }
}

function ringDoorbell(runningDry: boolean): void {
  if (unannounced > 0 && (runningDry || unannounced >= init.doorbellEvery)) {
    unannounced = 0;
    post({ type: 'results' });
  }
}

function receive(batch: RunBatchMessage): void {
  for (const task of batch.tasks) {
    for (const hash of task.evict ?? []) cache.delete(hash);
    const hash = task.spec.moduleHash;
    if (task.module !== undefined) {
      cache.set(hash, { module: task.module, info: task.info, warmed: false });
    }
    queue.push({ message: task, cached: cache.get(hash) });
  }
  if (!stopped) runQueued();
}

function runOne(task: QueuedTask): InvocationOutcome {
  const { spec } = task.message;
  const started = performance.now();
  try {
    const cached = task.cached;
    if (cached === undefined) {
      throw new Error(`module ${spec.moduleHash} missing from the worker cache`);
    }
    if (!cached.warmed) {
      runner.warm?.(cached.module, cached.info);
      cached.warmed = true;
    }
    return normalise(runner.run(cached.module, cached.info, spec, hostImports));
  } catch (error) {
    return failedOutcome(spec, toErrorInfo(error), performance.now() - started);
  }
}

/** A stderr view into a larger buffer would clone the whole buffer; send only its bytes. */
function normalise(outcome: InvocationOutcome): InvocationOutcome {
  const { stderr } = outcome;
  if (stderr.byteOffset !== 0 || stderr.byteLength !== stderr.buffer.byteLength) {
    return { ...outcome, stderr: stderr.slice() };
  }
  return outcome;
}

/** Claims this worker for termination once the main thread asked it to stop. */
function parkIfStopping(): boolean {
  if (Atomics.load(shared.i32, STOP) === 0) return false;
  stopped = true;
  // If the main thread claimed first it is terminating us already and needs no message.
  if (Atomics.compareExchange(shared.i32, RUNNING, 0, CLAIMED) === 0) post({ type: 'parked' });
  return true;
}

function runQueued(): void {
  const tasks = queue;
  queue = [];
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i] as QueuedTask;
    const { seq } = task.message;
    if (parkIfStopping()) return;
    // Start time first, then the claim: whoever reads RUNNING === seq also sees its start.
    shared.f64[STARTED_AT_F64] = sharedNow();
    if (Atomics.compareExchange(shared.i32, RUNNING, 0, seq) !== 0) {
      stopped = true;
      return;
    }
    setActiveTask(seq);
    const outcome = runOne(task);
    setActiveTask(0);
    deliver(seq, outcome);
    Atomics.compareExchange(shared.i32, RUNNING, seq, 0);
    // Messages cannot arrive during this loop: the last task here leaves the worker idle.
    ringDoorbell(i === tasks.length - 1);
  }
  parkIfStopping();
}

runner.warmUp?.();
input.on('message', receive);
post({ type: 'ready' });
