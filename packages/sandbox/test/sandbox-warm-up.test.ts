/**
 * `Sandbox.warmUp`: the worker pool starts before the first invocation, every worker ready, so
 * the first call does not wait for workers to start; closed or broken pools reject.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import { Sandbox } from '@gojinn/sandbox';
import { readExample } from '../../../test/support/guests.ts';

const poolOf = (sandbox: Sandbox): Sandbox['pool'] => sandbox.pool;

void test('warmUp starts every worker before any invocation, and the pool then serves', async () => {
  const sandbox = new Sandbox({ pool: { size: 2 } });
  try {
    assert.equal(sandbox.pool, undefined, 'no pool before warmUp or invoke');
    await sandbox.warmUp();
    // Read through a function: the assertion above narrowed `sandbox.pool` to undefined.
    const pool = poolOf(sandbox);
    assert.ok(pool !== undefined);
    assert.equal(pool.readyWorkers, 2, 'both workers ready when warmUp resolves');
    assert.equal(pool.busyWorkers, 0);
    assert.equal(pool.queueDepth, 0);
    await sandbox.warmUp();
    assert.equal(poolOf(sandbox), pool, 'a second warmUp waits for the same pool');
    const outcome = await sandbox.invoke(sandbox.prepare(readExample('hello')), { uri: '/?name=warm' });
    assert.equal(outcome.ok, true);
    assert.match(outcome.response?.body ?? '', /"hello":"warm"/);
  } finally {
    await sandbox.close();
  }
});

void test('warmUp on a closed sandbox rejects with overloaded', async () => {
  const sandbox = new Sandbox({ pool: { size: 1 } });
  await sandbox.close();
  await assert.rejects(
    sandbox.warmUp(),
    (error: unknown) => error instanceof GojinnError && error.code === 'overloaded',
  );
});

void test('warmUp rejects with internal when workers cannot start', async () => {
  const sandbox = new Sandbox({
    pool: { size: 1, runnerUrl: new URL('./no-such-runner.ts', import.meta.url) },
  });
  try {
    await assert.rejects(
      sandbox.warmUp(),
      (error: unknown) => error instanceof GojinnError && error.code === 'internal',
    );
  } finally {
    await sandbox.close();
  }
});
