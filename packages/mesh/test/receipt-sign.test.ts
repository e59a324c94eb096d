/** Receipts: signed by the node key, verified with the key inside the peer id, strict about every field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { GojinnError } from '@gojinn/errors';
import { canonicalJson } from '@gojinn/manifest';
import {
  RECEIPT_BATCH_DOMAIN_TAG,
  RECEIPT_DOMAIN_TAG,
  MAX_CACHED_RECEIPT_KEYS,
  MAX_RECEIPT_TIME_CHARS,
  parseReceipt,
  receiptBatchSigningBytes,
  receiptLeafBytes,
  receiptSigningBytes,
  signReceipt,
  verifyReceipt,
} from '../src/invoke/receipt.ts';
import { merkleLeafHash } from '../src/invoke/merkle.ts';
import type { Receipt, ReceiptClaims } from '../src/invoke/receipt.ts';

const key = await generateKeyPair('Ed25519');
const other = await generateKeyPair('Ed25519');
const peer = peerIdFromPrivateKey(key);
const otherPeer = peerIdFromPrivateKey(other);

const CLAIMS: ReceiptClaims = {
  moduleSha256: 'a'.repeat(64),
  requestSha256: 'b'.repeat(64),
  responseSha256: 'c'.repeat(64),
  fuelUsed: 12_345,
  deterministic: true,
  seed: 'd'.repeat(64),
  traceId: 'e'.repeat(32),
  time: '2026-11-29T11:18:50.123Z',
};

const isCode = (code: string) => (error: unknown) => error instanceof GojinnError && error.code === code;

void test('a signed receipt verifies against the peer that signed it, and carries its peer id', async () => {
  const receipt = await signReceipt(CLAIMS, key);
  assert.equal(receipt.peer, peer.toString());
  assert.equal(receipt.schema, 2);
  assert.deepEqual(receipt.batch, { size: 1, index: 0, path: [] });
  assert.match(receipt.signature, /^[A-Za-z0-9_-]{86}$/);
  assert.deepEqual(await verifyReceipt(receipt, peer), receipt);
  // Through JSON as it travels: still verifies (a string peer id works too).
  assert.deepEqual(await verifyReceipt(JSON.parse(JSON.stringify(receipt)), peer.toString()), receipt);
});

void test('changing any field (schema excepted: it must be 2) breaks the signature', async () => {
  const receipt = await signReceipt(CLAIMS, key);
  const tampered: Partial<Record<keyof Receipt, unknown>> = {
    moduleSha256: 'f'.repeat(64),
    requestSha256: 'f'.repeat(64),
    responseSha256: 'f'.repeat(64),
    fuelUsed: 12_346,
    deterministic: false,
    seed: 'f'.repeat(64),
    traceId: 'f'.repeat(32),
    time: '2026-11-29T11:18:51.123Z',
  };
  for (const [field, value] of Object.entries(tampered)) {
    await assert.rejects(
      verifyReceipt({ ...receipt, [field]: value }, peer),
      (error: unknown) =>
        isCode('signature_invalid')(error) && /does not verify/.test((error as Error).message),
      field,
    );
  }
  // The signature itself: one bit of R flipped.
  const bytes = Buffer.from(receipt.signature, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  await assert.rejects(
    verifyReceipt({ ...receipt, signature: bytes.toString('base64url') }, peer),
    isCode('signature_invalid'),
  );
});

void test('a receipt is refused unless it is from the peer called, and another key cannot speak for a peer', async () => {
  const receipt = await signReceipt(CLAIMS, key);
  await assert.rejects(
    verifyReceipt(receipt, otherPeer),
    (error: unknown) =>
      isCode('signature_invalid')(error) && /not from the peer called/.test((error as Error).message),
  );
  // Claiming to be the other peer with our signature: the other peer's key does not verify it.
  await assert.rejects(
    verifyReceipt({ ...receipt, peer: otherPeer.toString() }, otherPeer),
    isCode('signature_invalid'),
  );
  // The other peer's own receipt, swapped in under our name.
  const theirs = await signReceipt(CLAIMS, other);
  await assert.rejects(
    verifyReceipt({ ...theirs, peer: peer.toString() }, peer),
    isCode('signature_invalid'),
  );
});

void test('a signature over the batch root under another domain tag, or over the leaf, does not verify as a receipt', async () => {
  const receipt = await signReceipt(CLAIMS, key);
  // A batch of one: the root is the leaf hash, and the signed bytes are the tag + { root, size }.
  const root = merkleLeafHash(receiptLeafBytes(receipt));
  const signed = new TextDecoder().decode(receiptBatchSigningBytes(root, 1));
  assert.equal(signed, `${RECEIPT_BATCH_DOMAIN_TAG}{"root":"${root}","size":1}`);
  assert.ok(
    await key.publicKey.verify(
      receiptBatchSigningBytes(root, 1),
      Buffer.from(receipt.signature, 'base64url'),
    ),
  );
  const body = signed.slice(RECEIPT_BATCH_DOMAIN_TAG.length);
  const forgeries: [string, Uint8Array][] = [
    ['manifest tag', new TextEncoder().encode(`gojinn/manifest/v1\n${body}`)],
    ['schema-1 receipt tag', new TextEncoder().encode(`${RECEIPT_DOMAIN_TAG}${body}`)],
    ['the leaf bytes alone', receiptLeafBytes(receipt)],
    ['the root without the tag', Buffer.from(root, 'hex')],
  ];
  for (const [what, bytes] of forgeries) {
    const forged = Buffer.from(await key.sign(bytes)).toString('base64url');
    await assert.rejects(
      verifyReceipt({ ...receipt, signature: forged }, peer),
      isCode('signature_invalid'),
      what,
    );
  }
  // The leaf covers every field but batch and signature, schema and peer included.
  const { signature: _s, batch: _b, ...unsigned } = receipt;
  assert.equal(new TextDecoder().decode(receiptLeafBytes(receipt)), canonicalJson(unsigned));
});

void test('strict parse: unknown or missing fields, bad hex, bad numbers, bad time, bad signature text, wrong schema', async () => {
  const receipt = await signReceipt(CLAIMS, key);
  const { traceId: _dropped, ...missingTrace } = receipt;
  const cases: [string, unknown][] = [
    ['not an object', [receipt]],
    ['null', null],
    ['unknown field', { ...receipt, extra: 1 }],
    ['missing traceId', missingTrace],
    ['uppercase hex', { ...receipt, moduleSha256: 'A'.repeat(64) }],
    ['short hex', { ...receipt, requestSha256: 'b'.repeat(63) }],
    ['seed not hex', { ...receipt, seed: 'z'.repeat(64) }],
    ['trace id of 33', { ...receipt, traceId: 'e'.repeat(33) }],
    ['negative fuel', { ...receipt, fuelUsed: -1 }],
    ['fractional fuel', { ...receipt, fuelUsed: 1.5 }],
    ['unsafe fuel', { ...receipt, fuelUsed: 2 ** 53 }],
    ['fuel as string', { ...receipt, fuelUsed: '12345' }],
    ['deterministic as string', { ...receipt, deterministic: 'true' }],
    ['local time', { ...receipt, time: '2026-11-29T11:18:50' }],
    ['impossible date', { ...receipt, time: '2026-13-45T11:18:50Z' }],
    ['time too long', { ...receipt, time: `2026-11-29T11:18:50.${'1'.repeat(MAX_RECEIPT_TIME_CHARS)}Z` }],
    ['schema 3', { ...receipt, schema: 3 }],
    ['schema 1 with a batch', { ...receipt, schema: 1 }],
    ['schema as string', { ...receipt, schema: '2' }],
    ['no batch', { ...receipt, batch: undefined }],
    ['batch not an object', { ...receipt, batch: [1, 0, []] }],
    ['signature too short', { ...receipt, signature: receipt.signature.slice(1) }],
    ['signature padded', { ...receipt, signature: `${receipt.signature}==` }],
    ['signature in base64', { ...receipt, signature: receipt.signature.replace(/^./, '+') }],
    ['peer not a peer id', { ...receipt, peer: 'not-a-peer' }],
    ['peer empty', { ...receipt, peer: '' }],
  ];
  for (const [what, value] of cases) {
    assert.throws(() => parseReceipt(value), isCode('signature_invalid'), what);
    await assert.rejects(verifyReceipt(value, peer), isCode('signature_invalid'), what);
  }
});

void test('a non-canonical signature spelling (non-zero trailing bits) is refused', async () => {
  const receipt = await signReceipt(CLAIMS, key);
  // 64 bytes = 85 full characters + one carrying 4 bits and 2 unused bits; set an unused bit.
  const last = receipt.signature.at(-1) ?? 'A';
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sibling = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A';
  const respelled = receipt.signature.slice(0, -1) + sibling;
  assert.deepEqual(Buffer.from(respelled, 'base64url'), Buffer.from(receipt.signature, 'base64url'));
  assert.throws(() => parseReceipt({ ...receipt, signature: respelled }), isCode('signature_invalid'));
});

void test('a receipt from a non-Ed25519 peer id is refused; signing refuses bad claims and non-Ed25519 keys', async () => {
  const secp = await generateKeyPair('secp256k1');
  const receipt = await signReceipt(CLAIMS, key);
  assert.throws(
    () => parseReceipt({ ...receipt, peer: peerIdFromPrivateKey(secp).toString() }),
    (error: unknown) => isCode('signature_invalid')(error) && /Ed25519/.test((error as Error).message),
  );
  await assert.rejects(signReceipt(CLAIMS, secp), isCode('internal'));
  await assert.rejects(signReceipt({ ...CLAIMS, seed: 'short' }, key), isCode('internal'));
  await assert.rejects(signReceipt({ ...CLAIMS, fuelUsed: 2 ** 53 }, key), isCode('internal'));
});

void test('past MAX_CACHED_RECEIPT_KEYS peers, receipts of forgotten and new peers still verify, and forgeries still fail', async () => {
  const first = await signReceipt(CLAIMS, key);
  await verifyReceipt(first, peer);
  // One more distinct peer than the cache holds: the first peer's key is forgotten.
  for (let i = 0; i < MAX_CACHED_RECEIPT_KEYS; i++) {
    const k = await generateKeyPair('Ed25519');
    const r = await signReceipt(CLAIMS, k);
    if (i === 0 || i === MAX_CACHED_RECEIPT_KEYS - 1) await verifyReceipt(r, peerIdFromPrivateKey(k));
    else parseReceipt(r); // loads the key into the cache
  }
  assert.deepEqual(await verifyReceipt(first, peer), first);
  await assert.rejects(verifyReceipt({ ...first, fuelUsed: 1 }, peer), isCode('signature_invalid'));
});

/**
 * Signed by the previous release (one signature per receipt, `gojinn/receipt/v1\n` + canonical
 * JSON) with the Ed25519 key whose seed is 32 bytes of 7: the bytes an older node produced.
 */
