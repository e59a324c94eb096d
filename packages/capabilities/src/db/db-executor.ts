import { fork, type ChildProcess } from 'node:child_process';
import { GojinnError } from '@gojinn/errors';
import { atDeadline, type DeadlineTimer } from '../deadline-timer.ts';
import type { DbStatement } from './db-request.ts';
import type { ExecutorLimits, ExecutorReply, ExecutorRequest, QueryFailure } from './executor-protocol.ts';

const EXECUTOR_ENTRY = new URL('./executor-process.ts', import.meta.url);

/** Time an executor process gets to start and answer `init`, ms. */
export const EXECUTOR_START_TIMEOUT_MS = 30_000;
/** Past a query's deadline, the executor's own watchdog kills it if the node has not (ms). */
export const EXECUTOR_SELF_KILL_GRACE_MS = 1000;

/** One query for an executor. `deadline` is epoch ms; at that moment the query is stopped. */
export interface ExecutorJob {
  path: string;
  statements: readonly DbStatement[];
  deadline: number;
}

/** A query that failed inside the executor (SQL error, policy denial, limit): the failure as data. */
export class QueryFailedError extends Error {
  override readonly name = 'QueryFailedError';
  readonly failure: QueryFailure;
  constructor(failure: QueryFailure) {
    super(failure.message);
    this.failure = failure;
  }
}

interface Running {
  id: number;
  resolve: (json: string) => void;
  reject: (error: Error) => void;
  timer: DeadlineTimer;
  /** True once the process has the query. */
  sent: boolean;
}

/**
 * The node's handle on one SQLite executor process (executor-process.ts). Runs one query at a
 * time; at the query's deadline it SIGKILLs the process — the only way to stop a statement
 * inside SQLite from JavaScript — and starts a fresh one. SQLite's write-ahead log makes the
 * kill safe: an interrupted transaction is rolled back the next time the file is opened.
 */
export class DbExecutor {
  readonly #limits: ExecutorLimits;
  readonly #onExit: (info: { code: number | null; signal: string | null; expected: boolean }) => void;
  #child: ChildProcess | undefined;
  #ready: Promise<void> | undefined;
  #isReady = false;
  #dying: Promise<void> | undefined;
  #running: Running | undefined;
  #nextId = 1;
  #closed = false;
  /** Processes this executor killed at a deadline (for metrics). */
  kills = 0;

  constructor(
    limits: ExecutorLimits,
    onExit: (info: { code: number | null; signal: string | null; expected: boolean }) => void = () => {},
  ) {
    this.#limits = limits;
    this.#onExit = onExit;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** True while a started process is waiting for queries (not starting, not replaced after a kill). */
  get ready(): boolean {
    return this.#isReady && this.#child !== undefined;
  }

  /** Starts the process if none is running; resolves when it is ready for queries. */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new GojinnError('overloaded', 'db executor is closed'));
    this.#ready ??= this.#spawn();
    return this.#ready;
  }

  /**
   * Runs one query; resolves to the response JSON. Rejects with QueryFailedError (SQL error,
   * policy denial, a limit), GojinnError `timeout` at the deadline, or `internal` if the process
   * died. Only one query at a time: the pool never calls this while `busy`.
   */
  run(job: ExecutorJob, signal?: AbortSignal): Promise<string> {
    if (this.#running !== undefined) throw new Error('DbExecutor.run while busy');
    const id = this.#nextId++;
    return new Promise<string>((resolve, reject) => {
      const stop = (message: string): void => {
        const running = this.#running;
        if (running?.id !== id) return;
        this.#fail(new GojinnError('timeout', message));
        // Once SQLite has the query, killing the process is the only way to stop it.
        if (running.sent) {
          this.kills++;
          this.#kill();
        }
      };
      const timer = atDeadline(job.deadline, () =>
        stop(
          'db request stopped at its deadline (the invocation timeout or maxQueryMs); its transaction was rolled back',
        ),
      );
      const onAbort = (): void =>
        stop('db request stopped: its invocation ended; its transaction was rolled back');
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#running = {
        id,
        resolve: (json) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(json);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
        timer,
        sent: false,
      };
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      this.start().then(
        () => {
          const running = this.#running;
          if (running?.id !== id || this.#child === undefined) return;
          const message: ExecutorRequest = { type: 'query', id, ...job };
          running.sent = true;
          this.#child.send(message);
        },
        (error: unknown) => this.#fail(error instanceof Error ? error : new Error(String(error))),
      );
    });
  }

  /** Closes the process: politely when idle (it closes its databases), by SIGKILL when busy. */
  async close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (this.busy) {
      this.#fail(new GojinnError('overloaded', 'db executor closed while a request was running'));
      child.kill('SIGKILL');
    } else if (child.connected) {
      child.disconnect();
    } else {
      child.kill('SIGKILL');
    }
    await exited;
  }

  #spawn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const child = fork(EXECUTOR_ENTRY, [], {
        // No environment: the executor must not see the master key or anything else of the node's.
        env: {},
        execArgv: ['--disable-warning=ExperimentalWarning', '--max-old-space-size=64'],
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      });
      this.#child = child;
      const startTimer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new GojinnError('internal', 'db executor did not start in time'));
      }, EXECUTOR_START_TIMEOUT_MS);
      child.on('message', (reply: ExecutorReply) => {
        if (reply.type === 'ready') {
          clearTimeout(startTimer);
          if (this.#child === child) this.#isReady = true;
          resolve();
          return;
        }
        const running = this.#running;
        if (running === undefined || running.id !== reply.id) return;
        this.#running = undefined;
        running.timer.cancel();
        if (reply.ok) running.resolve(reply.json);
        else running.reject(new QueryFailedError(reply.failure));
      });
      child.on('error', () => {
        // A failed spawn or send; the exit handler (or the start timer) settles what is pending.
      });
      child.once('exit', (code, signal) => {
        clearTimeout(startTimer);
        reject(new GojinnError('internal', 'db executor exited during start-up'));
        // A process this executor killed (at a deadline) has already been replaced: its exit
        // must not touch the query its successor may be running.
        const current = this.#child === child;
        if (current) {
          this.#child = undefined;
          this.#ready = undefined;
          this.#isReady = false;
          this.#fail(new GojinnError('internal', 'db executor process exited while running a request'));
        }
        this.#onExit({ code, signal, expected: !current || this.#closed });
      });
      const init: ExecutorRequest = {
        type: 'init',
        limits: this.#limits,
        selfKillGraceMs: EXECUTOR_SELF_KILL_GRACE_MS,
      };
      child.send(init);
    });
  }

  /** Rejects the running query (if any) with `error`. */
  #fail(error: Error): void {
    const running = this.#running;
    if (running === undefined) return;
    this.#running = undefined;
    running.timer.cancel();
    running.reject(error);
  }

  /** SIGKILLs the process (at a deadline) and starts the next one straight away. */
  #kill(): void {
    const child = this.#child;
    this.#child = undefined;
    this.#ready = undefined;
    this.#isReady = false;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      this.#dying = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
    }
    if (!this.#closed) this.start().catch(() => {});
  }

  /**
   * Resolves once a process this executor killed has exited. Until then the OS has not released
   * its file locks: the next request for the same database waits for this rather than spin on
   * SQLite's busy handler.
   */
  async killedProcessGone(): Promise<void> {
    await this.#dying;
  }
}
