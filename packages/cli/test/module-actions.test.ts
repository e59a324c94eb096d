import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ModuleRegistry } from '@gojinn/registry';
import { openStore } from '@gojinn/store';
import { PUBLISHER, manifestFor, startAdminNode } from '../../../daemon/test/admin-harness.ts';
import { gojinn, jsonOf } from './admin-cli-support.ts';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A small valid module whose custom section names `tag`. */
function tinyModule(tag: string): Uint8Array {
  const payload = new TextEncoder().encode(tag);
  return Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0, 0x00, payload.length + 2, 1, 0x74, ...payload);
}

const one = tinyModule('one');
const two = tinyModule('two');

async function listed(dir: string): Promise<string[]> {
  const out = jsonOf(await gojinn(dir, ['modules', '--data', dir, '--json']));
  return (out.modules as Array<{ name: string; version: string; active: boolean; pinned: boolean }>).map(
    (m) => `${m.name}@${m.version}${m.active ? '*' : ''}${m.pinned ? 'P' : ''}`,
  );
}

void test('modules rm / pin / unpin on a stopped node act on the store with the registry rule', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-cli-actions-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const store = await openStore(dir, { sync: false });
  const registry = new ModuleRegistry({ store, trust: { publishers: [PUBLISHER.publicKey] } });
  await registry.install(one, manifestFor(one, 'tiny', '1.0.0'));
  await registry.install(two, manifestFor(two, 'tiny', '2.0.0'));
  await store.close();

  const active = await gojinn(dir, ['modules', 'rm', sha256(two), '--data', dir]);
  assert.equal(active.code, 2);
  assert.match(active.stderr, /is the active version; removing it needs force/);
  const pin = await gojinn(dir, ['modules', 'pin', 'tiny', '1.0.0', '--data', dir]);
  assert.equal(pin.code, 0, pin.stderr);
  assert.match(pin.stdout, /^pinned tiny@1\.0\.0 \(ed25519:\S+\); serves 1\.0\.0\n$/);
  assert.deepEqual(await listed(dir), ['tiny@1.0.0*P', 'tiny@2.0.0']);
  const pinned = await gojinn(dir, ['modules', 'rm', sha256(one), '--force', '--data', dir]);
  assert.equal(pinned.code, 2);
  assert.match(pinned.stderr, /is pinned; unpin it/);
  const removed = await gojinn(dir, ['modules', 'rm', sha256(two), '--data', dir, '--json']);
  assert.equal(removed.code, 0, removed.stdout);
  assert.deepEqual(jsonOf(removed).states, [
    { name: 'tiny', publisher: PUBLISHER.publicKey, active: '1.0.0' },
  ]);
  const unpin = await gojinn(dir, ['modules', 'unpin', 'tiny', '--data', dir]);
  assert.equal(unpin.code, 0, unpin.stderr);
  assert.match(unpin.stdout, /serves 1\.0\.0/);
  assert.deepEqual(await listed(dir), ['tiny@1.0.0*']);

  assert.equal((await gojinn(dir, ['modules', 'pin', 'absent', '1.0.0', '--data', dir])).code, 1);
  assert.equal((await gojinn(dir, ['modules', 'drop', 'x', '--data', dir])).code, 2);
  assert.equal((await gojinn(dir, ['modules', 'pin', 'tiny', '--data', dir])).code, 2);
  assert.equal((await gojinn(dir, ['modules', '--force', '--data', dir])).code, 2);
  assert.equal((await gojinn(dir, ['modules', 'unpin', 'tiny', '--force', '--data', dir])).code, 2);
});

void test('modules rm / pin / unpin while the node runs go through its admin API', async () => {
  const node = await startAdminNode();
  cleanups.push(() => node.close({ remove: true }));
  await node.install(one, 'tiny', '1.0.0');
  await node.install(two, 'tiny', '2.0.0');
  const dir = node.dir;
  const pin = await gojinn(dir, ['modules', 'pin', 'tiny', '1.0.0', '--data', dir]);
  assert.equal(pin.code, 0, pin.stderr);
  assert.equal((await node.registry.resolve('tiny')).record.version, '1.0.0');
  const removed = await gojinn(dir, ['modules', 'rm', sha256(two), '--data', dir]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(removed.stdout, 'removed tiny@2.0.0\ntiny: serves 1.0.0\n');
  const unpin = await gojinn(dir, ['modules', 'unpin', 'tiny', '--data', dir, '--json']);
  assert.equal(unpin.code, 0);
  assert.equal(jsonOf(unpin).active, '1.0.0');
  const last = await gojinn(dir, ['modules', 'rm', sha256(one), '--force', '--data', dir]);
  assert.equal(last.code, 0, last.stderr);
  assert.match(last.stdout, /tiny: no version left/);
  assert.deepEqual((await node.registry.list()).items, []);
  // Every action was an authenticated, audited admin request.
  const routes = (await node.audit.list()).items.map((e) => (e.data as { route: string }).route);
  assert.ok(routes.includes('POST /v1/pins') && routes.includes('DELETE /v1/pins'));
  assert.equal(routes.filter((r) => r.startsWith('DELETE /v1/modules/')).length, 2);
});
