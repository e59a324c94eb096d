/**
 * Verification runs on node:crypto, signing on tweetnacl (src/signing.ts). Both must give the
 * same verdict on every signature a peer can send: valid ones, ones with a flipped bit in the
 * message, the signature or the key, and ones with S not reduced (which only our own check
 * refuses: tweetnacl alone accepts S + L).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { verifyDetached, signDetached } from '../src/signing.ts';

const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

function withScalarPlusOrder(signature: Uint8Array): Uint8Array {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] ?? 0);
  s += GROUP_ORDER;
  const out = new Uint8Array(signature);
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

void test('node:crypto verification agrees with tweetnacl on valid and tampered signatures', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.constantFrom('none', 'message', 'signature', 'key'),
      fc.nat(),
      (seed, message, tamper, where) => {
        const keys = nacl.sign.keyPair.fromSeed(seed);
        const signature = signDetached(message, keys.secretKey);
        const msg = new Uint8Array(message);
        const sig = new Uint8Array(signature);
        const key = new Uint8Array(keys.publicKey);
        if (tamper === 'message' && msg.length > 0) msg[where % msg.length]! ^= 1 << (where % 8);
        if (tamper === 'signature') sig[where % 64]! ^= 1 << (where % 8);
        if (tamper === 'key') key[where % 32]! ^= 1 << (where % 8);
        const expected = nacl.sign.detached.verify(msg, sig, key);
        assert.equal(verifyDetached(msg, sig, key), expected);
        if (tamper === 'none') assert.equal(expected, true);
      },
    ),
    { numRuns: 300 },
  );
});

void test('a non-reduced S (S + L) verifies under tweetnacl but is refused', () => {
  const keys = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(7));
  const message = new TextEncoder().encode('gojinn');
  const malleated = withScalarPlusOrder(signDetached(message, keys.secretKey));
  assert.equal(nacl.sign.detached.verify(message, malleated, keys.publicKey), true);
  assert.equal(verifyDetached(message, malleated, keys.publicKey), false);
});

void test('keys and signatures of the wrong length, and keys that are not points, verify nothing', () => {
  const keys = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(9));
  const message = new Uint8Array([1, 2, 3]);
  const signature = signDetached(message, keys.secretKey);
  assert.equal(verifyDetached(message, signature.subarray(0, 63), keys.publicKey), false);
  assert.equal(verifyDetached(message, signature, keys.publicKey.subarray(0, 31)), false);
  // y = 2 has no x on the curve: not a valid point encoding.
  const notAPoint = new Uint8Array(32);
  notAPoint[0] = 2;
  assert.equal(verifyDetached(message, signature, notAPoint), false);
});
