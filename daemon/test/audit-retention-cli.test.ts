/**
 * `gojinn audit verify` on pruned logs: the checkpoint is printed (and complete in --json), a
 * tampered or removed checkpoint exits 1 naming why; and a real node started with
 * [audit] maxEntries prunes its own log, which then verifies against its node.key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { keyPairFromSeed } from '@gojinn/manifest';
import { AuditLog, loadConfigFile, prepareDevNode, readAdminToken, startNode } from '../src/index.ts';
import { call } from './gateway-fixtures.ts';
import { gojinn, openTestStore, rawGet, tamper, tempDir } from './audit-support.ts';

const NODE_KEY = keyPairFromSeed(new Uint8Array(32).fill(25));
const HELLO = new URL('../../examples/hello/build/hello.wasm', import.meta.url).pathname;
const ANY_PORT = { host: '127.0.0.1', port: 0 };

/** 8 entries appended under maxEntries 3: entries 0–4 pruned, 5–7 kept. */
async function prunedDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const temp = await tempDir('audit-retention-cli');
  const store = await openTestStore(temp.dir);
  const log = await AuditLog.open(store.extension('audit'), {
    signingKey: NODE_KEY,
    sync: false,
    retention: { maxEntries: 3 },
  });
  for (let i = 0; i < 8; i++) await log.append('admin', { i });
  await log.prune();
  await store.close();
  return temp;
}

void test('a pruned log: exit 0, the checkpoint printed, and --json carries all of it', async () => {
  const temp = await prunedDir();
  try {
    const json = await gojinn(['audit', 'verify', '--data', temp.dir, '--key', NODE_KEY.publicKey, '--json']);
    assert.equal(json.status, 0, json.stdout);
    const report = JSON.parse(json.stdout) as { checkpoint: { hash: string; time: string } };
    assert.match(report.checkpoint.hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(report, {
      ok: true,
      entriesVerified: 3,
      sealsVerified: 3,
      signer: NODE_KEY.publicKey,
      checkpoint: { seq: 4, hash: report.checkpoint.hash, time: report.checkpoint.time, pruned: 5 },
      keySource: '--key',
      dataDir: temp.dir,
    });
    const human = await gojinn(['audit', 'verify', '--data', temp.dir]);
    assert.equal(human.status, 0);
    assert.equal(
      human.stdout,
      `audit log in ${temp.dir} intact: 3 entries signed by ${NODE_KEY.publicKey} (the key of the checkpoint: no node.key in DIR; pass --key to check it is the node key)\n` +
        `3 batch seals verified (each signs the entries of one append batch)\n` +
        `entries 0–4 pruned (5); signed checkpoint of ${report.checkpoint.time}: entry 4 had sha-256 ${report.checkpoint.hash}\n`,
    );
  } finally {
    await temp.remove();
  }
});

void test('a removed or edited checkpoint: exit 1 with the reason, in text and --json', async () => {
  const temp = await prunedDir();
  try {
    await tamper(temp.dir, async (raw) => {
      const text = new TextDecoder().decode(await rawGet(raw, '!audit!checkpoint'));
      await raw.put('!audit!checkpoint', new TextEncoder().encode(text.replace('"seq":4', '"seq":3')));
    });
    const edited = await gojinn(['audit', 'verify', '--data', temp.dir, '--json']);
    assert.equal(edited.status, 1);
    assert.deepEqual((JSON.parse(edited.stdout) as { broken: unknown }).broken, {
      seq: 5,
      reason: 'checkpoint signature does not verify (checkpoint edited)',
    });
    await tamper(temp.dir, (raw) => raw.del('!audit!checkpoint'));
    const removed = await gojinn(['audit', 'verify', '--data', temp.dir, '--key', NODE_KEY.publicKey]);
    assert.equal(removed.status, 1);
    assert.equal(
      removed.stdout,
      `audit log in ${temp.dir} is BROKEN at entry 0: entries 0–4 missing and no signed checkpoint covers them (deleted without a checkpoint, or the checkpoint removed)\n` +
        '(0 entries before it verified)\n',
    );
  } finally {
    await temp.remove();
  }
});

void test('a node started with [audit] maxEntries = 3 prunes its own log; after stop it verifies against node.key', async () => {
  const temp = await tempDir('audit-retention-node');
  try {
    const dataDir = join(temp.dir, 'node');
    const dev = await prepareDevNode({
      dataDir,
      modules: [{ name: 'hello', wasmPath: HELLO }],
      gateway: ANY_PORT,
      admin: ANY_PORT,
      mesh: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      metrics: ANY_PORT,
    });
    const config = await loadConfigFile(dev.configFile, { env: {} });
    assert.deepEqual(config.audit, { maxEntries: 1_000_000, maxAgeDays: 0 });
    const node = await startNode(
      { ...config, logging: { level: 'silent' }, audit: { maxEntries: 3, maxAgeDays: 0 } },
      { env: {}, log: () => undefined, drainMs: 2000 },
    );
    try {
      for (let i = 0; i < 6; i++) {
        assert.equal((await call(node.gatewayUrl, `/fn/hello?name=n${i}`)).status, 200);
      }
      assert.equal(node.audit.retention.maxEntries, 3);
      // The admin status tells kept from ever appended (pruning runs after each append batch).
      await node.audit.idle();
      const token = await readAdminToken(dataDir);
      const status = JSON.parse(
        (await call(node.adminUrl, '/v1/status', { headers: { authorization: `Bearer ${token}` } })).body,
      ) as { auditEntries: number; auditKept: number; auditFirstSeq: number };
      assert.equal(status.auditKept, 3);
      assert.equal(status.auditFirstSeq, status.auditEntries - 3);
    } finally {
      await node.stop();
    }
    const result = await gojinn(['audit', 'verify', '--data', dataDir, '--json']);
    assert.equal(result.status, 0, result.stdout);
    const report = JSON.parse(result.stdout) as {
      entriesVerified: number;
      keySource: string;
      checkpoint?: { pruned: number };
    };
    assert.equal(report.keySource, 'node.key');
    assert.equal(report.entriesVerified, 3);
    // start + 6 invocations + the status request + stop = 9 entries, 3 kept.
    assert.equal(report.checkpoint?.pruned, 6);
  } finally {
    await temp.remove();
  }
});