const SCHEMA_1_RECEIPT = {
  schema: 1,
  peer: '12D3KooWRawPbxPtP1eZaJpumGnyWX2DcUyd3RQnydr3eAto4Az7',
  moduleSha256: 'a'.repeat(64),
  requestSha256: 'b'.repeat(64),
  responseSha256: 'c'.repeat(64),
  fuelUsed: 12345,
  deterministic: true,
  seed: 'd'.repeat(64),
  traceId: 'e'.repeat(32),
  time: '2026-11-29T11:18:50.123Z',
  signature: 'OrsDbSSXCbXKkWkNPbyke4-awucFN6m3uhuE3U1o2lEzot5IZjYWwvmm-COk6dTgiZ8K4URR1RZ-AVBmC8n7DQ',
} as const;

void test('a schema-1 receipt from an older node still verifies, strictly; it cannot be relabelled schema 2', async () => {
  const signer = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(7)));
  assert.equal(signer.toString(), SCHEMA_1_RECEIPT.peer);
  assert.deepEqual(await verifyReceipt(SCHEMA_1_RECEIPT, signer), SCHEMA_1_RECEIPT);
  const { signature: _s, ...unsigned } = SCHEMA_1_RECEIPT;
  assert.equal(
    new TextDecoder().decode(receiptSigningBytes(unsigned)),
    RECEIPT_DOMAIN_TAG + canonicalJson({ ...unsigned }),
  );
  for (const [field, value] of [
    ['fuelUsed', 12_346],
    ['responseSha256', 'f'.repeat(64)],
    ['time', '2026-11-29T11:18:51.123Z'],
  ] as const) {
    await assert.rejects(
      verifyReceipt({ ...SCHEMA_1_RECEIPT, [field]: value }, signer),
      (error: unknown) =>
        isCode('signature_invalid')(error) && /does not verify/.test((error as Error).message),
      field,
    );
  }
  await assert.rejects(verifyReceipt(SCHEMA_1_RECEIPT, peer), isCode('signature_invalid'));
  // Its signature under schema 2 (with a proof of a batch of one) covers other bytes: refused.
  await assert.rejects(
    verifyReceipt({ ...SCHEMA_1_RECEIPT, schema: 2, batch: { size: 1, index: 0, path: [] } }, signer),
    isCode('signature_invalid'),
  );
  // Schema 1 has no batch field.
  await assert.rejects(
    verifyReceipt({ ...SCHEMA_1_RECEIPT, batch: { size: 1, index: 0, path: [] } }, signer),
    isCode('signature_invalid'),
  );
});
