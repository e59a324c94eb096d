/**
 * Batch-signed receipts (schema 2): the Merkle tree against a straightforward transcription of
 * RFC 9162 §2.1, and every way a receipt of a batch may be forged, swapped or stretched past
 * its bounds — each refused as `signature_invalid` naming what is wrong. A verification
 * remembered for a batch never vouches for a receipt that is not in it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import fc from 'fast-check';
import { GojinnError } from '@gojinn/errors';
import { canonicalJson } from '@gojinn/manifest';
import {
  buildMerkleTree,
  merkleLeafHash,
  merklePathLength,
  merkleRootFromPath,
} from '../src/invoke/merkle.ts';
import {
  MAX_RECEIPTS_PER_BATCH,
  MAX_RECEIPT_PATH_LENGTH,
  parseReceipt,
  receiptBatchSigningBytes,
  receiptLeafBytes,
  signReceiptBatch,
  verifyReceipt,
} from '../src/invoke/receipt.ts';
import type { BatchReceipt, ReceiptClaims } from '../src/invoke/receipt.ts';
import { VerifiedBatchCache } from '../src/invoke/verified-batches.ts';

const key = await generateKeyPair('Ed25519');
const other = await generateKeyPair('Ed25519');
const peer = peerIdFromPrivateKey(key);
const otherPeer = peerIdFromPrivateKey(other);

const isCode =
  (code: string, pattern?: RegExp) =>
  (error: unknown): boolean =>
    error instanceof GojinnError &&
    error.code === code &&
    (pattern === undefined || pattern.test(error.message));

/** Claims of call i (distinct request, trace and response per call). */
function claimsOf(i: number): ReceiptClaims {
  const hex = (n: number, length: number): string => n.toString(16).padStart(length, '0');
  return {
    moduleSha256: 'a'.repeat(64),
    requestSha256: hex(i, 64),
    responseSha256: hex(i + 1000, 64),
    fuelUsed: 1000 + i,
    deterministic: i % 2 === 0,
    seed: 'd'.repeat(64),
    traceId: hex(i, 32),
    time: '2026-11-29T11:18:50.123Z',
  };
}

const batchOf = (n: number, signer = key, first = 0): BatchReceipt[] =>
  signReceiptBatch(
    Array.from({ length: n }, (_, i) => claimsOf(first + i)),
    signer,
  );

