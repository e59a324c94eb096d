import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GUESTS, ONE_CALL, fixturePool, gate, replyOf, specFor } from './pool-fixtures.ts';

const hello = GUESTS.hello();
const caller = GUESTS.hostCaller();
const exitThread = GUESTS.exitThread();
const exhaustHeap = GUESTS.exhaustHeap();

void test('a worker that exits mid-invocation fails only that invocation, with internal; work in flight elsewhere completes', async () => {
  const pool = fixturePool({ size: 2, pipelineDepth: 4 });
  try {
    await pool.ready();
    // One worker is held in a host call while the other one dies.
    const held = gate();
    const inFlight = pool.run(caller, specFor(caller, { calls: ONE_CALL }), { hostHandler: held.handler });
    await held.entered;
    const crashed = await pool.run(exitThread, specFor(exitThread));
    assert.equal(crashed.ok, false);
    assert.equal(crashed.error?.code, 'internal');
    assert.equal(pool.workerRestarts, 1);
    held.open();
    assert.equal((await inFlight).ok, true);
    const after = await Promise.all(Array.from({ length: 10 }, () => pool.run(hello, specFor(hello))));
    for (const outcome of after) assert.equal(outcome.ok, true);
  } finally {
    await pool.close();
  }
});

void test('work pipelined behind an invocation whose worker died is re-queued and completes', async () => {
  const pool = fixturePool({ size: 1, pipelineDepth: 8 });
  try {
    const crashed = pool.run(exitThread, specFor(exitThread));
    const behind = Array.from({ length: 5 }, () => pool.run(hello, specFor(hello)));
    assert.equal((await crashed).error?.code, 'internal');
    for (const outcome of await Promise.all(behind)) assert.equal(outcome.ok, true);
    assert.equal(pool.workerRestarts, 1);
  } finally {
    await pool.close();
  }
});

void test('a worker that exhausts its JS heap reports memory_limit naming maxHeapMb, and is replaced', async () => {
  const pool = fixturePool({ size: 1, maxHeapMb: 32 });
  try {
    const outcome = await pool.run(exhaustHeap, specFor(exhaustHeap, { timeoutMs: 30_000 }));
    assert.equal(outcome.ok, false);
    assert.equal(outcome.error?.code, 'memory_limit');
    assert.match(outcome.error?.message ?? '', /maxHeapMb 32/);
    assert.equal(pool.workerRestarts, 1);
    assert.equal(replyOf(await pool.run(hello, specFor(hello))).results.length, 0);
  } finally {
    await pool.close();
  }
});

void test('a runner module that cannot load breaks the pool with internal instead of respawning forever', async () => {
  const pool = fixturePool({ size: 1, runnerUrl: new URL('./pool-no-such-runner.ts', import.meta.url) });
  try {
    const outcome = pool.run(hello, specFor(hello));
    await assert.rejects(pool.ready(), (error: unknown) => (error as { code?: string }).code === 'internal');
    await assert.rejects(outcome, (error: unknown) => (error as { code?: string }).code === 'internal');
    await assert.rejects(
      pool.run(hello, specFor(hello)),
      (error: unknown) => (error as { code?: string }).code === 'internal',
    );
    assert.ok(pool.workerRestarts <= 3);
  } finally {
    await pool.close();
  }
});
