/**
 * Entry point of one SQLite executor process (forked by DbExecutor). It holds an LRU of open
 * module databases and runs one query at a time, synchronously, on its main thread.
 *
 * Why a process: node:sqlite has no way to interrupt a running statement (no progress handler,
 * no sqlite3_interrupt), and `worker.terminate()` cannot stop a thread while it is inside
 * SQLite's C code — measured: a recursive CTE kept a terminated worker running indefinitely. A
 * process can always be killed, and SQLite's journal makes a kill mid-write safe.
 *
 * The process gets no environment from the node (no master key, no tokens): the node forks it
 * with an empty `env`.
 */
import { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import type { ExecutorLimits, ExecutorReply, ExecutorRequest, QueryFailure } from './executor-protocol.ts';
import { ModuleDatabase, QueryError } from './module-database.ts';

if (process.send === undefined) {
  process.stderr.write('executor-process: must be forked with an IPC channel\n');
  process.exit(2);
}

// Database files (and their -wal/-shm companions) are the module's data: owner-only.
process.umask(0o077);

const send = (reply: ExecutorReply): void => {
  process.send?.(reply);
};

let limits: ExecutorLimits | undefined;
/** Open databases by path; Map order is recency (a hit is re-inserted at the end). */
const open = new Map<string, ModuleDatabase>();
/** The running query's deadline for the watchdog thread; 0 while idle. */
const deadline = new Float64Array(new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT));

function database(path: string, current: ExecutorLimits): ModuleDatabase {
  const cached = open.get(path);
  if (cached !== undefined) {
    open.delete(path);
    open.set(path, cached);
    return cached;
  }
  while (open.size >= current.maxOpenDatabases) {
    const [oldestPath, oldest] = open.entries().next().value as [string, ModuleDatabase];
    open.delete(oldestPath);
    oldest.close();
  }
  const created = new ModuleDatabase(path, current);
  open.set(path, created);
  return created;
}

function failureOf(error: unknown): QueryFailure {
  if (error instanceof QueryError) return error.failure;
  // Opening the file failed, or a bug: the node logs it; the guest sees `internal` only.
  return {
    kind: 'internal',
    message: `db executor failed: ${error instanceof Error ? `${error.name}: ${error.message}` : 'non-error thrown'}`,
  };
}

process.on('message', (message: ExecutorRequest) => {
  if (message.type === 'init') {
    limits = message.limits;
    // One heap ceiling for all of SQLite in this process (sqlite3_hard_heap_limit64).
    const probe = new DatabaseSync(':memory:');
    probe.exec(`PRAGMA hard_heap_limit = ${limits.executorHeapBytes}`);
    probe.close();
    const watchdog = new Worker(new URL('./executor-watchdog.ts', import.meta.url), {
      workerData: { deadline: deadline.buffer, graceMs: message.selfKillGraceMs, parentPid: process.ppid },
    });
    watchdog.unref();
    send({ type: 'ready' });
    return;
  }
  if (limits === undefined) return;
  deadline[0] = message.deadline;
  try {
    const json = database(message.path, limits).run(message.statements);
    send({ type: 'result', id: message.id, ok: true, json });
  } catch (error) {
    send({ type: 'result', id: message.id, ok: false, failure: failureOf(error) });
  } finally {
    deadline[0] = 0;
  }
});

// The node closed the channel (shutdown or its death): close the databases and go.
process.on('disconnect', () => {
  for (const db of open.values()) db.close();
  process.exit(0);
});
