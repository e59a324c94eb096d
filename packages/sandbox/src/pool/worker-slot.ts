import { getCompileCacheDir } from 'node:module';
import { dirname } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { ErrorInfo } from '@gojinn/errors';
import type { InvocationOutcome, InvocationSpec } from '../runtime/types.ts';
import { serveHostCall, type HostCallOwner, type HostHandler } from './host-call-server.ts';
import { failedOutcome } from './invocation-failure.ts';
import { ModuleCacheMirror } from './module-cache-mirror.ts';
import type { PoolOptions } from './pool-options.ts';
import type { RunBatchMessage, TaskMessage, WorkerInit, WorkerMessage } from './protocol.ts';
import { decodeOutcome } from './outcome-codec.ts';
import { ResultRing, createResultRing } from './result-ring.ts';
import {
  CLAIMED,
  RUNNING,
  STARTED_AT_F64,
  STOP,
  createSharedState,
  sharedNow,
  viewSharedState,
  type SharedState,
} from './shared-state.ts';

/** A module compiled on the main thread, ready to be posted to workers (compiled code is shared). */
export interface PooledModule {
  /** Hex sha-256 of the module bytes; must equal `spec.moduleHash`. */
  readonly hash: string;
  readonly module: WebAssembly.Module;
  /** Plain data the runner needs beside the module (structured-cloned once per worker). */
  readonly info?: unknown;
}

/** One accepted invocation, from `run()` until it settles. */
export interface PoolInvocation extends HostCallOwner {
  readonly module: PooledModule;
  readonly spec: InvocationSpec;
  readonly hostHandler: HostHandler | undefined;
  controller: AbortController | undefined;
  resolve(outcome: InvocationOutcome): void;
  reject(error: Error): void;
}

export interface WorkerSlotEvents {
  /** The worker loaded its runner and can take tasks. */
  ready(slot: WorkerSlot): void;
  settled(slot: WorkerSlot, invocation: PoolInvocation, outcome: InvocationOutcome): void;
  /** The slot gave up its worker (timeout): the pool may start a replacement now. */
  stopping(slot: WorkerSlot): void;
  /**
   * The worker has exited and every message it sent has been handled. `unstarted` never began
   * running and can run elsewhere.
   */
  exited(slot: WorkerSlot, unstarted: PoolInvocation[], cause: ExitCause): void;
}

/** `stopped`: the pool or a timeout stopped it. `crashed`: it died on its own after starting. */
export type ExitCause = 'stopped' | 'crashed' | 'failed_to_start';

/** pool-worker.ts behind a plain-JS entry that shares the main thread's compile cache. */
const POOL_WORKER_URL = new URL('./worker-entry.mjs', import.meta.url);

/**
 * The directory to hand to `module.enableCompileCache` for the main thread's cache: Node puts
 * the cache one level down, in a directory named after its version, and adds that level again.
 */
function compileCacheBase(): string | undefined {
  const dir = getCompileCacheDir();
  return dir === undefined ? undefined : dirname(dir);
}

/** setTimeout treats delays above 2^31-1 ms as 1 ms; longer waits are re-armed on expiry. */
const MAX_TIMER_DELAY_MS = 0x7fffffff;

/** `failing`: terminated by the main thread after a protocol fault; its exit counts as a crash. */
type SlotState = 'starting' | 'ready' | 'failing' | 'stopping' | 'exited';

interface StopReason {
  /** The task that was running when the worker was claimed, or 0 if it was idle. */
  seq: number;
  error: ErrorInfo | undefined;
  /** ms the stopped task had run, for its outcome. */
  ranMs: number;
}

/**
 * One worker thread and everything the main thread knows about it: the tasks handed to it in
 * order, a mirror of its module cache, its shared control word, and a watchdog timer that
 * enforces each task's wall-clock timeout from the moment the worker started it.
 */
export class WorkerSlot {
  readonly #options: PoolOptions;
  readonly #events: WorkerSlotEvents;
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #shared: SharedState;
  readonly #results: ResultRing;
  readonly #mirror: ModuleCacheMirror;
  /** Tasks handed to the worker and not settled, by seq, in the order the worker runs them. */
  readonly #assigned = new Map<number, PoolInvocation>();
  #state: SlotState = 'starting';
  #timer: NodeJS.Timeout | undefined;
  /** When the armed watchdog fires (shared clock ms); Infinity when none is armed. */
  #timerDueAt = Infinity;
  #stop: StopReason | undefined;
  #exitError: unknown;
  /** Set when the outcome ring held something undecodable: it is not read again. */
  #ringBroken = false;

