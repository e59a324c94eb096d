/** `gojinn audit verify` on a real data directory, intact and tampered through a bare level. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, keyPairFromSeed } from '@gojinn/manifest';
import { loadOrCreateNodeIdentity } from '@gojinn/mesh';
import { AuditLog, auditKeyPairFromNodeKey } from '../src/audit/index.ts';
import { gojinn, openTestStore, rawEntryKey, tamper, tempDir } from './audit-support.ts';

const NODE_KEY = keyPairFromSeed(new Uint8Array(32).fill(3));

async function dirWithLog(count: number): Promise<{ dir: string; remove: () => Promise<void> }> {
  const temp = await tempDir('audit-cli');
  const store = await openTestStore(temp.dir);
  const log = await AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY, sync: false });
  for (let i = 0; i < count; i++) await log.append('admin', { route: 'GET /v1/status', i });
  await store.close();
  return temp;
}

void test('an intact log verifies: exit 0, entry count and signer, with and without --key', async () => {
  const temp = await dirWithLog(4);
  try {
    const human = await gojinn(['audit', 'verify', '--data', temp.dir]);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /intact: 4 entries signed by ed25519:/);
    assert.match(human.stdout, /\n4 batch seals verified \(each signs the entries of one append batch\)\n/);
    const json = await gojinn(['audit', 'verify', '--data', temp.dir, '--key', NODE_KEY.publicKey, '--json']);
    assert.equal(json.status, 0);
    assert.deepEqual(JSON.parse(json.stdout), {
      ok: true,
      entriesVerified: 4,
      sealsVerified: 4,
      signer: NODE_KEY.publicKey,
      keySource: '--key',
      dataDir: temp.dir,
    });
  } finally {
    await temp.remove();
  }
});

void test('an edited, dropped or reordered entry: exit 1 naming the entry', async () => {
  const cases: Record<string, (raw: Parameters<Parameters<typeof tamper>[1]>[0]) => Promise<void>> = {
    edited: async (raw) => {
      const value = await raw.get(rawEntryKey(1));
      assert.ok(value);
      const text = new TextDecoder().decode(value).replace('"i":1', '"i":7');
      await raw.put(rawEntryKey(1), new TextEncoder().encode(text));
    },
    dropped: (raw) => raw.del(rawEntryKey(1)),
    reordered: async (raw) => {
      const [one, two] = [await raw.get(rawEntryKey(1)), await raw.get(rawEntryKey(2))];
      assert.ok(one && two);
      await raw.put(rawEntryKey(1), two);
      await raw.put(rawEntryKey(2), one);
    },
  };
  for (const [name, edit] of Object.entries(cases)) {
    const temp = await dirWithLog(4);
    try {
      await tamper(temp.dir, edit);
      const human = await gojinn(['audit', 'verify', '--data', temp.dir]);
      assert.equal(human.status, 1, name);
      assert.match(human.stdout, /BROKEN at entry 1: /, name);
      const json = await gojinn(['audit', 'verify', '--data', temp.dir, '--json']);
      assert.equal(json.status, 1, name);
      const report = JSON.parse(json.stdout) as { ok: boolean; broken: { seq: number } };
      assert.equal(report.ok, false, name);
      assert.equal(report.broken.seq, 1, name);
    } finally {
      await temp.remove();
    }
  }
});

void test('--key of another node: exit 1 at entry 0', async () => {
  const temp = await dirWithLog(2);
  try {
    const result = await gojinn([
      'audit',
      'verify',
      '--data',
      temp.dir,
      '--key',
      generateKeyPair().publicKey,
    ]);
    assert.equal(result.status, 1);
    assert.match(result.stdout, /BROKEN at entry 0: signed by/);
  } finally {
    await temp.remove();
  }
});

void test('bad usage exits 2; a missing data directory exits 1 and is not created', async () => {
  const temp = await tempDir('audit-cli');
  try {
    assert.equal((await gojinn(['audit', 'verify', '--data', temp.dir, '--key', 'nope'])).status, 2);
    assert.equal((await gojinn(['audit', '--data', temp.dir])).status, 2);
    assert.equal((await gojinn(['audit', 'check', '--data', temp.dir])).status, 2);
    const missing = join(temp.dir, 'absent');
    const result = await gojinn(['audit', 'verify', '--data', missing, '--json']);
    assert.equal(result.status, 1);
    assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, 'not_found');
    assert.equal(await stat(missing).catch(() => undefined), undefined);
    const empty = await gojinn(['audit', 'verify', '--data', temp.dir]);
    assert.equal(empty.status, 0);
    assert.match(empty.stdout, /is empty/);
  } finally {
    await temp.remove();
  }
});

void test('without --key the node key in DIR/node.key is required: a log wholly re-signed by another key fails at entry 0', async () => {
  const temp = await tempDir('audit-cli');
  try {
    const identity = await loadOrCreateNodeIdentity(temp.dir);
    const nodeKey = auditKeyPairFromNodeKey(identity.privateKey);
    const store = await openTestStore(temp.dir);
    const log = await AuditLog.open(store.extension('audit'), { signingKey: nodeKey, sync: false });
    await log.append('admin', { i: 0 });
    await store.close();
    const intact = await gojinn(['audit', 'verify', '--data', temp.dir, '--json']);
    assert.equal(intact.status, 0, intact.stdout);
    assert.deepEqual(JSON.parse(intact.stdout), {
      ok: true,
      entriesVerified: 1,
      sealsVerified: 1,
      signer: nodeKey.publicKey,
      keySource: 'node.key',
      dataDir: temp.dir,
    });
    // Another data directory whose whole log is signed by some other key, next to this node's key file.
    const forged = await dirWithLog(2);
    try {
      await writeFile(join(forged.dir, 'node.key'), await readFile(identity.keyPath), { mode: 0o600 });
      const result = await gojinn(['audit', 'verify', '--data', forged.dir]);
      assert.equal(result.status, 1);
      assert.match(result.stdout, /BROKEN at entry 0: signed by/);
      await writeFile(join(forged.dir, 'node.key'), 'not a key', { mode: 0o600 });
      const unreadable = await gojinn(['audit', 'verify', '--data', forged.dir, '--json']);
      assert.equal(unreadable.status, 2);
      assert.match(unreadable.stdout, /is not a libp2p private key/);
    } finally {
      await forged.remove();
    }
  } finally {
    await temp.remove();
  }
});
