import { spawnSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parsePublicKey, readPrivateKeyFile } from '@gojinn/manifest';
import { gojinn, onlyJson, workspace } from './signing-harness.ts';

void test('keygen writes a 0600 key file and prints exactly the public key text form', async () => {
  const { dir, cleanup } = await workspace();
  try {
    const result = await gojinn(dir, 'keygen', '--out', 'me.key');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ed25519:[A-Za-z0-9_-]{43}\n$/);
    const publicKey = result.stdout.trim();
    assert.doesNotThrow(() => parsePublicKey(publicKey));
    assert.equal((await stat(join(dir, 'me.key'))).mode & 0o777, 0o600);
    assert.equal((await readPrivateKeyFile(join(dir, 'me.key'))).publicKey, publicKey);
    assert.match(result.stderr, /mode 0600/);
  } finally {
    await cleanup();
  }
});

void test('keygen refuses to overwrite a key file without --force, and replaces it with --force', async () => {
  const { dir, cleanup } = await workspace();
  try {
    const first = await gojinn(dir, 'keygen');
    assert.equal(first.code, 0);
    const path = join(dir, 'publisher.key');
    const before = await readFile(path);
    const refused = await gojinn(dir, 'keygen');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /bad_request: .*publisher\.key already exists; refusing to overwrite/);
    assert.equal(refused.stdout, '');
    assert.deepEqual(await readFile(path), before, 'the existing key is untouched');
    const refusedJson = onlyJson(await gojinn(dir, 'keygen', '--json'));
    assert.deepEqual(Object.keys(refusedJson), ['ok', 'error']);
    assert.equal((refusedJson.error as { code: string }).code, 'bad_request');

    const forced = await gojinn(dir, 'keygen', '--force', '--json');
    assert.equal(forced.code, 0);
    const object = onlyJson(forced);
    assert.equal(object.ok, true);
    assert.equal(object.keyFile, path);
    assert.notEqual(object.publicKey, first.stdout.trim());
    assert.equal((await readPrivateKeyFile(path)).publicKey, object.publicKey);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  } finally {
    await cleanup();
  }
});

void test('keygen: bad usage and unwritable places exit 2', async () => {
  const { dir, cleanup } = await workspace();
  try {
    assert.equal((await gojinn(dir, 'keygen', '--bogus')).code, 2);
    assert.equal((await gojinn(dir, 'keygen', 'stray')).code, 2);
    const missingDir = await gojinn(dir, 'keygen', '--out', 'no/such/dir/k.key', '--json');
    assert.equal(missingDir.code, 2);
    assert.match(
      (onlyJson(missingDir).error as { message: string }).message,
      /cannot create key file .*ENOENT/,
    );
  } finally {
    await cleanup();
  }
});

void test('the gojinn executable runs keygen with the project Node (exit status and file mode)', async () => {
  const { dir, cleanup } = await workspace();
  try {
    const bin = fileURLToPath(new URL('../bin/gojinn', import.meta.url));
    const first = spawnSync(bin, ['keygen', '--out', 'k.key'], { cwd: dir, encoding: 'utf8' });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^ed25519:/);
    assert.equal((await stat(join(dir, 'k.key'))).mode & 0o777, 0o600);
    const second = spawnSync(bin, ['keygen', '--out', 'k.key'], { cwd: dir, encoding: 'utf8' });
    assert.equal(second.status, 2);
  } finally {
    await cleanup();
  }
});
