/**
 * Group commit (AuditLog.append): concurrent appends share batches — one fsync and one head
 * signature per batch — and every entry still chains, verifies and survives a restart. A bad
 * entry in a batch is refused alone. Batches never exceed maxBatchEntries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSeed } from '@gojinn/manifest';
import type { BytesSublevel } from '@gojinn/store';
import { AuditLog } from '../src/audit/index.ts';
import { openTestStore, tempDir } from './audit-support.ts';

const NODE_KEY = keyPairFromSeed(new Uint8Array(32).fill(11));

/** The real sublevel, with its batch sizes recorded (nothing else changes). */
function countingBatches(sublevel: BytesSublevel): { sublevel: BytesSublevel; sizes: number[] } {
  const sizes: number[] = [];
  const batch = sublevel.batch.bind(sublevel) as (ops: unknown[], options?: object) => Promise<void>;
  const counted = new Proxy(sublevel, {
    get(target, property, receiver) {
      if (property === 'batch')
        return (operations: unknown[], options?: object) => {
          sizes.push(operations.length);
          return batch(operations, options);
        };
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { sublevel: counted, sizes };
}

void test('concurrent appends are written in shared batches, in order, and verify after a restart', async () => {
  const temp = await tempDir('audit-group');
  try {
    const store = await openTestStore(temp.dir);
    const { sublevel, sizes } = countingBatches(store.extension('audit'));
    const log = await AuditLog.open(sublevel, { signingKey: NODE_KEY, limits: { maxBatchEntries: 64 } });
    const entries = await Promise.all(
      Array.from({ length: 300 }, (_, i) => log.append('invocation', { module: 'hello', i })),
    );
    assert.deepEqual(
      entries.map((entry) => entry.seq),
      Array.from({ length: 300 }, (_, i) => i),
    );
    assert.deepEqual(
      entries.map((entry) => (entry.data as { i: number }).i),
      Array.from({ length: 300 }, (_, i) => i),
    );
    // Each batch holds its entries plus its seal and the head; far fewer batches than entries.
    assert.equal(
      sizes.reduce((sum, size) => sum + size - 2, 0),
      300,
    );
    assert.ok(sizes.length < 300 / 4, `${sizes.length} batches for 300 concurrent appends`);
    assert.ok(Math.max(...sizes) <= 64 + 2, `a batch of ${Math.max(...sizes)} operations`);
    // One seal (one signature besides the head's) per batch, not per entry.
    const report = await log.verify();
    assert.equal(report.ok, true);
    assert.equal(report.sealsVerified, sizes.length);
    await store.close();

    const reopened = await openTestStore(temp.dir);
    const again = await AuditLog.open(reopened.extension('audit'), { signingKey: NODE_KEY });
    assert.equal(again.length, 300);
    const verification = await again.verify();
    assert.equal(verification.ok, true);
    await reopened.close();
  } finally {
    await temp.remove();
  }
});

void test('a refused entry in a batch fails alone; its neighbours are written and chained', async () => {
  const temp = await tempDir('audit-group-bad');
  try {
    const store = await openTestStore(temp.dir);
    const log = await AuditLog.open(store.extension('audit'), {
      signingKey: NODE_KEY,
      sync: false,
      limits: { maxEntryBytes: 2048 },
    });
    const results = await Promise.allSettled([
      log.append('admin', { n: 1 }),
      log.append('Not A Kind', { n: 2 }),
      log.append('admin', { big: 'x'.repeat(4096) }),
      log.append('admin', { n: 4 }),
    ]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    const [first, , , fourth] = results;
    assert.equal(first?.status === 'fulfilled' && first.value.seq, 0);
    assert.equal(fourth?.status === 'fulfilled' && fourth.value.seq, 1);
    assert.equal(log.length, 2);
    assert.equal((await log.verify()).ok, true);
    await store.close();
  } finally {
    await temp.remove();
  }
});
