import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_MANIFEST_BYTES,
  encodeManifest,
  moduleDigest,
  parseManifest,
  readPrivateKeyFile,
  signManifest,
} from '@gojinn/manifest';
import { gojinn, moduleImporting, onlyJson, workspace } from './signing-harness.ts';

/** keygen → sign hello.wasm (declaring kv.read); returns the publisher's public key. */
async function signedWorkspace(dir: string): Promise<string> {
  const keygen = await gojinn(dir, 'keygen', '--out', 'pub.key');
  assert.equal(keygen.code, 0, keygen.stderr);
  const sign = await gojinn(
    dir,
    'sign',
    'hello.wasm',
    '--key',
    'pub.key',
    '--name',
    'hello',
    '--version',
    '1.0.0',
    '--cap',
    'kv.read',
    '--kv-prefix',
    'u/',
  );
  assert.equal(sign.code, 0, sign.stderr);
  return keygen.stdout.trim();
}

const checksOf = (object: Record<string, unknown>) =>
  (object.checks as { check: string }[]).map((c) => c.check);
const errorOf = (object: Record<string, unknown>) => object.error as { code: string; message: string };

void test('round trip keygen → sign → verify: every check passes and is printed in order', async () => {
  const { dir, cleanup } = await workspace();
  try {
    const publicKey = await signedWorkspace(dir);
    const human = await gojinn(dir, 'verify', 'hello.wasm', '--trust', publicKey);
    assert.equal(human.code, 0, human.stderr);
    const order = ['manifest', 'signature', 'publisher', 'content', 'imports'].map((c) =>
      human.stdout.indexOf(`✓ ${c}`),
    );
    assert.ok(
      order.every((at, i) => at > 0 && (i === 0 || at > (order[i - 1] as number))),
      human.stdout,
    );
    assert.match(human.stdout, /verified hello@1\.0\.0 \(bafkrei/);
    const object = onlyJson(await gojinn(dir, 'verify', 'hello.wasm', '--trust', publicKey, '--json'));
    assert.equal(object.ok, true);
    assert.deepEqual(checksOf(object), ['manifest', 'signature', 'publisher', 'content', 'imports']);
    const summary = object.module as Record<string, unknown>;
    assert.equal(summary.publisher, publicKey);
    assert.deepEqual(summary.requiredCapabilities, ['kv.read']);
  } finally {
    await cleanup();
  }
});

void test('verify with no trusted key, or another key, is untrusted_publisher (exit 1) after the signature check', async () => {
  const { dir, cleanup } = await workspace();
  try {
    await signedWorkspace(dir);
    const none = await gojinn(dir, 'verify', 'hello.wasm', '--json');
    assert.equal(none.code, 1);
    const object = onlyJson(none);
    assert.equal(errorOf(object).code, 'untrusted_publisher');
    assert.deepEqual(checksOf(object), ['manifest', 'signature']);
    const other = await gojinn(dir, 'keygen', '--out', 'other.key');
    const wrong = await gojinn(dir, 'verify', 'hello.wasm', '--trust', other.stdout.trim());
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /untrusted_publisher: publisher ed25519:\S+ is not trusted/);
  } finally {
    await cleanup();
  }
});

void test('verify refuses a flipped module byte and a manifest for other bytes: signature_invalid, hash mismatch', async () => {
  const { dir, cleanup } = await workspace();
  try {
    const publicKey = await signedWorkspace(dir);
    const bytes = await readFile(join(dir, 'hello.wasm'));
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x40;
    await writeFile(join(dir, 'flipped.wasm'), bytes);
    const flipped = await gojinn(
      dir,
      'verify',
      'flipped.wasm',
      '--manifest',
      'hello.manifest.json',
      '--trust',
      publicKey,
      '--json',
    );
    assert.equal(flipped.code, 1);
    assert.equal(errorOf(onlyJson(flipped)).code, 'signature_invalid');
    assert.match(errorOf(onlyJson(flipped)).message, /module hash mismatch: manifest says sha256/);
    assert.deepEqual(checksOf(onlyJson(flipped)), ['manifest', 'signature', 'publisher']);

    await writeFile(join(dir, 'other.wasm'), await moduleImporting('kv_get', 'kv_list'));
    const other = await gojinn(
      dir,
      'verify',
      'other.wasm',
      '--manifest',
      'hello.manifest.json',
      '--trust',
      publicKey,
    );
    assert.equal(other.code, 1);
    assert.match(other.stderr, /signature_invalid: module hash mismatch/);
  } finally {
    await cleanup();
  }
});