// RFC 9162 §2.1.1 and §2.1.3.1, transcribed as written: MTH and PATH, recursive, no sharing.
const sha = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const largestPowerOfTwoBelow = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);
function mth(leaves: Uint8Array[]): Buffer {
  if (leaves.length === 1) return sha(Uint8Array.of(0), leaves[0] as Uint8Array);
  const k = largestPowerOfTwoBelow(leaves.length);
  return sha(Uint8Array.of(1), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function rfcPath(m: number, leaves: Uint8Array[]): Buffer[] {
  if (leaves.length === 1) return [];
  const k = largestPowerOfTwoBelow(leaves.length);
  return m < k
    ? [...rfcPath(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...rfcPath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

void test('Merkle tree: root and every path match RFC 9162 MTH/PATH for sizes 1..17; every proof verifies, no other does', () => {
  assert.equal(largestPowerOfTwoBelow(2), 1);
  assert.equal(largestPowerOfTwoBelow(5), 4);
  assert.equal(largestPowerOfTwoBelow(8), 4);
  for (let n = 1; n <= 17; n++) {
    const leaves = Array.from({ length: n }, (_, i) => new TextEncoder().encode(`leaf ${i}`));
    const tree = buildMerkleTree(leaves.map((leaf) => merkleLeafHash(leaf)));
    // The transcription works in bytes; the implementation in hex.
    const root = mth(leaves).toString('hex');
    assert.equal(tree.root, root, `root of ${n}`);
    for (let m = 0; m < n; m++) {
      const path = rfcPath(m, leaves).map((hash) => hash.toString('hex'));
      assert.deepEqual(tree.paths[m], path, `path of ${m} in ${n}`);
      assert.equal(merklePathLength(m, n), path.length, `path length of ${m} in ${n}`);
      const leafHash = merkleLeafHash(leaves[m] as Uint8Array);
      assert.equal(leafHash, sha(Uint8Array.of(0), leaves[m] as Uint8Array).toString('hex'));
      assert.equal(merkleRootFromPath(leafHash, m, n, path), root, `proof of ${m} in ${n}`);
      // Another index, a path one short or one long: not this root.
      for (const [index, size, p] of [
        [(m + 1) % n, n, path],
        [m, n, path.slice(1)],
        [m, n, [...path, root]],
      ] as const) {
        if (index === m && size === n && p === path) continue;
        const reached = merkleRootFromPath(leafHash, index, size, p);
        if (n > 1 || size !== n) assert.notEqual(reached, root, `forged proof of ${m} in ${n}`);
      }
    }
  }
  // Another size may reach the same root with the same path (leaf 0 of 3 read as leaf 0 of 4):
  // this is why the batch signature binds the size as well as the root.
  const three = [1, 2, 3].map((i) => merkleLeafHash(Uint8Array.of(i)));
  const tree3 = buildMerkleTree(three);
  assert.equal(merkleRootFromPath(three[0] as string, 0, 4, tree3.paths[0] ?? []), tree3.root);
  assert.equal(merkleRootFromPath(merkleLeafHash(Uint8Array.of(1)), 3, 3, []), undefined);
  assert.equal(merklePathLength(3, 3), undefined);
  assert.throws(() => buildMerkleTree([]), RangeError);
  // One (0x00) leaf of 64 bytes never passes for the node over two hashes (0x01).
  const a = merkleLeafHash(Uint8Array.of(1));
  const b = merkleLeafHash(Uint8Array.of(2));
  assert.notEqual(merkleLeafHash(Buffer.from(a + b, 'hex')), buildMerkleTree([a, b]).root);
});

void test('every receipt of batches of 1..17 verifies alone, through JSON, by anyone holding the peer id', async () => {
  for (let n = 1; n <= 17; n++) {
    const receipts = batchOf(n);
    const signatures = new Set(receipts.map((receipt) => receipt.signature));
    assert.equal(signatures.size, 1, `one signature for the batch of ${n}`);
    for (const [i, receipt] of receipts.entries()) {
      assert.deepEqual(receipt.batch.size, n);
      assert.deepEqual(receipt.batch.index, i);
      // A fresh cache each time: the receipt proves itself, nothing remembered helps it.
      const travelled: unknown = JSON.parse(JSON.stringify(receipt));
      assert.deepEqual(await verifyReceipt(travelled, peer, { cache: new VerifiedBatchCache() }), receipt);
    }
  }
});

void test('one OpenSSL verification serves a whole batch: the cache holds (peer, size, root, signature)', async () => {
  const cache = new VerifiedBatchCache();
  const receipts = batchOf(MAX_RECEIPTS_PER_BATCH);
  for (const receipt of receipts) await verifyReceipt(receipt, peer, { cache });
  assert.equal(cache.size, 1);
  assert.equal(cache.misses, 1);
  assert.equal(cache.hits, MAX_RECEIPTS_PER_BATCH - 1);
  // A second batch with the same claims has the same root but its own signature? Ed25519 is
  // deterministic: the same root and size give the same signature, and the same cache entry.
  for (const receipt of batchOf(MAX_RECEIPTS_PER_BATCH)) await verifyReceipt(receipt, peer, { cache });
  assert.equal(cache.misses, 1);
});

void test('tampering with any claim, the index, the size, any path element or the signature ⇒ signature_invalid', async () => {
  const receipts = batchOf(13);
  const cache = new VerifiedBatchCache();
  for (const receipt of receipts) await verifyReceipt(receipt, peer, { cache });
  // Every forgery below is checked against a cache that has verified the genuine batch.
  const target = receipts[6] as BatchReceipt;
  const refused = async (value: unknown, what: string, pattern?: RegExp): Promise<void> => {
    await assert.rejects(verifyReceipt(value, peer, { cache }), isCode('signature_invalid', pattern), what);
  };
  const claimChanges: Record<string, unknown> = {
    moduleSha256: 'f'.repeat(64),
    requestSha256: 'f'.repeat(64),
    responseSha256: 'f'.repeat(64),
    fuelUsed: target.fuelUsed + 1,
    deterministic: !target.deterministic,
    seed: 'f'.repeat(64),
    traceId: 'f'.repeat(32),
    time: '2026-11-29T11:18:51.123Z',
  };
  for (const [field, value] of Object.entries(claimChanges)) {
    await refused({ ...target, [field]: value }, field, /does not verify/);
  }
  // Index: another leaf's position (same path length in a 13-leaf tree) or out of range.
  await refused({ ...target, batch: { ...target.batch, index: 5 } }, 'index 5', /does not verify/);
  await refused({ ...target, batch: { ...target.batch, index: 13 } }, 'index = size', /batch\.index/);
  // Size: the same path fits a 14-leaf tree for leaf 6 — another signed statement, refused.
  await refused({ ...target, batch: { ...target.batch, size: 14 } }, 'size 14', /does not verify/);
  await refused({ ...target, batch: { ...target.batch, size: 12 } }, 'size 12', /does not verify/);
  for (let i = 0; i < target.batch.path.length; i++) {
    const path = [...target.batch.path];
    const hash = path[i] as string;
    path[i] = (hash[0] === '0' ? '1' : '0') + hash.slice(1);
    await refused({ ...target, batch: { ...target.batch, path } }, `path[${i}]`, /does not verify/);
  }
  const bytes = Buffer.from(target.signature, 'base64url');
  bytes[10] = (bytes[10] ?? 0) ^ 1;
  await refused({ ...target, signature: bytes.toString('base64url') }, 'signature bit');
  // A sibling's claims with the target's proof (a receipt "moved" within its batch).
  const sibling = receipts[7] as BatchReceipt;
  await refused({ ...sibling, batch: target.batch }, "a sibling's claims on this proof", /does not verify/);
  assert.equal(cache.size, 1, 'no forgery was remembered');
});

void test('receipts swapped between two batches, or re-signed by another peer, are refused', async () => {
  const first = batchOf(4, key, 0);
  const second = batchOf(4, key, 100);
  const cache = new VerifiedBatchCache();
  for (const receipt of [...first, ...second]) await verifyReceipt(receipt, peer, { cache });
  const a = first[1] as BatchReceipt;
  const b = second[1] as BatchReceipt;
  // a's claims with b's proof and signature; a's claims and proof with b's signature.
  await assert.rejects(
    verifyReceipt({ ...a, batch: b.batch, signature: b.signature }, peer, { cache }),
    isCode('signature_invalid'),
  );
  await assert.rejects(
    verifyReceipt({ ...a, signature: b.signature }, peer, { cache }),
    isCode('signature_invalid'),
  );
  // A batch signed by another peer: refused when it claims to be ours, refused from the peer called.
  const theirs = batchOf(4, other, 0)[1] as BatchReceipt;
  await assert.rejects(
    verifyReceipt(theirs, peer, { cache }),
    isCode('signature_invalid', /not from the peer called/),
  );
  await assert.rejects(
    verifyReceipt({ ...theirs, peer: peer.toString() }, peer, { cache }),
    isCode('signature_invalid', /does not verify/),
  );
  // Another peer's genuine receipt verifies as theirs, and their cache entry is theirs alone.
  await verifyReceipt(theirs, otherPeer, { cache });
  await assert.rejects(
    verifyReceipt({ ...theirs, peer: peer.toString() }, peer, { cache }),
    isCode('signature_invalid', /does not verify/),
  );
});

void test('a cached verification does not validate a forged sibling: same root needs the same leaves', async () => {
  const receipts = batchOf(8);
  const cache = new VerifiedBatchCache();
  await verifyReceipt(receipts[0], peer, { cache });
  assert.equal(cache.size, 1);
  // A forger who knows the genuine signature and root, and every sibling hash, changes leaf 3's
  // fuel: its path now leads to another root, so the cache does not answer, and OpenSSL refuses.
  const forged = { ...(receipts[3] as BatchReceipt), fuelUsed: 1 };
  const before = cache.misses;
  await assert.rejects(
    verifyReceipt(forged, peer, { cache }),
    isCode('signature_invalid', /does not verify/),
  );
  assert.equal(cache.misses, before + 1);
  // Nor can a forger present the cached root's signature with a path that skips to the root:
  // a batch of size 1 claiming the root is its leaf — the leaf hash is not the root.
  await assert.rejects(
    verifyReceipt({ ...forged, batch: { size: 1, index: 0, path: [] } }, peer, { cache }),
    isCode('signature_invalid', /does not verify/),
  );
  // The genuine sibling rides on the cached verification.
  const hits = cache.hits;
  await verifyReceipt(receipts[3], peer, { cache });
  assert.equal(cache.hits, hits + 1);
});

void test('bounds: a batch of exactly MAX_RECEIPTS_PER_BATCH signs and verifies, one more is refused; path length exact', async () => {
  assert.equal(MAX_RECEIPT_PATH_LENGTH, 6);
  const full = batchOf(MAX_RECEIPTS_PER_BATCH);
  assert.equal(Math.max(...full.map((receipt) => receipt.batch.path.length)), MAX_RECEIPT_PATH_LENGTH);
  await verifyReceipt(full[MAX_RECEIPTS_PER_BATCH - 1], peer);
  assert.throws(() => batchOf(MAX_RECEIPTS_PER_BATCH + 1), isCode('internal', /MAX_RECEIPTS_PER_BATCH/));
  assert.throws(() => signReceiptBatch([], key), isCode('internal'));
  // A genuine signature over a 65-leaf tree (made by hand): refused for its size before any hashing.
  const claims65 = Array.from({ length: MAX_RECEIPTS_PER_BATCH + 1 }, (_, i) => claimsOf(i));
  const leaves = claims65.map((claims) =>
    merkleLeafHash(receiptLeafBytes({ schema: 2, peer: peer.toString(), ...claims })),
  );
  const tree = buildMerkleTree(leaves);
  const signature = Buffer.from(
    await key.sign(receiptBatchSigningBytes(tree.root, MAX_RECEIPTS_PER_BATCH + 1)),
  ).toString('base64url');
  const last = MAX_RECEIPTS_PER_BATCH;
  const oversized = {
    schema: 2,
    peer: peer.toString(),
    ...claims65[last],
    batch: { size: last + 1, index: last, path: tree.paths[last] ?? [] },
    signature,
  };
  assert.equal(
    merkleRootFromPath(leaves[last] as string, last, last + 1, tree.paths[last] ?? []),
    tree.root,
    'the hand-made proof is itself sound',
  );
  await assert.rejects(
    verifyReceipt(oversized, peer),
    isCode('signature_invalid', /batch\.size.*MAX_RECEIPTS_PER_BATCH/),
  );
  const target = full[0] as BatchReceipt;
  const cases: [string, unknown, RegExp][] = [
    ['size 0', { ...target.batch, size: 0 }, /batch\.size/],
    ['size fractional', { ...target.batch, size: 1.5 }, /batch\.size/],
    ['size as string', { ...target.batch, size: '64' }, /batch\.size/],
    ['index negative', { ...target.batch, index: -1 }, /batch\.index/],
    ['index missing', { size: 64, path: target.batch.path }, /batch\.index/],
    ['path too long', { ...target.batch, path: [...target.batch.path, target.batch.path[0]] }, /batch\.path/],
    ['path one short', { ...target.batch, path: target.batch.path.slice(1) }, /batch\.path must have 6/],
    ['path not an array', { ...target.batch, path: target.batch.path.join('') }, /batch\.path/],
    [
      'path element uppercase',
      { ...target.batch, path: [target.batch.path[0]?.toUpperCase(), ...target.batch.path.slice(1)] },
      /batch\.path\[0\]/,
    ],
    [
      'path element short',
      { ...target.batch, path: [...target.batch.path.slice(0, 5), 'ab'] },
      /batch\.path\[5\]/,
    ],
    [
      'path element a number',
      { ...target.batch, path: [...target.batch.path.slice(0, 5), 7] },
      /batch\.path\[5\]/,
    ],
    ['unknown field', { ...target.batch, root: 'a'.repeat(64) }, /batch has an unknown field "root"/],
    ['null', null, /batch must be/],
  ];
  for (const [what, batch, pattern] of cases) {
    assert.throws(() => parseReceipt({ ...target, batch }), isCode('signature_invalid', pattern), what);
  }
  // A path of 33 (the old bound of any RFC 9162 proof) is refused on its length alone.
  assert.throws(
    () => parseReceipt({ ...target, batch: { ...target.batch, path: Array(33).fill('0'.repeat(64)) } }),
    isCode('signature_invalid', /at most 6/),
  );
});

void test('VerifiedBatchCache: least recently used forgotten at its capacity, and capacity is checked', async () => {
  const cache = new VerifiedBatchCache(2);
  const batches = [batchOf(2, key, 0), batchOf(2, key, 10), batchOf(2, key, 20)];
  await verifyReceipt(batches[0]?.[0], peer, { cache });
  await verifyReceipt(batches[1]?.[0], peer, { cache });
  await verifyReceipt(batches[0]?.[1], peer, { cache }); // a hit: batch 0 is now the most recent
  await verifyReceipt(batches[2]?.[0], peer, { cache }); // evicts batch 1
  assert.equal(cache.size, 2);
  const misses = cache.misses;
  await verifyReceipt(batches[0]?.[1], peer, { cache });
  assert.equal(cache.misses, misses, 'batch 0 still remembered');
  await verifyReceipt(batches[1]?.[1], peer, { cache });
  assert.equal(cache.misses, misses + 1, 'batch 1 was forgotten, verified again');
  assert.throws(() => new VerifiedBatchCache(0), RangeError);
});

void test('leaf bytes are exactly the canonical JSON (RFC 8785) of the receipt without batch and signature', () => {
  const hex = (length: number) =>
    fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
  fc.assert(
    fc.property(
      hex(64),
      hex(32),
      fc.maxSafeNat(),
      fc.boolean(),
      fc.date({ min: new Date(0), max: new Date(8.64e15), noInvalidDate: true }),
      (sha, trace, fuelUsed, deterministic, date) => {
        const unsigned = {
          schema: 2 as const,
          peer: peer.toString(),
          moduleSha256: sha,
          requestSha256: sha,
          responseSha256: sha,
          fuelUsed,
          deterministic,
          seed: sha,
          traceId: trace,
          time: date.toISOString(),
        };
        assert.equal(new TextDecoder().decode(receiptLeafBytes(unsigned)), canonicalJson(unsigned));
      },
    ),
    { numRuns: 300 },
  );
});
