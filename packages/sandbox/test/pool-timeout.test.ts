import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InvocationOutcome } from '../src/runtime/types.ts';
import { GUESTS, ONE_CALL, fixturePool, replyOf, specFor, sleep } from './pool-fixtures.ts';

const hello = GUESTS.hello();
const spin = GUESTS.spin();
const spinInStart = GUESTS.spinInStart();
const caller = GUESTS.hostCaller();

function assertTimeout(outcome: InvocationOutcome, timeoutMs: number): void {
  assert.equal(outcome.ok, false);
  assert.deepEqual(outcome.error, { code: 'timeout', message: `exceeded timeout ${timeoutMs} ms` });
  assert.equal(outcome.deterministic, false);
  assert.ok(
    outcome.durationMs >= timeoutMs,
    `reported ${outcome.durationMs} ms for a ${timeoutMs} ms timeout`,
  );
}

void test('a timeout stops a guest stuck in an infinite loop and the worker is replaced', async () => {
  const pool = fixturePool({ size: 1 });
  try {
    assertTimeout(await pool.run(spin, specFor(spin, { timeoutMs: 100 })), 100);
    assert.equal(pool.workerRestarts, 1);
    assert.equal((await pool.run(hello, specFor(hello))).ok, true);
  } finally {
    await pool.close();
  }
});

void test('a timeout stops a guest stuck in its start function', async () => {
  const pool = fixturePool({ size: 1 });
  try {
    assertTimeout(await pool.run(spinInStart, specFor(spinInStart, { timeoutMs: 100 })), 100);
    assert.equal((await pool.run(hello, specFor(hello))).ok, true);
  } finally {
    await pool.close();
  }
});

void test('a timeout stops a guest blocked in a host call whose handler never answers', async () => {
  const pool = fixturePool({ size: 1 });
  try {
    let aborted = false;
    const never = (
      _method: string,
      _payload: Uint8Array,
      context: { signal: AbortSignal },
    ): Promise<Uint8Array> => {
      context.signal.addEventListener('abort', () => (aborted = true));
      return new Promise<Uint8Array>(() => {});
    };
    const outcome = await pool.run(caller, specFor(caller, { timeoutMs: 100, calls: ONE_CALL }), {
      hostHandler: never,
    });
    assertTimeout(outcome, 100);
    assert.equal(aborted, true, 'the handler is told the invocation is over');
    assert.equal(pool.workerRestarts, 1);
    const echo = async (_method: string, payload: Uint8Array): Promise<Uint8Array> => payload;
    const after = await pool.run(caller, specFor(caller, { calls: [{ method: 'echo', size: 3, fill: 5 }] }), {
      hostHandler: echo,
    });
    assert.deepEqual(replyOf(after).results, [{ length: 3, sum: 15 }]);
  } finally {
    await pool.close();
  }
});

void test('work pipelined behind a timed-out invocation is re-queued and completes, not failed', async () => {
  const pool = fixturePool({ size: 1, pipelineDepth: 8 });
  try {
    const stuck = pool.run(spin, specFor(spin, { timeoutMs: 150 }));
    // Same tick: all of these go to the one worker in the same batch, behind the spinning guest.
    const behind = Array.from({ length: 6 }, () => pool.run(hello, specFor(hello, { timeoutMs: 1_000 })));
    assertTimeout(await stuck, 150);
    const outcomes = await Promise.all(behind);
    for (const outcome of outcomes) assert.equal(outcome.ok, true);
    const killed = replyOf(outcomes[0] as InvocationOutcome).threadId;
    assert.equal(pool.workerRestarts, 1);
    for (const outcome of outcomes)
      assert.equal(replyOf(outcome).threadId, killed, 'all ran on the replacement');
  } finally {
    await pool.close();
  }
});

void test('the timeout counts from when the invocation starts, not from when it was queued', async () => {
  const pool = fixturePool({ size: 1, pipelineDepth: 4 });
  try {
    // Holds the only worker for ~300 ms through a host call, while a 200 ms invocation waits behind it.
    const slow = async (_method: string, payload: Uint8Array): Promise<Uint8Array> => {
      await sleep(300);
      return payload;
    };
    const first = pool.run(caller, specFor(caller, { timeoutMs: 2_000, calls: ONE_CALL }), {
      hostHandler: slow,
    });
    const waiting = pool.run(hello, specFor(hello, { timeoutMs: 200 }));
    assert.equal((await first).ok, true);
    assert.equal((await waiting).ok, true);
    assert.equal(pool.workerRestarts, 0);
  } finally {
    await pool.close();
  }
});

void test('an invocation that finishes within its timeout is never stopped, whatever follows it', async () => {
  const pool = fixturePool({ size: 1, pipelineDepth: 8 });
  try {
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, () => pool.run(hello, specFor(hello, { timeoutMs: 50 }))),
    );
    for (const outcome of outcomes) assert.equal(outcome.ok, true);
    assert.equal(pool.workerRestarts, 0);
  } finally {
    await pool.close();
  }
});

void test('the pool keeps serving after 50 timeouts in a row', async () => {
  const pool = fixturePool({ size: 2, maxQueue: 64 });
  try {
    const timeouts = await Promise.all(
      Array.from({ length: 50 }, () => pool.run(spin, specFor(spin, { timeoutMs: 20 }))),
    );
    for (const outcome of timeouts) assertTimeout(outcome, 20);
    assert.equal(pool.workerRestarts, 50);
    assert.equal(pool.poolSize, 2);
    const after = await Promise.all(Array.from({ length: 20 }, () => pool.run(hello, specFor(hello))));
    for (const outcome of after) assert.equal(outcome.ok, true);
  } finally {
    await pool.close();
  }
});

void test('outcomes finished before a stuck invocation on the same worker arrive without waiting for its timeout', async () => {
  const pool = fixturePool({ size: 1, pipelineDepth: 8 });
  try {
    const settled: string[] = [];
    const track = (label: string, pending: Promise<InvocationOutcome>): Promise<InvocationOutcome> =>
      pending.then((outcome) => {
        settled.push(label);
        return outcome;
      });
    // One batch: three quick ones (fewer than the doorbell threshold) with a long timeout,
    // then a guest that spins with a short one.
    const quick = [1, 2, 3].map((i) =>
      track(`quick${i}`, pool.run(hello, specFor(hello, { timeoutMs: 60_000 }))),
    );
    const stuck = track('stuck', pool.run(spin, specFor(spin, { timeoutMs: 300 })));
    for (const outcome of await Promise.all(quick)) assert.equal(outcome.ok, true);
    assert.deepEqual(
      settled,
      ['quick1', 'quick2', 'quick3'],
      'the quick ones settled while the spinner still ran',
    );
    const stopped = await stuck;
    assertTimeout(stopped, 300);
    // The watchdog looks at the spinner's own deadline, not at the first task's 60 s one.
    assert.ok(stopped.durationMs < 60_000);
  } finally {
    await pool.close();
  }
});
