import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GojinnError } from '@gojinn/errors';
import type { InvocationOutcome } from '../src/runtime/types.ts';
import { GUESTS, ONE_CALL, fixturePool, gate, replyOf, specFor } from './pool-fixtures.ts';

const hello = GUESTS.hello();
const caller = GUESTS.hostCaller();

function isCode(code: string): (error: unknown) => boolean {
  return (error) => error instanceof GojinnError && error.code === code;
}

void test('accepts exactly maxQueue invocations beyond the running one, rejects the next with overloaded', async () => {
  const pool = fixturePool({ size: 1, maxQueue: 3 });
  try {
    const held = gate();
    const running = pool.run(caller, specFor(caller, { calls: ONE_CALL }), { hostHandler: held.handler });
    await held.entered;
    const queued = [1, 2, 3].map(() => pool.run(hello, specFor(hello)));
    assert.equal(pool.queueDepth, 3);
    assert.equal(pool.busyWorkers, 1);
    await assert.rejects(pool.run(hello, specFor(hello)), (error: unknown) => {
      assert.ok(error instanceof GojinnError);
      assert.equal(error.code, 'overloaded');
      assert.match(error.message, /maxQueue 3/);
      return true;
    });
    // The rejection came while the worker is still held: nothing waited for capacity.
    assert.equal(held.calls(), 1);
    held.open();
    for (const outcome of await Promise.all([running, ...queued])) assert.equal(outcome.ok, true);
    assert.equal(pool.queueDepth, 0);
    assert.equal(pool.busyWorkers, 0);
    assert.equal((await pool.run(hello, specFor(hello))).ok, true, 'capacity is back once the queue drains');
  } finally {
    await pool.close();
  }
});

void test('maxQueue 0 admits one invocation per worker and nothing more', async () => {
  const pool = fixturePool({ size: 2, maxQueue: 0 });
  try {
    const held = gate();
    const first = [1, 2].map(() =>
      pool.run(caller, specFor(caller, { calls: ONE_CALL }), { hostHandler: held.handler }),
    );
    await assert.rejects(pool.run(hello, specFor(hello)), isCode('overloaded'));
    held.open();
    for (const outcome of await Promise.all(first)) assert.equal(outcome.ok, true);
  } finally {
    await pool.close();
  }
});

void test('a burst far larger than the pipelines completes in full, spread over both workers', async () => {
  const pool = fixturePool({ size: 2, maxQueue: 2000, pipelineDepth: 4 });
  try {
    // Wait until both workers are up so the burst is not all dealt to the first one ready.
    await pool.ready();
    const outcomes = await Promise.all(Array.from({ length: 2000 }, () => pool.run(hello, specFor(hello))));
    const threads = new Set(outcomes.map((outcome) => replyOf(outcome).threadId));
    assert.equal(threads.size, 2);
    assert.equal(pool.workerRestarts, 0);
  } finally {
    await pool.close();
  }
});

void test('rejects a spec whose moduleHash is not the module, and a non-positive timeout', async () => {
  const pool = fixturePool({ size: 1 });
  try {
    const other = GUESTS.tagged(1);
    await assert.rejects(pool.run(hello, specFor(other)), isCode('bad_request'));
    const spec = specFor(hello);
    await assert.rejects(
      pool.run(hello, { ...spec, limits: { ...spec.limits, timeoutMs: 0 } }),
      isCode('bad_request'),
    );
    await assert.rejects(
      pool.run(hello, { ...spec, limits: { ...spec.limits, timeoutMs: Number.NaN } }),
      isCode('bad_request'),
    );
  } finally {
    await pool.close();
  }
});

void test('close() without drain rejects work not yet started, lets the running one finish, then refuses runs', async () => {
  const pool = fixturePool({ size: 1, pipelineDepth: 8 });
  const held = gate();
  const running = pool.run(caller, specFor(caller, { calls: ONE_CALL }), { hostHandler: held.handler });
  await held.entered;
  // These are already in the worker's pipeline, behind the held invocation.
  const queued = [1, 2, 3].map(() => pool.run(hello, specFor(hello)));
  const closed = pool.close();
  for (const pending of queued) {
    await assert.rejects(pending, (error: unknown) => {
      assert.ok(error instanceof GojinnError);
      assert.equal(error.code, 'overloaded');
      assert.match(error.message, /closed before the invocation started/);
      return true;
    });
  }
  held.open();
  assert.equal((await running).ok, true);
  await closed;
  await assert.rejects(pool.run(hello, specFor(hello)), isCode('overloaded'));
  assert.equal(pool.poolSize, 0);
});

void test('close({ drain: true }) runs everything accepted before it resolves', async () => {
  const pool = fixturePool({ size: 1, pipelineDepth: 2, maxQueue: 50 });
  const outcomes = Array.from({ length: 50 }, () => pool.run(hello, specFor(hello)));
  await pool.close({ drain: true });
  for (const outcome of await Promise.all(outcomes)) assert.equal(outcome.ok, true);
  assert.equal(pool.poolSize, 0);
});

void test('close() on an idle pool resolves and is idempotent', async () => {
  const pool = fixturePool({ size: 2 });
  await pool.run(hello, specFor(hello));
  const first = pool.close();
  assert.equal(pool.close(), first);
  await first;
  assert.equal(pool.poolSize, 0);
});

void test('ready() waiting when close() is called rejects instead of hanging', async () => {
  const pool = fixturePool({ size: 2 });
  const waiting = assert.rejects(pool.ready(), isCode('overloaded'));
  await pool.close();
  await waiting;
  await assert.rejects(pool.ready(), isCode('overloaded'));
});

void test('a busy worker holds exactly pipelineDepth - 1 invocations behind its running one; the rest go elsewhere', async () => {
  for (const pipelineDepth of [2, 3]) {
    const pool = fixturePool({ size: 2, pipelineDepth, maxQueue: 16 });
    try {
      await pool.ready();
      const heldA = gate();
      const heldB = gate();
      const a = pool.run(caller, specFor(caller, { calls: ONE_CALL }), { hostHandler: heldA.handler });
      await heldA.entered;
      const b = pool.run(caller, specFor(caller, { calls: ONE_CALL }), { hostHandler: heldB.handler });
      await heldB.entered;
      const settled = new Set<number>();
      const quick = Array.from({ length: 6 }, (_, i) =>
        pool.run(hello, specFor(hello)).then((outcome) => {
          settled.add(i);
          return outcome;
        }),
      );
      heldB.open();
      await b;
      // Everything that did not sit in A's pipeline runs on B while A is still held.
      while (settled.size < 6 - (pipelineDepth - 1)) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(settled.size, 6 - (pipelineDepth - 1), `pipelineDepth ${pipelineDepth}`);
      heldA.open();
      const outcomes = await Promise.all([a, ...quick]);
      for (const outcome of outcomes) assert.equal(outcome.ok, true);
      const threadOfA = replyOf(outcomes[0] as InvocationOutcome).threadId;
      const onA = outcomes.slice(1).filter((outcome) => replyOf(outcome).threadId === threadOfA);
      assert.equal(onA.length, pipelineDepth - 1);
    } finally {
      await pool.close();
    }
  }
});
