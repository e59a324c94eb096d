import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile, chmod, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import nacl from 'tweetnacl';
import {
  MAX_KEY_FILE_BYTES,
  PUBLIC_KEY_PREFIX,
  encodePrivateKeyFile,
  formatPublicKey,
  generateKeyPair,
  keyPairFromSecretKey,
  parsePrivateKeyFile,
  parsePublicKey,
  readPrivateKeyFile,
  writePrivateKeyFile,
} from '../src/index.ts';
import { publisher } from './fixtures.ts';

const codeIs = (code: string) => (error: unknown) => (error as { code?: string }).code === code;

void test('generated key pairs are distinct and their text form round-trips', () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  assert.notEqual(a.publicKey, b.publicKey);
  assert.match(a.publicKey, /^ed25519:[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(parsePublicKey(a.publicKey), a.publicKeyBytes);
  assert.equal(formatPublicKey(parsePublicKey(a.publicKey)), a.publicKey);
  assert.deepEqual(keyPairFromSecretKey(a.secretKey).publicKey, a.publicKey);
});

void test('the public key parser refuses every other spelling with bad_request', () => {
  const good = publisher.publicKey;
  const body = good.slice(PUBLIC_KEY_PREFIX.length);
  const lastChar = body.at(-1) as string;
  // 43 base64url characters carry 258 bits: the last character's two low bits must be zero.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const nonCanonicalLast = alphabet[alphabet.indexOf(lastChar) ^ 1] as string;
  const bad = [
    '',
    'ed25519:',
    body,
    `ED25519:${body}`,
    `x25519:${body}`,
    `ed25519:${body.slice(1)}`,
    `ed25519:${body}A`,
    `ed25519:${body}=`,
    ` ${good}`,
    `${good}\n`,
    `ed25519:${body.slice(0, 10)}+${body.slice(11)}`,
    `ed25519:${body.slice(0, -1)}${nonCanonicalLast}`,
    `ed25519:${Buffer.from(publisher.publicKeyBytes).toString('base64')}`,
  ];
  for (const text of bad) {
    assert.throws(() => parsePublicKey(text), codeIs('bad_request'), JSON.stringify(text));
    assert.throws(
      () => parsePublicKey(text, 'signature_invalid'),
      codeIs('signature_invalid'),
      JSON.stringify(text),
    );
  }
});

// Small-order points and non-canonical encodings: tweetnacl accepts a signature (R = [a]B,
// S = a) under them for any message whose challenge k is a multiple of the point's order.
const FIELD_PRIME = 2n ** 255n - 19n;
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
const ORDER_8_Y = 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n;
const littleEndian = (value: bigint): Uint8Array => {
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++, value >>= 8n) bytes[i] = Number(value & 0xffn);
  return bytes;
};
const fromLittleEndian = (bytes: Uint8Array): bigint =>
  bytes.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);

void test('weak public keys that let anyone forge signatures under tweetnacl are refused', () => {
  const seed = new Uint8Array(32).fill(9);
  const r = nacl.sign.keyPair.fromSeed(seed).publicKey;
  const h = createHash('sha512').update(seed).digest();
  h[0] = (h[0] as number) & 248;
  h[31] = ((h[31] as number) & 127) | 64;
  const forged = new Uint8Array(64);
  forged.set(r, 0);
  forged.set(littleEndian(fromLittleEndian(h.subarray(0, 32)) % GROUP_ORDER), 32);
  const ys = [0n, 1n, FIELD_PRIME - 1n, ORDER_8_Y, FIELD_PRIME - ORDER_8_Y, FIELD_PRIME, FIELD_PRIME + 1n];
  for (const y of ys) {
    for (const sign of [0n, 1n]) {
      const key = littleEndian(y | (sign << 255n));
      let message: Uint8Array | undefined;
      for (let i = 0; i < 200 && message === undefined; i++) {
        const candidate = new TextEncoder().encode(`forged ${i}`);
        const k =
          fromLittleEndian(createHash('sha512').update(r).update(key).update(candidate).digest()) %
          GROUP_ORDER;
        if (k % 8n === 0n) message = candidate;
      }
      assert.ok(message, 'a message with k ≡ 0 (mod 8) exists among 200 tries');
      assert.equal(
        nacl.sign.detached.verify(message, forged, key),
        true,
        `tweetnacl accepts a forgery under y=${y} sign=${sign}`,
      );
      assert.throws(() => parsePublicKey(formatPublicKey(key)), /small-order or non-canonical/);
    }
  }
});

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'gojinn-keys-'));
}

