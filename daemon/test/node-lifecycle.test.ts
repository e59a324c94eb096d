/** The shutdown stack: newest first, every part closed even when one fails, idempotent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Shutdown } from '../src/index.ts';

void test('parts close newest first, each once, and a second run returns the first', async () => {
  const closed: string[] = [];
  const shutdown = new Shutdown();
  for (const name of ['store', 'pool', 'gateway']) {
    shutdown.add(name, () => {
      closed.push(name);
      return Promise.resolve();
    });
  }
  const first = shutdown.run();
  assert.equal(shutdown.run(), first);
  await first;
  assert.deepEqual(closed, ['gateway', 'pool', 'store']);
  assert.throws(() => shutdown.add('late', () => Promise.resolve()), /already started; cannot add late/);
});

void test('a part that fails does not keep the others open; the failure names the part', async () => {
  const closed: string[] = [];
  const shutdown = new Shutdown();
  shutdown.add('store', () => {
    closed.push('store');
    return Promise.resolve();
  });
  shutdown.add('pool', () => Promise.reject(new Error('worker stuck')));
  shutdown.add('admin API', () => Promise.reject(new Error('second failure')));
  await assert.rejects(shutdown.run(), /closing the admin API failed: second failure/);
  assert.deepEqual(closed, ['store']);
});