  constructor(options: PoolOptions, events: WorkerSlotEvents) {
    this.#options = options;
    this.#events = events;
    const buffer = createSharedState(
      Math.max(options.maxHostCallPayloadBytes, options.maxHostCallResultBytes),
    );
    this.#shared = viewSharedState(buffer);
    this.#mirror = new ModuleCacheMirror(options.moduleCacheSize);
    const results = createResultRing(options.resultRingBytes);
    this.#results = new ResultRing(results);
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const init: WorkerInit = {
      port: port2,
      shared: buffer,
      results,
      doorbellEvery: Math.max(1, Math.floor(options.pipelineDepth / 2)),
      runnerUrl: options.runnerUrl.href,
      hostImportsUrl: options.hostImportsUrl?.href,
      maxHostCallPayloadBytes: options.maxHostCallPayloadBytes,
      compileCacheDir: compileCacheBase(),
    };
    this.#worker = new Worker(POOL_WORKER_URL, {
      name: 'gojinn-pool',
      workerData: init,
      transferList: [port2],
      resourceLimits: { stackSizeMb: options.stackSizeMb, maxOldGenerationSizeMb: options.maxHeapMb },
    });
    this.#port.on('message', (message: WorkerMessage) => this.#onMessage(message));
    this.#worker.on('error', (error) => {
      this.#exitError = error;
    });
    this.#worker.on('exit', (code) => this.#onExit(code));
  }

  /** Tasks handed to this worker and not settled (the running one included). */
  get load(): number {
    return this.#assigned.size;
  }

  get accepting(): boolean {
    return this.#state === 'ready';
  }

  /** Starting or ready: not being stopped. */
  get live(): boolean {
    return this.#state === 'starting' || this.#state === 'ready';
  }

  get exited(): boolean {
    return this.#state === 'exited';
  }

  /** Hands `invocations` to the worker in one message; they run in this order. */
  assign(invocations: readonly PoolInvocation[], allocateSeq: () => number): void {
    if (invocations.length === 0) return;
    const tasks: TaskMessage[] = [];
    for (const invocation of invocations) {
      const seq = allocateSeq();
      this.#assigned.set(seq, invocation);
      const task: TaskMessage = { seq, spec: invocation.spec };
      const evict = this.#mirror.use(invocation.module.hash);
      if (evict !== undefined) {
        task.module = invocation.module.module;
        task.info = invocation.module.info;
        if (evict.length > 0) task.evict = evict;
      }
      tasks.push(task);
    }
    const batch: RunBatchMessage = { tasks };
    this.#worker.postMessage(batch);
    // No task can start before now, so no deadline is earlier than now + its timeout.
    let earliest = Infinity;
    for (const invocation of invocations) earliest = Math.min(earliest, invocation.spec.limits.timeoutMs);
    this.#armAt(sharedNow() + earliest);
  }

  /**
   * Asks the worker to start nothing more and terminates it as soon as it is idle: at once if
   * it is between tasks, otherwise when it reports `parked` after its running task.
   */
  requestStop(): void {
    if (!this.live) return;
    Atomics.store(this.#shared.i32, STOP, 1);
    const running = Atomics.compareExchange(this.#shared.i32, RUNNING, 0, CLAIMED);
    if (running === 0 || running === CLAIMED) this.#beginStop({ seq: 0, error: undefined, ranMs: 0 });
  }

  #onMessage(message: WorkerMessage): void {
    switch (message.type) {
      case 'parked':
        if (this.live) this.#beginStop({ seq: 0, error: undefined, ranMs: 0 });
        return;
      case 'ready':
        if (this.#state === 'starting') {
          this.#state = 'ready';
          this.#events.ready(this);
        }
        return;
      case 'results':
        this.drainResults();
        return;
      case 'done':
        this.#finish(message.seq, message.outcome);
        return;
      case 'host': {
        const invocation = this.#assigned.get(message.seq);
        if (invocation === undefined || this.#state !== 'ready') return;
        serveHostCall(
          this.#shared,
          message,
          invocation,
          this.#options,
          () => this.#state === 'ready' && this.#assigned.get(message.seq) === invocation,
        );
        return;
      }
    }
  }

  /** Settles every invocation whose outcome is waiting in the ring. */
  drainResults(): void {
    if (this.#assigned.size === 0 || this.#ringBroken) return;
    try {
      this.#results.drain((seq, bytes) => this.#finish(seq, decodeOutcome(bytes)));
    } catch (error) {
      // Only a bug writes a record that does not decode. Treat it as this worker crashing:
      // its running task fails with internal, the rest run elsewhere, the pool goes on.
      this.#ringBroken = true;
      this.#exitError = error;
      if (this.#state === 'ready') {
        this.#state = 'failing';
        void this.#worker.terminate();
      }
    }
  }

  #finish(seq: number, outcome: InvocationOutcome): void {
    const invocation = this.#assigned.get(seq);
    if (invocation === undefined) return;
    this.#assigned.delete(seq);
    if (this.#assigned.size === 0) this.#disarm();
    this.#events.settled(this, invocation, outcome);
  }

  /** Arms the watchdog for `dueAt` (shared clock), unless a check is already due no later. */
  #armAt(dueAt: number): void {
    if (this.#timer !== undefined && this.#timerDueAt <= dueAt) return;
    this.#disarm();
    this.#timerDueAt = dueAt;
    const delay = Math.min(Math.max(1, Math.ceil(dueAt - sharedNow())), MAX_TIMER_DELAY_MS);
    this.#timer = setTimeout(() => this.#checkDeadline(), delay);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDueAt = Infinity;
  }

  /**
   * Runs when the earliest possible deadline passes: stops the worker if its running task is
   * past its deadline, else looks again at the next moment one could be — the running task's
   * deadline, or for a task not started yet, now plus its whole timeout.
   */
  #checkDeadline(): void {
    this.#timer = undefined;
    this.#timerDueAt = Infinity;
    if (this.#state !== 'ready' || this.#assigned.size === 0) return;
    const now = sharedNow();
    const running = Atomics.load(this.#shared.i32, RUNNING);
    const invocation = running > 0 ? this.#assigned.get(running) : undefined;
    let next = Infinity;
    if (invocation !== undefined) {
      const startedAt = this.#shared.f64[STARTED_AT_F64] ?? now;
      const timeoutMs = invocation.spec.limits.timeoutMs;
      const ranMs = now - startedAt;
      if (ranMs >= timeoutMs) {
        if (Atomics.compareExchange(this.#shared.i32, RUNNING, running, CLAIMED) === running) {
          const error: ErrorInfo = { code: 'timeout', message: `exceeded timeout ${timeoutMs} ms` };
          this.#beginStop({ seq: running, error, ranMs });
          this.#events.stopping(this);
          return;
        }
        next = now; // it finished just now; look at the next task
      } else {
        next = startedAt + timeoutMs;
      }
    }
    for (const [seq, waiting] of this.#assigned) {
      if (seq !== running) next = Math.min(next, now + waiting.spec.limits.timeoutMs);
    }
    this.#armAt(next);
  }

  #beginStop(reason: StopReason): void {
    this.#state = 'stopping';
    this.#stop = reason;
    this.#disarm();
    // terminate() interrupts running wasm and a blocked Atomics.wait; 'exit' follows.
    void this.#worker.terminate();
  }

  #onExit(exitCode: number): void {
    const cause: ExitCause =
      this.#state === 'stopping' ? 'stopped' : this.#state === 'starting' ? 'failed_to_start' : 'crashed';
    this.#state = 'exited';
    this.#disarm();
    // Every outcome the worker wrote or posted before it died is still in the ring or queued on
    // our port: take them now, before deciding what was running.
    this.drainResults();
    for (
      let received = receiveMessageOnPort(this.#port);
      received;
      received = receiveMessageOnPort(this.#port)
    ) {
      const message = received.message as WorkerMessage;
      if (message.type === 'done') this.#finish(message.seq, message.outcome);
    }
    this.#port.close();
    const stop = this.#stop;
    const running = stop?.seq ?? Atomics.load(this.#shared.i32, RUNNING);
    const unstarted: PoolInvocation[] = [];
    for (const [seq, invocation] of this.#assigned) {
      if (seq !== running || running <= 0) {
        unstarted.push(invocation);
      } else if (stop?.error !== undefined) {
        this.#events.settled(this, invocation, failedOutcome(invocation.spec, stop.error, stop.ranMs));
      } else {
        const ranMs = sharedNow() - (this.#shared.f64[STARTED_AT_F64] ?? 0);
        this.#events.settled(
          this,
          invocation,
          failedOutcome(invocation.spec, this.#crashError(exitCode), ranMs),
        );
      }
    }
    this.#assigned.clear();
    this.#events.exited(this, unstarted, cause);
  }

  #crashError(exitCode: number): ErrorInfo {
    const code = (this.#exitError as { code?: unknown } | undefined)?.code;
    if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return {
        code: 'memory_limit',
        message: `worker ran out of JS heap (maxHeapMb ${this.#options.maxHeapMb}) and was replaced`,
      };
    }
    return { code: 'internal', message: `internal error: worker exited unexpectedly (code ${exitCode})` };
  }
}
