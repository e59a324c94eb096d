/** Receipts: signed by the node key, verified with the key inside the peer id, strict about every field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { GojinnError } from '@gojinn/errors';
import { canonicalJson } from '@gojinn/manifest';
import {
  RECEIPT_DOMAIN_TAG,
  MAX_CACHED_RECEIPT_KEYS,
  MAX_RECEIPT_TIME_CHARS,
  parseReceipt,
  receiptSigningBytes,
  signReceipt,
  verifyReceipt,
} from '../src/invoke/receipt.ts';
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
  assert.equal(receipt.schema, 1);
  assert.match(receipt.signature, /^[A-Za-z0-9_-]{86}$/);
  assert.deepEqual(await verifyReceipt(receipt, peer), receipt);
  // Through JSON as it travels: still verifies (a string peer id works too).
  assert.deepEqual(await verifyReceipt(JSON.parse(JSON.stringify(receipt)), peer.toString()), receipt);
});

void test('changing any field (schema excepted: it must be 1) breaks the signature', async () => {
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

void test('a signature over the same fields under another domain tag does not verify as a receipt', async () => {
  const receipt = await signReceipt(CLAIMS, key);
  const { signature: _ignored, ...unsigned } = receipt;
  const asManifest = new TextEncoder().encode(`gojinn/manifest/v1\n${canonicalJson(unsigned)}`);
  const forged = Buffer.from(await key.sign(asManifest)).toString('base64url');
  await assert.rejects(verifyReceipt({ ...receipt, signature: forged }, peer), isCode('signature_invalid'));
  // And the real signed bytes start with the receipt tag.
  const signed = new TextDecoder().decode(receiptSigningBytes(unsigned));
  assert.ok(signed.startsWith(RECEIPT_DOMAIN_TAG));
  assert.equal(signed, RECEIPT_DOMAIN_TAG + canonicalJson(unsigned));
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
    ['schema 2', { ...receipt, schema: 2 }],
    ['schema as string', { ...receipt, schema: '1' }],
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