void test('a private key file is written with mode 0600 and reads back as the same key', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, 'publisher.key');
    const pair = generateKeyPair();
    await writePrivateKeyFile(path, pair);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const read = await readPrivateKeyFile(path);
    assert.equal(read.publicKey, pair.publicKey);
    assert.deepEqual(read.secretKey, pair.secretKey);
    assert.deepEqual(await readdir(dir), ['publisher.key'], 'no temporary file is left behind');
  } finally {
    await rm(dir, { recursive: true });
  }
});

void test('an existing key file is never overwritten without force, and is replaced with it', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, 'publisher.key');
    const first = generateKeyPair();
    const second = generateKeyPair();
    await writePrivateKeyFile(path, first);
    await assert.rejects(writePrivateKeyFile(path, second), (error: Error & { code?: string }) => {
      return error.code === 'bad_request' && /already exists/.test(error.message);
    });
    assert.equal((await readPrivateKeyFile(path)).publicKey, first.publicKey);
    await writePrivateKeyFile(path, second, { force: true });
    assert.equal((await readPrivateKeyFile(path)).publicKey, second.publicKey);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ['publisher.key']);
  } finally {
    await rm(dir, { recursive: true });
  }
});

void test('a key file that group or others can read is refused, like ssh does', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, 'publisher.key');
    await writePrivateKeyFile(path, generateKeyPair());
    await chmod(path, 0o640);
    await assert.rejects(readPrivateKeyFile(path), /accessible by group or others \(mode 640\)/);
    await chmod(path, 0o604);
    await assert.rejects(readPrivateKeyFile(path), codeIs('bad_request'));
  } finally {
    await rm(dir, { recursive: true });
  }
});

void test('a key file is parsed strictly: type tag, version, fields, size limit, public key matching the seed', async () => {
  const good = JSON.parse(new TextDecoder().decode(encodePrivateKeyFile(publisher))) as Record<
    string,
    unknown
  >;
  const variants: Record<string, unknown>[] = [
    { ...good, type: 'gojinn-x25519-private-key' },
    { ...good, version: 2 },
    { ...good, extra: true },
    { type: good.type, version: good.version, seed: good.seed },
    { ...good, seed: Buffer.alloc(31, 1).toString('base64url') },
    { ...good, publicKey: generateKeyPair().publicKey },
  ];
  for (const variant of variants) {
    assert.throws(
      () => parsePrivateKeyFile(Buffer.from(JSON.stringify(variant))),
      codeIs('bad_request'),
      JSON.stringify(variant),
    );
  }
  assert.equal(parsePrivateKeyFile(Buffer.from(JSON.stringify(good))).publicKey, publisher.publicKey);
  // At the limit: padding with whitespace up to exactly MAX_KEY_FILE_BYTES is accepted, one more byte is not.
  const text = JSON.stringify(good);
  const atLimit = Buffer.from(text + ' '.repeat(MAX_KEY_FILE_BYTES - text.length));
  assert.equal(parsePrivateKeyFile(atLimit).publicKey, publisher.publicKey);
  assert.throws(() => parsePrivateKeyFile(Buffer.concat([atLimit, Buffer.from(' ')])), /MAX_KEY_FILE_BYTES/);

  const dir = await tempDir();
  try {
    const path = join(dir, 'big.key');
    await writeFile(path, Buffer.concat([atLimit, Buffer.from(' ')]), { mode: 0o600 });
    await assert.rejects(readPrivateKeyFile(path), /MAX_KEY_FILE_BYTES/);
    await assert.rejects(readPrivateKeyFile(join(dir, 'missing.key')), /cannot read private key file/);
    assert.equal((await readFile(path)).length, MAX_KEY_FILE_BYTES + 1);
  } finally {
    await rm(dir, { recursive: true });
  }
});

void test('a 64-byte secret key whose halves disagree is refused', () => {
  const spliced = new Uint8Array(64);
  spliced.set(publisher.secretKey.subarray(0, 32), 0);
  spliced.set(generateKeyPair().publicKeyBytes, 32);
  assert.throws(() => keyPairFromSecretKey(spliced), /inconsistent/);
  assert.throws(() => keyPairFromSecretKey(publisher.secretKey.subarray(0, 63)), codeIs('bad_request'));
});
