import { GojinnError } from '@gojinn/errors';
import type { InvocationOutcome, InvocationSpec } from '../runtime/types.ts';
import { Deque } from './deque.ts';
import type { HostHandler } from './host-call-server.ts';
import { RESULT_POLL_MS, resolvePoolOptions, type PoolOptions } from './pool-options.ts';
import { nextSeq } from './shared-state.ts';
import { WorkerSlot, type ExitCause, type PoolInvocation, type PooledModule } from './worker-slot.ts';

export interface RunOptions {
  /** Serves the guest side's `callHost` for this invocation; without it every host call is denied. */
  hostHandler?: HostHandler;
}

export interface CloseOptions {
  /** true: run everything already accepted first. false (default): reject what has not started. */
  drain?: boolean;
}

/** Workers that die while starting, in a row, before the pool gives up (a broken runner or install). */
const MAX_CONSECUTIVE_START_FAILURES = 3;

/**
 * A bounded pool of worker threads running invocations with a per-invocation wall-clock
 * timeout. `run()` never queues more than `maxQueue` invocations beyond one per worker; a
 * worker that times out or dies is replaced and the work it had not started runs elsewhere.
 */
export class WorkerPool {
  readonly options: Readonly<PoolOptions>;
  readonly #slots = new Set<WorkerSlot>();
  readonly #queue = new Deque<PoolInvocation>();
  /** Accepted and not settled: queued, handed to a worker, or running. */
  #pending = 0;
  #seq = 0;
  #restarts = 0;
  #startFailures = 0;
  #dispatchScheduled = false;
  #pollTimer: NodeJS.Timeout | undefined;
  #closing: { drain: boolean; done: Promise<void>; resolve: () => void } | undefined;
  #broken: GojinnError | undefined;
  #readyWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(options: Partial<PoolOptions> = {}) {
    this.options = Object.freeze(resolvePoolOptions(options));
    for (let i = 0; i < this.options.size; i++) this.#spawn();
  }

  /** Invocations accepted and not yet running (waiting in the pool or in a worker's pipeline). */
  get queueDepth(): number {
    let waiting = this.#queue.length;
    for (const slot of this.#slots) if (slot.load > 1) waiting += slot.load - 1;
    return waiting;
  }

  /** Workers with at least one invocation handed to them. */
  get busyWorkers(): number {
    let busy = 0;
    for (const slot of this.#slots) if (slot.load > 0) busy++;
    return busy;
  }

  /** Workers alive now (starting or ready); equals `options.size` except briefly during a replacement. */
  get poolSize(): number {
    let live = 0;
    for (const slot of this.#slots) if (slot.live) live++;
    return live;
  }

  /** Workers that have started and take invocations (at most `options.size`). */
  get readyWorkers(): number {
    let ready = 0;
    for (const slot of this.#slots) if (slot.accepting) ready++;
    return ready;
  }

  /** Workers replaced after a timeout or an unexpected exit, since the pool started. */
  get workerRestarts(): number {
    return this.#restarts;
  }

  /** Resolves once every worker has started (loaded its runner); rejects if the pool broke or closed. */
  ready(): Promise<void> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    if (this.#closing !== undefined)
      return Promise.reject(new GojinnError('overloaded', 'worker pool is closed'));
    if (this.#allReady()) return Promise.resolve();
    const waiter = Promise.withResolvers<void>();
    this.#readyWaiters.push(waiter);
    return waiter.promise;
  }

  /**
   * Runs one invocation. Resolves with its outcome — including `timeout`, and `internal` or
   * `memory_limit` when its worker died. Rejects at once with `overloaded` when the queue is
   * full or the pool is closed, `bad_request` when module and spec disagree.
   */
  run(module: PooledModule, spec: InvocationSpec, options: RunOptions = {}): Promise<InvocationOutcome> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    if (this.#closing !== undefined) {
      return Promise.reject(new GojinnError('overloaded', 'worker pool is closed'));
    }
    if (this.#pending >= this.options.size + this.options.maxQueue) {
      return Promise.reject(
        new GojinnError('overloaded', `queue is full (maxQueue ${this.options.maxQueue})`),
      );
    }
    if (module.hash !== spec.moduleHash) {
      return Promise.reject(
        new GojinnError(
          'bad_request',
          `module hash ${module.hash} does not match spec.moduleHash ${spec.moduleHash}`,
        ),
      );
    }
    const timeoutMs = spec.limits.timeoutMs;
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(
        new GojinnError('bad_request', `timeoutMs must be a positive number, got ${timeoutMs}`),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<InvocationOutcome>();
    this.#queue.push({
      module,
      spec: ownBytes(spec),
      hostHandler: options.hostHandler,
      controller: undefined,
      resolve,
      reject,
    });
    this.#pending++;
    // Alone in the pool, it goes to an idle worker now (one message, no extra turn of the event
    // loop). Beside other work it waits for the batched dispatch, which hands everything that
    // arrived in this turn over in one message per worker: waking a worker per invocation cost
    // the main thread 12–18% more CPU per invocation at 10 in flight.
    if (this.#pending === 1 && this.#hasIdleWorker()) this.#dispatch();
    else this.#scheduleDispatch();
    return promise;
  }

  #hasIdleWorker(): boolean {
    for (const slot of this.#slots) if (slot.accepting && slot.load === 0) return true;
    return false;
  }

  /**
   * Stops accepting work and terminates the workers once they are idle. Without `drain`,
   * invocations that have not started reject with `overloaded`; running ones finish (each
   * bounded by its timeout). Resolves when every worker has exited.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing !== undefined) return this.#closing.done;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#closing = { drain: options.drain === true, done: promise, resolve };
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) waiter.reject(new GojinnError('overloaded', 'worker pool is closed'));
    if (!this.#closing.drain) {
      for (const invocation of this.#queue.clear()) this.#rejectUnstarted(invocation);
    }
    this.#stopIdleWorkers();
    return promise;
  }

  #spawn(): void {
    const slot = new WorkerSlot(this.options, {
      ready: () => {
        this.#startFailures = 0;
        this.#scheduleDispatch();
        this.#notifyReady();
      },
      settled: (_slot, invocation, outcome) => this.#settle(invocation, outcome),
      stopping: () => this.#replace(),
      exited: (exited, unstarted, cause) => this.#onSlotExited(exited, unstarted, cause),
    });
    this.#slots.add(slot);
  }

  /** Keeps capacity: a timed-out worker is replaced at once, a crashed one when its exit is handled. */
  #replace(): void {
    this.#restarts++;
    if (this.#broken === undefined && (this.#closing === undefined || this.#closing.drain)) this.#spawn();
  }

  #onSlotExited(slot: WorkerSlot, unstarted: PoolInvocation[], cause: ExitCause): void {
    this.#slots.delete(slot);
    if (cause === 'failed_to_start' && ++this.#startFailures >= MAX_CONSECUTIVE_START_FAILURES) {
      this.#broken ??= new GojinnError('internal', 'internal error: pool workers fail to start');
    }
    if (this.#broken !== undefined) {
      for (const invocation of [...unstarted, ...this.#queue.clear()])
        this.#rejectWith(invocation, this.#broken);
      this.#notifyReady();
    } else if (this.#closing !== undefined && !this.#closing.drain) {
      for (const invocation of unstarted) this.#rejectUnstarted(invocation);
    } else {
      this.#queue.unshiftAll(unstarted);
    }
    if (cause !== 'stopped') this.#replace();
    this.#scheduleDispatch();
    this.#checkClosed();
  }

  #allReady(): boolean {
    let ready = 0;
    for (const slot of this.#slots) if (slot.accepting) ready++;
    return ready >= this.options.size;
  }

  #notifyReady(): void {
    if (this.#readyWaiters.length === 0) return;
    if (this.#broken === undefined && !this.#allReady()) return;
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) {
      if (this.#broken === undefined) waiter.resolve();
      else waiter.reject(this.#broken);
    }
  }

  #settle(invocation: PoolInvocation, outcome: InvocationOutcome): void {
    this.#pending--;
    invocation.controller?.abort();
    invocation.resolve(outcome);
    this.#scheduleDispatch();
  }

  #rejectUnstarted(invocation: PoolInvocation): void {
    this.#rejectWith(
      invocation,
      new GojinnError('overloaded', 'worker pool closed before the invocation started'),
    );
  }

  #rejectWith(invocation: PoolInvocation, error: GojinnError): void {
    this.#pending--;
    invocation.controller?.abort();
    invocation.reject(error);
  }

  /**
   * Dispatch waits for the check phase (setImmediate) so that every result that arrived in
   * this turn of the event loop frees its capacity first, and refills go out as one message
   * per worker instead of one per task.
   */
  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    setImmediate(() => {
      this.#dispatchScheduled = false;
      this.#dispatch();
      if (this.#closing !== undefined) this.#stopIdleWorkers();
    });
  }

  /** Deals queued invocations round-robin, one per worker per pass, up to pipelineDepth each. */
  #dispatch(): void {
    if (this.#queue.length === 0) return;
    const open = [...this.#slots].filter((slot) => slot.accepting && slot.load < this.options.pipelineDepth);
    if (this.#closing !== undefined && !this.#closing.drain) return;
    if (open.length === 0) return;
    // Least loaded first, so a small burst spreads over idle workers.
    open.sort((a, b) => a.load - b.load);
    const batches = open.map(() => [] as PoolInvocation[]);
    let progress = true;
    while (this.#queue.length > 0 && progress) {
      progress = false;
      for (let i = 0; i < open.length && this.#queue.length > 0; i++) {
        const slot = open[i] as WorkerSlot;
        const batch = batches[i] as PoolInvocation[];
        if (slot.load + batch.length >= this.options.pipelineDepth) continue;
        batch.push(this.#queue.shift() as PoolInvocation);
        progress = true;
      }
    }
    const allocateSeq = (): number => (this.#seq = nextSeq(this.#seq));
    open.forEach((slot, i) => slot.assign(batches[i] as PoolInvocation[], allocateSeq));
    this.#armPoll();
  }

  /** Drains the outcome rings every RESULT_POLL_MS while any worker has work, and only then. */
  #armPoll(): void {
    if (this.#pollTimer !== undefined) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = undefined;
      let busy = false;
      for (const slot of this.#slots) {
        slot.drainResults();
        if (slot.load > 0) busy = true;
      }
      if (busy) this.#armPoll();
    }, RESULT_POLL_MS);
  }

  #stopIdleWorkers(): void {
    const closing = this.#closing;
    if (closing === undefined) return;
    if (closing.drain && this.#pending > 0) return;
    for (const slot of this.#slots) slot.requestStop();
    this.#checkClosed();
  }

  #checkClosed(): void {
    if (this.#closing !== undefined && this.#slots.size === 0) this.#closing.resolve();
  }
}

/** A stdin view into a larger buffer would clone that whole buffer into the worker. */
function ownBytes(spec: InvocationSpec): InvocationSpec {
  const { stdin } = spec;
  if (stdin.byteOffset === 0 && stdin.byteLength === stdin.buffer.byteLength) return spec;
  return { ...spec, stdin: stdin.slice() };
}