void test('verify refuses a manifest edited after signing, an oversize one, and a signed invalid module', async () => {
  const { dir, cleanup } = await workspace();
  try {
    const publicKey = await signedWorkspace(dir);
    const path = join(dir, 'hello.manifest.json');
    const original = await readFile(path, 'utf8');
    const widened = original.replace('"u/"', '""');
    assert.notEqual(widened, original);
    await writeFile(path, widened);
    const edited = onlyJson(await gojinn(dir, 'verify', 'hello.wasm', '--trust', publicKey, '--json'));
    assert.equal(errorOf(edited).code, 'signature_invalid');
    assert.match(errorOf(edited).message, /does not verify/);

    await writeFile(path, original.padEnd(MAX_MANIFEST_BYTES + 1, ' '));
    const oversize = await gojinn(dir, 'verify', 'hello.wasm', '--trust', publicKey, '--json');
    assert.equal(oversize.code, 1);
    assert.equal(errorOf(onlyJson(oversize)).code, 'signature_invalid');
    await writeFile(path, original.padEnd(MAX_MANIFEST_BYTES, ' '));
    assert.equal(
      (await gojinn(dir, 'verify', 'hello.wasm', '--trust', publicKey)).code,
      0,
      'at the limit it is accepted',
    );

    // A publisher can sign bytes that are not a module; verify still refuses them, after the hash check.
    const garbage = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0xff]);
    await writeFile(join(dir, 'garbage.wasm'), garbage);
    const key = await readPrivateKeyFile(join(dir, 'pub.key'));
    const manifest = signManifest(
      { name: 'garbage', version: '1.0.0', ...moduleDigest(garbage), capabilities: {} },
      key.secretKey,
    );
    await writeFile(join(dir, 'garbage.manifest.json'), encodeManifest(manifest));
    const invalid = onlyJson(await gojinn(dir, 'verify', 'garbage.wasm', '--trust', publicKey, '--json'));
    assert.equal(errorOf(invalid).code, 'invalid_module');
    assert.deepEqual(checksOf(invalid), ['manifest', 'signature', 'publisher', 'content']);
    assert.equal(parseManifest(encodeManifest(manifest)).name, 'garbage');
  } finally {
    await cleanup();
  }
});

void test('verify: bad --trust keys, missing files and bad usage exit 2 with bad_request', async () => {
  const { dir, cleanup } = await workspace();
  try {
    await signedWorkspace(dir);
    const badKey = await gojinn(dir, 'verify', 'hello.wasm', '--trust', 'ed25519:short', '--json');
    assert.equal(badKey.code, 2);
    assert.match(errorOf(onlyJson(badKey)).message, /trusted publisher key "ed25519:short"/);
    const noManifest = await gojinn(dir, 'verify', 'hello.wasm', '--manifest', 'nope.json', '--json');
    assert.equal(noManifest.code, 2);
    assert.match(errorOf(onlyJson(noManifest)).message, /cannot read manifest .*nope\.json: ENOENT/);
    assert.equal((await gojinn(dir, 'verify')).code, 2);
    assert.equal((await gojinn(dir, 'verify', 'hello.wasm', '--bogus')).code, 2);
  } finally {
    await cleanup();
  }
});
