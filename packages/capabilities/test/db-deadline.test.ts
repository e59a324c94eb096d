/**
 * A statement's time is bounded by the invocation's deadline: SQLite runs in executor processes,
 * and the node kills the one running a statement at the deadline. The node's main thread and
 * other modules' databases keep working meanwhile and afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HostCallFailure, type CallContext, type ModuleIdentity } from '../src/handler.ts';
import { GojinnError } from '@gojinn/errors';
import { DbQueryHandler, type DbExecutorEvent } from '../src/db/index.ts';
import type { DbLimits } from '../src/db/db-limits.ts';
import { DEFAULT_DB_LIMITS } from '../src/db/db-limits.ts';
import type { ExecutorReply, ExecutorRequest } from '../src/db/executor-protocol.ts';
import { PUBLISHER_A, moduleIdentity } from './support/harness.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const FOREVER = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';
const EXECUTOR_URL = new URL('../src/db/executor-process.ts', import.meta.url);

const dirs: string[] = [];
const handlers: DbQueryHandler[] = [];
after(async () => {
  await Promise.all(handlers.map((h) => h.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function newHandler(limits: Partial<DbLimits> = {}): DbQueryHandler {
  const dataDir = mkdtempSync(join(tmpdir(), 'gojinn-db-deadline-'));
  dirs.push(dataDir);
  const handler = new DbQueryHandler({ dataDir, limits });
  handlers.push(handler);
  return handler;
}

/** A call context as the dispatcher builds it: deadline, and a signal that fires at it (or on `end`). */
function context(module: ModuleIdentity, deadlineMs: number, end?: AbortSignal): CallContext<'db.query'> {
  const deadline = Date.now() + deadlineMs;
  const signals = [AbortSignal.timeout(deadlineMs), ...(end === undefined ? [] : [end])];
  return {
    module,
    capability: 'db.query',
    method: 'db_query',
    scope: {},
    traceId: 'd'.repeat(32),
    deadline,
    signal: AbortSignal.any(signals),
    markNondeterministic: () => {},
    deny: (reason: string): never => {
      throw new HostCallFailure('DENIED', reason);
    },
  };
}

async function query(
  handler: DbQueryHandler,
  module: ModuleIdentity,
  statements: unknown[],
  deadlineMs = 10_000,
  end?: AbortSignal,
): Promise<{ errno?: string; body?: unknown }> {
  try {
    const bytes = await handler.handle(
      'db_query',
      encoder.encode(JSON.stringify({ statements })),
      context(module, deadlineMs, end),
    );
    return { body: JSON.parse(decoder.decode(bytes)) as unknown };
  } catch (error) {
    if (error instanceof HostCallFailure) return { errno: error.errno };
    throw error;
  }
}

const A = moduleIdentity('alpha', PUBLISHER_A);
const B = moduleIdentity('beta', PUBLISHER_A);

void test('a never-ending recursive CTE stops at the deadline with TIMEOUT; the main thread and other modules keep working, before and after', async () => {
  const handler = newHandler({ executors: 2 });
  await handler.warm();
  await query(handler, A, [{ sql: 'CREATE TABLE kept (x)' }, { sql: 'INSERT INTO kept VALUES (42)' }]);
  await query(handler, B, [{ sql: 'CREATE TABLE b (x)' }]);

  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  const runaway = query(handler, A, [{ sql: FOREVER }], 800);
  // While A's statement runs, B's queries are served by the other executor.
  let served = 0;
  let settled = false;
  void runaway.finally(() => (settled = true));
  while (!settled) {
    const answer = await query(handler, B, [{ sql: 'INSERT INTO b VALUES (1)' }]);
    assert.equal(answer.errno, undefined);
    served++;
    await sleep(20);
  }
  clearInterval(ticker);
  assert.deepEqual(await runaway, { errno: 'TIMEOUT' });
  assert.ok(served >= 2, `B was served ${served} times while A's statement ran`);
  assert.ok(ticks >= 5, `the main thread ran timers ${ticks} times while A's statement ran`);
  assert.equal(handler.stats.deadlineKills, 1);

  // The killed module's database is intact and usable; so is the other one.
  assert.deepEqual(await query(handler, A, [{ sql: 'SELECT x FROM kept' }]), {
    body: { results: [{ columns: ['x'], rows: [[42]] }] },
  });
  const count = await query(handler, B, [{ sql: 'SELECT count(*) FROM b' }]);
  assert.deepEqual(count, { body: { results: [{ columns: ['count(*)'], rows: [[served]] }] } });
});

