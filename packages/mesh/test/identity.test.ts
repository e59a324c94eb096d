import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile, chmod, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { GojinnError } from '@gojinn/errors';
import { loadOrCreateNodeIdentity, NODE_KEY_FILE, MAX_NODE_KEY_FILE_BYTES } from '../src/identity.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-identity-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function isBadRequest(pattern: RegExp) {
  return (error: unknown): boolean =>
    error instanceof GojinnError && error.code === 'bad_request' && pattern.test(error.message);
}

void test('the first start creates an Ed25519 key file 0600; the next start loads the same peer id', async () => {
  await withDir(async (dir) => {
    const first = await loadOrCreateNodeIdentity(dir);
    assert.equal(first.created, true);
    assert.equal(first.privateKey.type, 'Ed25519');
    const s = await stat(join(dir, NODE_KEY_FILE));
    assert.equal(s.mode & 0o777, 0o600);
    const second = await loadOrCreateNodeIdentity(dir);
    assert.equal(second.created, false);
    assert.equal(second.peerId.toString(), first.peerId.toString());
    assert.deepEqual(
      await readFile(join(dir, NODE_KEY_FILE)),
      Buffer.from(privateKeyToProtobuf(first.privateKey)),
    );
  });
});

void test('two data dirs get two different identities', async () => {
  await withDir(async (a) => {
    await withDir(async (b) => {
      const x = await loadOrCreateNodeIdentity(a);
      const y = await loadOrCreateNodeIdentity(b);
      assert.notEqual(x.peerId.toString(), y.peerId.toString());
    });
  });
});

void test('a key file readable by group or others is refused, not replaced', async () => {
  await withDir(async (dir) => {
    const first = await loadOrCreateNodeIdentity(dir);
    const keyPath = join(dir, NODE_KEY_FILE);
    for (const mode of [0o640, 0o604, 0o644]) {
      await chmod(keyPath, mode);
      await assert.rejects(
        loadOrCreateNodeIdentity(dir),
        isBadRequest(new RegExp(`mode ${mode.toString(8)}`)),
      );
    }
    await chmod(keyPath, 0o600);
    assert.equal((await loadOrCreateNodeIdentity(dir)).peerId.toString(), first.peerId.toString());
  });
});

void test('a corrupt key file is refused', async () => {
  await withDir(async (dir) => {
    const keyPath = join(dir, NODE_KEY_FILE);
    await writeFile(keyPath, Buffer.from('not a key at all'), { mode: 0o600 });
    await assert.rejects(loadOrCreateNodeIdentity(dir), isBadRequest(/not a libp2p protobuf private key/));
    const valid = privateKeyToProtobuf(await generateKeyPair('Ed25519'));
    await writeFile(keyPath, valid.subarray(0, valid.length - 1), { mode: 0o600 });
    await assert.rejects(loadOrCreateNodeIdentity(dir), isBadRequest(/not a libp2p protobuf private key/));
  });
});

void test('a key of another type is refused', async () => {
  await withDir(async (dir) => {
    const keyPath = join(dir, NODE_KEY_FILE);
    await writeFile(keyPath, privateKeyToProtobuf(await generateKeyPair('secp256k1')), { mode: 0o600 });
    await assert.rejects(loadOrCreateNodeIdentity(dir), isBadRequest(/secp256k1 key/));
  });
});

void test('a key file at MAX_NODE_KEY_FILE_BYTES is read; one byte over is refused unread', async () => {
  await withDir(async (dir) => {
    const keyPath = join(dir, NODE_KEY_FILE);
    await writeFile(keyPath, Buffer.alloc(MAX_NODE_KEY_FILE_BYTES, 0xff), { mode: 0o600 });
    // At the limit the file is parsed (and fails as garbage, not as too large).
    await assert.rejects(loadOrCreateNodeIdentity(dir), isBadRequest(/not a libp2p protobuf/));
    await writeFile(keyPath, Buffer.alloc(MAX_NODE_KEY_FILE_BYTES + 1, 0xff), { mode: 0o600 });
    await assert.rejects(loadOrCreateNodeIdentity(dir), isBadRequest(/MAX_NODE_KEY_FILE_BYTES/));
  });
});

void test('peer-id-main prints the same peer id on every run, and refuses a bad key file with its code', async () => {
  await withDir(async (dir) => {
    const main = fileURLToPath(new URL('../src/peer-id-main.ts', import.meta.url));
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 30_000 });
    const first = run(dir);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^12D3KooW[1-9A-HJ-NP-Za-km-z]+\n$/);
    assert.match(first.stderr, /created node key/);
    const second = run(dir);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stdout, first.stdout);
    assert.equal(second.stderr, '');
    assert.equal(first.stdout.trim(), (await loadOrCreateNodeIdentity(dir)).peerId.toString());
    await chmod(join(dir, NODE_KEY_FILE), 0o644);
    const refused = run(dir);
    assert.equal(refused.status, 2);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /^bad_request: node key .* has mode 644/);
    assert.equal(run().status, 2);
  });
});
