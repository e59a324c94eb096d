import { GojinnError } from '@gojinn/errors';
import type { DbLimits } from './db-limits.ts';
import type { DbStatement } from './db-request.ts';
import { DbExecutor } from './db-executor.ts';
import type { ExecutorLimits } from './executor-protocol.ts';
import { atDeadline, type DeadlineTimer } from '../deadline-timer.ts';

/** One request for the pool: the database file, the statements, and when it must be done. */
export interface DbQuery {
  path: string;
  statements: readonly DbStatement[];
  /** Epoch ms: the invocation's deadline. The pool also applies `maxQueryMs`. */
  deadline: number;
  /** Aborted when the invocation ends: a queued query is dropped, a running one stopped. */
  signal?: AbortSignal;
}

/** Something the operator should know about an executor (for the node's log; no query data). */
export interface DbExecutorEvent {
  executor: number;
  event: 'exit';
  code: number | null;
  signal: string | null;
  /** False for a crash; true for a kill at a deadline or a shutdown. */
  expected: boolean;
}

export interface DbPoolStats {
  executors: number;
  running: number;
  queued: number;
  /** Executor processes killed at a query's deadline since the pool started. */
  deadlineKills: number;
}

interface Pending {
  query: DbQuery;
  deadline: number;
  resolve: (json: string) => void;
  reject: (error: Error) => void;
  timer: DeadlineTimer;
  onAbort: () => void;
}

/**
 * A fixed set of SQLite executor processes shared by every module, and the queue in front of
 * them. A module's requests run one at a time, in the order they came (two executors never hold
 * the same file at once); different modules run in parallel. A long query occupies one
 * executor until its deadline and never the node's main thread.
 */
export class DbExecutorPool {
  readonly #limits: Readonly<DbLimits>;
  readonly #executors: DbExecutor[];
  /** Which executor last served a file: it has the connection open, so it is preferred. */
  readonly #lastExecutor = new Map<string, number>();
  readonly #runningPaths = new Set<string>();
  readonly #queue: Pending[] = [];
  #closed = false;
  #warming: Promise<void> | undefined;

  constructor(limits: Readonly<DbLimits>, onEvent: (event: DbExecutorEvent) => void = () => {}) {
    this.#limits = limits;
    const executorLimits: ExecutorLimits = {
      maxSqlBytes: limits.maxSqlBytes,
      maxParams: limits.maxParams,
      maxValueBytes: limits.maxValueBytes,
      maxRows: limits.maxRows,
      maxResultBytes: limits.maxResultBytes,
      maxDatabaseBytes: limits.maxDatabaseBytes,
      maxOpenDatabases: limits.maxOpenDatabases,
      executorHeapBytes: limits.executorHeapBytes,
    };
    this.#executors = Array.from(
      { length: limits.executors },
      (_, index) =>
        new DbExecutor(executorLimits, (exit) => onEvent({ executor: index, event: 'exit', ...exit })),
    );
  }

  get stats(): DbPoolStats {
    return {
      executors: this.#executors.length,
      running: this.#executors.filter((executor) => executor.busy).length,
      queued: this.#queue.length,
      deadlineKills: this.#executors.reduce((sum, executor) => sum + executor.kills, 0),
    };
  }

  /**
   * Starts every executor process (the first query does it too, in the background; a node may
   * call this at start-up so that the first query does not wait ~0.3 s for a process).
   */
  async warm(): Promise<void> {
    this.#warming ??= Promise.all(this.#executors.map((executor) => executor.start())).then(() => {});
    await this.#warming;
  }

  /**
   * Runs one request; resolves to its response JSON. Rejects with `overloaded` when
   * maxQueuedRequests are already waiting, `timeout` at the deadline, and the executor's errors.
   */
  query(query: DbQuery): Promise<string> {
    if (this.#closed) return Promise.reject(new GojinnError('overloaded', 'db is closed'));
    if (query.signal?.aborted === true) {
      return Promise.reject(new GojinnError('timeout', 'db request not run: its invocation already ended'));
    }
    const runsNow = !this.#runningPaths.has(query.path) && this.#idleExecutor(query.path) !== undefined;
    if (this.#queue.length >= this.#limits.maxQueuedRequests && !runsNow) {
      return Promise.reject(
        new GojinnError(
          'overloaded',
          `db queue is full (limit maxQueuedRequests is ${this.#limits.maxQueuedRequests})`,
        ),
      );
    }
    if (this.#warming === undefined) this.warm().catch(() => {});
    const deadline = Math.min(query.deadline, Date.now() + this.#limits.maxQueryMs);
    return new Promise<string>((resolve, reject) => {
      const pending: Pending = {
        query,
        deadline,
        resolve,
        reject,
        timer: atDeadline(deadline, () =>
          this.#drop(pending, 'db request reached its deadline while waiting for an executor'),
        ),
        onAbort: () => this.#drop(pending, 'db request dropped: its invocation ended while it waited'),
      };
      query.signal?.addEventListener('abort', pending.onAbort, { once: true });
      this.#queue.push(pending);
      this.#dispatch();
    });
  }

  /** Stops every executor (running requests fail with `overloaded`) and refuses new requests. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#queue.splice(0)) {
      this.#settle(pending);
      pending.reject(new GojinnError('overloaded', 'db closed before the request ran'));
    }
    await Promise.all(this.#executors.map((executor) => executor.close()));
  }

  /**
   * An idle executor for `path`: the one that last served it (its connection is open) if it is
   * ready, else any ready one, else one still starting (after a deadline kill, say).
   */
  #idleExecutor(path: string): number | undefined {
    const preferred = this.#lastExecutor.get(path);
    const candidate = preferred === undefined ? undefined : this.#executors[preferred];
    if (preferred !== undefined && candidate?.busy === false && candidate.ready) return preferred;
    const ready = this.#executors.findIndex((executor) => !executor.busy && executor.ready);
    if (ready !== -1) return ready;
    const idle = this.#executors.findIndex((executor) => !executor.busy);
    return idle === -1 ? undefined : idle;
  }

  #dispatch(): void {
    for (let i = 0; i < this.#queue.length;) {
      const pending = this.#queue[i];
      if (pending === undefined) break;
      if (this.#runningPaths.has(pending.query.path)) {
        i++; // that module's previous request is still running: keep its order
        continue;
      }
      const index = this.#idleExecutor(pending.query.path);
      if (index === undefined) return;
      const executor = this.#executors[index];
      if (executor === undefined) return;
      this.#queue.splice(i, 1);
      this.#start(pending, executor, index);
    }
  }

  #start(pending: Pending, executor: DbExecutor, index: number): void {
    const { path } = pending.query;
    this.#settle(pending);
    this.#runningPaths.add(path);
    this.#lastExecutor.set(path, index);
    void executor
      .run({ path, statements: pending.query.statements, deadline: pending.deadline }, pending.query.signal)
      .then(pending.resolve, pending.reject)
      .then(() => executor.killedProcessGone())
      .finally(() => {
        this.#runningPaths.delete(path);
        this.#dispatch();
      });
  }

  /** A queued request that will never run: out of the queue, rejected with `timeout`. */
  #drop(pending: Pending, message: string): void {
    const index = this.#queue.indexOf(pending);
    if (index === -1) return;
    this.#queue.splice(index, 1);
    this.#settle(pending);
    pending.reject(new GojinnError('timeout', message));
  }

  /** Clears what a pending request holds while queued (its timer and abort listener). */
  #settle(pending: Pending): void {
    pending.timer.cancel();
    pending.query.signal?.removeEventListener('abort', pending.onAbort);
  }
}
