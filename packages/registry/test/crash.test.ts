import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest } from '@gojinn/manifest';
import { ModuleRegistry } from '@gojinn/registry';
import { checkStoreIntegrity, openStore, type ModuleRecord } from '@gojinn/store';
import { publisher, tempDir } from './fixtures.ts';

const INSTALL_LOOP = fileURLToPath(new URL('./fixtures/install-loop.ts', import.meta.url));
/** The store's own crash test runs 20 rounds of bare installs; these 8 go through the whole registry. */
const ROUNDS = 8;
/** Kills aim at the start of one of the first MAX_TARGET_INSTALL installs of a round, plus 0..3 ms. */
const MAX_TARGET_INSTALL = 6;

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup()));
});

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

void test(`kill -9 during registry installs, ${ROUNDS} rounds: every listed module is complete and served`, async (t) => {
  const dir = await tempDir();
  cleanups.push(dir.remove);
  let acknowledgedTotal = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    const child = spawn(process.execPath, [INSTALL_LOOP, dir.path, String(round)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');
    const target = `begin 1.0.${Math.floor(Math.random() * MAX_TARGET_INSTALL)}\n`;
    await new Promise<void>((resolve) => {
      const onData = (): void => {
        if (stdout.includes(target)) {
          child.stdout.off('data', onData);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      void exited.then(() => resolve());
    });
    await delay(Math.floor(Math.random() * 4));
    child.kill('SIGKILL');
    const [, signal] = (await exited) as [number | null, string | null];
    assert.equal(signal, 'SIGKILL', `round ${round}: ${stderr}`);
    const acknowledged = stdout
      .split('\n')
      .filter((line) => line.startsWith('installed '))
      .map((line) => line.split(' ')[1] ?? '');
    acknowledgedTotal += acknowledged.length;

    const store = await openStore(dir.path);
    try {
      const registry = new ModuleRegistry({ store, trust: { publishers: [publisher.publicKey] } });
      const listed = await registry.list({ limit: 1000 });
      assert.equal(listed.next, undefined);
      for (const module of listed.items) {
        const served = await registry.get(module.hash); // re-hashes the blob, verifies the manifest
        assert.equal(served.record.version, module.version);
        const manifestBytes = await store.manifests.get(served.record.manifestHash);
        assert.ok(manifestBytes !== undefined);
        assert.equal(parseManifest(manifestBytes).sha256, module.hash);
      }
      const versions = new Set(listed.items.filter((m) => m.name === `mod-${round}`).map((m) => m.version));
      for (const version of acknowledged)
        assert.ok(versions.has(version), `round ${round}: acknowledged ${version} present`);
      assert.deepEqual((await checkStoreIntegrity(store)).problems, [], `round ${round}`);
      // Nothing half-written: exactly one blob and one manifest per installed version.
      const records: ModuleRecord[] = (await store.modules.listRecords({ limit: 1000 })).items;
      assert.equal(
        (await store.blobs.sublevel.keys().all()).length,
        new Set(records.map((r) => r.hash)).size,
      );
      assert.equal((await store.manifests.sublevel.keys().all()).length, records.length);
      assert.equal((await store.modules.byHash.keys().all()).length, records.length);
    } finally {
      await store.close();
    }
  }
  t.diagnostic(`${acknowledgedTotal} installs acknowledged across ${ROUNDS} killed rounds`);
  assert.ok(acknowledgedTotal > 0);
});