void test("a statement killed at the deadline rolls back its request's earlier writes", async () => {
  const handler = newHandler({ executors: 1 });
  await query(handler, A, [{ sql: 'CREATE TABLE t (x)' }]);
  const answer = await query(handler, A, [{ sql: 'INSERT INTO t VALUES (1)' }, { sql: FOREVER }], 500);
  assert.deepEqual(answer, { errno: 'TIMEOUT' });
  assert.deepEqual(await query(handler, A, [{ sql: 'SELECT count(*) FROM t' }]), {
    body: { results: [{ columns: ['count(*)'], rows: [[0]] }] },
  });
});

void test('maxQueryMs bounds a statement even when the invocation deadline is later', async () => {
  const handler = newHandler({ executors: 1, maxQueryMs: 300 });
  await handler.warm(); // so the 300 ms are spent in SQLite, not starting the process
  assert.deepEqual(await query(handler, A, [{ sql: FOREVER }], 60_000), { errno: 'TIMEOUT' });
  assert.equal(handler.stats.deadlineKills, 1);
});

void test('an invocation that ends (its signal aborts) stops its running statement', async () => {
  const handler = newHandler({ executors: 1 });
  await handler.warm();
  const end = new AbortController();
  const running = query(handler, A, [{ sql: FOREVER }], 60_000, end.signal);
  await sleep(300);
  end.abort();
  assert.deepEqual(await running, { errno: 'TIMEOUT' });
  assert.equal(handler.stats.deadlineKills, 1);
  assert.deepEqual(await query(handler, A, [{ sql: 'SELECT 1 AS one' }]), {
    body: { results: [{ columns: ['one'], rows: [[1]] }] },
  });
});

void test('a request still queued at its deadline is dropped with TIMEOUT without killing anything', async () => {
  const handler = newHandler({ executors: 1 });
  await handler.warm();
  const runaway = query(handler, A, [{ sql: FOREVER }], 1500);
  await sleep(100);
  assert.deepEqual(await query(handler, B, [{ sql: 'SELECT 1' }], 200), { errno: 'TIMEOUT' });
  assert.equal(handler.stats.deadlineKills, 0);
  assert.deepEqual(await runaway, { errno: 'TIMEOUT' });
  assert.equal(handler.stats.deadlineKills, 1);
});

void test("one module's requests run one at a time, in order, even with idle executors", async () => {
  const handler = newHandler({ executors: 2 });
  await handler.warm();
  await query(handler, A, [{ sql: 'CREATE TABLE seq (x)' }]);
  const slowWrite = [
    { sql: 'INSERT INTO seq VALUES (1)' },
    {
      sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) FROM c',
    },
  ];
  const [, read] = await Promise.all([
    query(handler, A, slowWrite),
    query(handler, A, [{ sql: 'SELECT count(*) FROM seq' }]),
  ]);
  assert.deepEqual(read, { body: { results: [{ columns: ['count(*)'], rows: [[1]] }] } });
});

void test('maxQueuedRequests: past it a request is refused (overloaded), not queued', async () => {
  const handler = newHandler({ executors: 1, maxQueuedRequests: 1 });
  await handler.warm();
  const runaway = query(handler, A, [{ sql: FOREVER }], 1000);
  await sleep(50);
  const queued = query(handler, B, [{ sql: 'SELECT 1' }], 5000);
  await assert.rejects(
    query(handler, B, [{ sql: 'SELECT 2' }], 5000),
    /db queue is full \(limit maxQueuedRequests is 1\)/,
  );
  assert.deepEqual(await runaway, { errno: 'TIMEOUT' });
  assert.equal((await queued).errno, undefined);
});

