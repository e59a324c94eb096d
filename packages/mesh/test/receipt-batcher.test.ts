/**
 * The server's receipt signer: receipts of one caller finishing in one turn share a signature,
 * signed at that turn's check phase (before any timer), or at once at `maxPerBatch`; callers
 * never share a batch; claims that would not verify are refused alone.
 */
import { stat } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { GojinnError } from '@gojinn/errors';
import { ReceiptBatcher } from '../src/invoke/receipt-batcher.ts';
import { MAX_RECEIPTS_PER_BATCH, verifyReceipt } from '../src/invoke/receipt.ts';
import type { BatchReceipt, ReceiptClaims } from '../src/invoke/receipt.ts';
import { VerifiedBatchCache } from '../src/invoke/verified-batches.ts';

const key = await generateKeyPair('Ed25519');
const peer = peerIdFromPrivateKey(key);

function claimsOf(i: number): ReceiptClaims {
  return {
    moduleSha256: 'a'.repeat(64),
    requestSha256: i.toString(16).padStart(64, '0'),
    responseSha256: 'c'.repeat(64),
    fuelUsed: i,
    deterministic: true,
    seed: 'd'.repeat(64),
    traceId: i.toString(16).padStart(32, '0'),
    time: '2026-11-29T11:18:50.123Z',
  };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Continues in the poll phase, after an I/O callback — where a run's result arrives (a worker's
 * message, a socket's data) — so "this turn" has its check phase still ahead.
 */
const afterIo = (): Promise<void> =>
  new Promise((resolve) => {
    stat('.', () => resolve());
  });

/** Every receipt verifies alone; returns the distinct signatures (one per batch). */
async function verifyAll(receipts: BatchReceipt[]): Promise<Set<string>> {
  for (const receipt of receipts) await verifyReceipt(receipt, peer, { cache: new VerifiedBatchCache() });
  return new Set(receipts.map((receipt) => receipt.signature));
}

void test('calls of one caller finishing in one turn share one signature, signed before the next timer fires', async () => {
  const batcher = new ReceiptBatcher(key);
  await afterIo();
  let timerFired = false;
  const timer = setTimeout(() => {
    timerFired = true;
  }, 0);
  const pending = Array.from({ length: 10 }, (_, i) => batcher.sign('caller-a', claimsOf(i)));
  assert.equal(batcher.waiting('caller-a'), 10);
  const receipts = await Promise.all(pending);
  assert.equal(timerFired, false, 'signed at the check phase of this turn, not later');
  clearTimeout(timer);
  assert.equal((await verifyAll(receipts)).size, 1);
  assert.deepEqual(
    receipts.map((receipt) => [receipt.batch.size, receipt.batch.index, receipt.requestSha256]),
    receipts.map((_, i) => [10, i, claimsOf(i).requestSha256]),
  );
  assert.equal(batcher.batches, 1);
  assert.equal(batcher.receipts, 10);
  assert.equal(batcher.waiting(), 0);
});

void test('callers interleaved in one turn never share a batch', async () => {
  const batcher = new ReceiptBatcher(key);
  const a: Promise<BatchReceipt>[] = [];
  const b: Promise<BatchReceipt>[] = [];
  for (let i = 0; i < 12; i++) (i % 3 === 0 ? b : a).push(batcher.sign(i % 3 === 0 ? 'b' : 'a', claimsOf(i)));
  const [fromA, fromB] = [await Promise.all(a), await Promise.all(b)];
  assert.ok(fromA.every((receipt) => receipt.batch.size === 8));
  assert.ok(fromB.every((receipt) => receipt.batch.size === 4));
  const signatures = [await verifyAll(fromA), await verifyAll(fromB)];
  assert.equal(signatures[0]?.size, 1);
  assert.equal(signatures[1]?.size, 1);
  assert.notDeepEqual(signatures[0], signatures[1]);
  assert.equal(batcher.batches, 2);
});

void test('calls in different turns are different batches; one call alone is a batch of one', async () => {
  const batcher = new ReceiptBatcher(key);
  const first = batcher.sign('a', claimsOf(1));
  await nextTurn();
  const second = batcher.sign('a', claimsOf(2));
  const [one, two] = await Promise.all([first, second]);
  assert.deepEqual(one.batch, { size: 1, index: 0, path: [] });
  assert.deepEqual(two.batch, { size: 1, index: 0, path: [] });
  assert.notEqual(one.signature, two.signature);
  await verifyAll([one, two]);
});

void test('at maxPerBatch a batch is signed at once; one more starts the next batch', async () => {
  const batcher = new ReceiptBatcher(key);
  assert.equal(batcher.maxPerBatch, MAX_RECEIPTS_PER_BATCH);
  const pending = Array.from({ length: MAX_RECEIPTS_PER_BATCH }, (_, i) => batcher.sign('a', claimsOf(i)));
  // Signed synchronously when the 64th arrived: nothing waits for the check phase.
  assert.equal(batcher.waiting('a'), 0);
  assert.equal(batcher.batches, 1);
  pending.push(batcher.sign('a', claimsOf(MAX_RECEIPTS_PER_BATCH)));
  assert.equal(batcher.waiting('a'), 1);
  const receipts = await Promise.all(pending);
  assert.deepEqual(
    receipts.map((receipt) => receipt.batch.size),
    [...Array<number>(MAX_RECEIPTS_PER_BATCH).fill(MAX_RECEIPTS_PER_BATCH), 1],
  );
  assert.equal((await verifyAll(receipts)).size, 2);

  const small = new ReceiptBatcher(key, { maxPerBatch: 3 });
  const seven = await Promise.all(Array.from({ length: 7 }, (_, i) => small.sign('a', claimsOf(i))));
  assert.deepEqual(
    seven.map((receipt) => receipt.batch.size),
    [3, 3, 3, 3, 3, 3, 1],
  );
  const alone = new ReceiptBatcher(key, { maxPerBatch: 1 });
  const each = await Promise.all([alone.sign('a', claimsOf(1)), alone.sign('a', claimsOf(2))]);
  assert.ok(each.every((receipt) => receipt.batch.size === 1));
});

void test('bad claims are refused alone (internal); options and keys are checked', async () => {
  const batcher = new ReceiptBatcher(key);
  const good = batcher.sign('a', claimsOf(1));
  assert.throws(
    () => batcher.sign('a', { ...claimsOf(2), seed: 'short' }),
    (error: unknown) =>
      error instanceof GojinnError && error.code === 'internal' && /seed/.test(error.message),
  );
  const receipt = await good;
  assert.equal(receipt.batch.size, 1);
  for (const maxPerBatch of [0, MAX_RECEIPTS_PER_BATCH + 1, 1.5]) {
    assert.throws(() => new ReceiptBatcher(key, { maxPerBatch }), RangeError, String(maxPerBatch));
  }
  const secp = await generateKeyPair('secp256k1');
  assert.throws(() => new ReceiptBatcher(secp), RangeError);
});