/** Starts an executor process the way DbExecutor does and waits for it to be ready. */
async function startExecutor(graceMs: number) {
  const child = fork(EXECUTOR_URL, [], {
    env: {},
    execArgv: ['--disable-warning=ExperimentalWarning'],
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  const init: ExecutorRequest = {
    type: 'init',
    limits: { ...DEFAULT_DB_LIMITS },
    selfKillGraceMs: graceMs,
  };
  child.send(init);
  const [ready] = (await once(child, 'message')) as [ExecutorReply];
  assert.equal(ready.type, 'ready');
  return child;
}

void test("second line of defence: an executor past a query's deadline plus grace kills itself", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gojinn-db-watchdog-'));
  dirs.push(dataDir);
  const child = await startExecutor(100);
  const exited = once(child, 'exit');
  const request: ExecutorRequest = {
    type: 'query',
    id: 1,
    path: join(dataDir, 'x.sqlite'),
    statements: [{ sql: FOREVER, params: [] }],
    deadline: Date.now() + 200,
  };
  child.send(request);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000); // only if the watchdog failed
  const [code, signal] = (await exited) as [number | null, string | null];
  clearTimeout(timer);
  assert.equal(code, null);
  assert.equal(signal, 'SIGKILL');
});

void test('an executor whose node died (kill -9) in the middle of a never-ending statement does not outlive it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gojinn-db-orphan-'));
  dirs.push(dir);
  // A stand-in node: forks an executor, starts a never-ending statement, prints the pid, waits.
  const nodeScript = join(dir, 'node.mjs');
  writeFileSync(
    nodeScript,
    `import { fork } from 'node:child_process';
const child = fork(${JSON.stringify(EXECUTOR_URL.href)}.replace('file://', ''), [], { env: {}, serialization: 'advanced', stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
child.send({ type: 'init', limits: ${JSON.stringify(DEFAULT_DB_LIMITS)}, selfKillGraceMs: 60000 });
child.once('message', () => {
  child.send({ type: 'query', id: 1, path: ${JSON.stringify(join(dir, 'x.sqlite'))}, statements: [{ sql: ${JSON.stringify(FOREVER)}, params: [] }], deadline: Date.now() + 600000 });
  process.stdout.write(String(child.pid) + '\\n');
});
setInterval(() => {}, 1000);
`,
  );
  const standIn = spawn(process.execPath, [nodeScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(standIn.stdout, 'data')) as [Buffer];
  const executorPid = Number(chunk.toString().trim());
  assert.ok(Number.isSafeInteger(executorPid) && executorPid > 0);
  await sleep(200); // the statement is running
  standIn.kill('SIGKILL');
  const alive = (): boolean => {
    try {
      process.kill(executorPid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 200 && alive(); i++) await sleep(50);
  const survived = alive();
  if (survived) process.kill(executorPid, 'SIGKILL'); // clean up before failing
  assert.equal(survived, false, 'the orphaned executor was still running 10 s after its node died');
});

void test('an executor that dies on its own (a crash, the OOM killer) fails its request as a host error, is reported, and is replaced', async () => {
  const events: DbExecutorEvent[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'gojinn-db-crash-'));
  dirs.push(dataDir);
  /** Pids of this process's executor children (other tests' executors included). */
  const executorPids = (): number[] =>
    execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes('executor-process.ts'))
      .map((line) => Number(line.trim().split(/\s+/)[0]));
  const others = new Set(executorPids());
  const handler = new DbQueryHandler({
    dataDir,
    limits: { executors: 1 },
    onExecutorEvent: (e) => events.push(e),
  });
  handlers.push(handler);
  await handler.warm();
  const running = query(handler, A, [{ sql: FOREVER }], 30_000).catch((error: unknown) => error);
  await sleep(200);
  const children = executorPids().filter((pid) => !others.has(pid));
  assert.equal(children.length, 1);
  process.kill(children[0] ?? 0, 'SIGKILL');
  const failure = await running;
  assert.ok(failure instanceof GojinnError && failure.code === 'internal', String(failure));
  assert.ok(
    !(failure instanceof HostCallFailure),
    'a crash is a host error (-UNAVAILABLE, logged), not a guest-facing errno',
  );
  assert.deepEqual(events, [{ executor: 0, event: 'exit', code: null, signal: 'SIGKILL', expected: false }]);
  assert.equal(handler.stats.deadlineKills, 0);
  assert.deepEqual(await query(handler, A, [{ sql: 'SELECT 1 AS one' }]), {
    body: { results: [{ columns: ['one'], rows: [[1]] }] },
  });
});
