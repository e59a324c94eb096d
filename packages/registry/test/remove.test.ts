import { createHash } from 'node:crypto';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError, type ErrorCode } from '@gojinn/errors';
import { ModuleRegistry } from '@gojinn/registry';
import { openStore, type Store } from '@gojinn/store';
import { manifestFor, moduleImporting, publisher, rawSnapshot, revocationFor, tempDir } from './fixtures.ts';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup()));
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function hasCode(code: ErrorCode, pattern?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof GojinnError, `expected a GojinnError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  };
}

interface Node {
  dir: string;
  store: Store;
  registry: ModuleRegistry;
}

async function openNode(dir?: string): Promise<Node> {
  let path = dir;
  if (path === undefined) {
    const temp = await tempDir();
    cleanups.push(temp.remove);
    path = temp.path;
  }
  const store = await openStore(path, { sync: false });
  const registry = new ModuleRegistry({ store, trust: { publishers: [publisher.publicKey] } });
  return { dir: path, store, registry };
}

/** Installs hello@<version> with distinct bytes; returns its hash. */
async function installVersion(node: Node, version: string, name = 'hello'): Promise<string> {
  const bytes = await moduleImporting([], `${name}-${version}`);
  await node.registry.install(bytes, manifestFor(bytes, { name, version }));
  return sha256(bytes);
}

async function versions(node: Node): Promise<string[]> {
  return (await node.registry.list()).items.map(
    (m) => `${m.name}@${m.version}${m.active ? '*' : ''}${m.pinned ? 'P' : ''}`,
  );
}

void test('remove: an inactive version goes (record, index, manifest, blob); the active one stays served', async () => {
  const node = await openNode();
  const old = await installVersion(node, '1.0.0');
  await installVersion(node, '2.0.0');
  const result = await node.registry.remove(old);
  assert.deepEqual(result.removed, [{ name: 'hello', publisher: publisher.publicKey, version: '1.0.0' }]);
  assert.deepEqual(result.states, [
    { name: 'hello', publisher: publisher.publicKey, state: { active: '2.0.0', highest: '2.0.0' } },
  ]);
  assert.deepEqual(await versions(node), ['hello@2.0.0*']);
  await assert.rejects(node.registry.get(old), hasCode('not_found'));
  assert.equal(await node.store.blobs.has(old), false);
  assert.equal((await node.registry.resolve('hello')).record.version, '2.0.0');
  // Gone means gone: a second removal finds nothing.
  await assert.rejects(node.registry.remove(old), hasCode('not_found'));
  await node.store.close();
});

void test('remove: the active version is refused without force (nothing written); with force the highest remaining becomes active', async () => {
  const node = await openNode();
  await installVersion(node, '1.0.0');
  await installVersion(node, '1.5.0');
  const top = await installVersion(node, '2.0.0');
  await node.store.close();
  const before = await rawSnapshot(node.dir);
  const reopened = await openNode(node.dir);
  await assert.rejects(
    reopened.registry.remove(top),
    hasCode('bad_request', /2\.0\.0.*is the active version.*force/),
  );
  await reopened.store.close();
  assert.deepEqual(await rawSnapshot(node.dir), before, 'the refused removal wrote nothing');

  const again = await openNode(node.dir);
  const result = await again.registry.remove(top, { force: true });
  assert.deepEqual(result.states[0]?.state, { active: '1.5.0', highest: '2.0.0' });
  assert.equal((await again.registry.resolve('hello')).record.version, '1.5.0');
  // The bar stays: the removed top version is a rollback now, unless pinned.
  const bytes = await moduleImporting([], 'hello-2.0.0');
  await assert.rejects(
    again.registry.install(bytes, manifestFor(bytes, { version: '2.0.0' })),
    hasCode('rollback'),
  );
  await again.registry.pin(publisher.publicKey, 'hello', '2.0.0');
  await again.registry.install(bytes, manifestFor(bytes, { version: '2.0.0' }));
  assert.equal((await again.registry.resolve('hello')).record.version, '2.0.0');
  await again.store.close();
});

void test('remove: a pinned version is refused even with force; the last version removed drops the state', async () => {
  const node = await openNode();
  const only = await installVersion(node, '1.0.0');
  await node.registry.pin(publisher.publicKey, 'hello', '1.0.0');
  await assert.rejects(
    node.registry.remove(only, { force: true }),
    hasCode('bad_request', /is pinned; unpin it/),
  );
  assert.deepEqual(await versions(node), ['hello@1.0.0*P']);
  await node.registry.unpin(publisher.publicKey, 'hello');
  const result = await node.registry.remove(only, { force: true });
  assert.deepEqual(result.states, [{ name: 'hello', publisher: publisher.publicKey, state: undefined }]);
  assert.deepEqual(await versions(node), []);
  await assert.rejects(node.registry.resolve('hello'), hasCode('not_found'));
  await node.store.close();
});

void test('unpin after the highest version was removed serves the highest one still installed', async () => {
  const node = await openNode();
  await installVersion(node, '1.0.0');
  const top = await installVersion(node, '2.0.0');
  await node.registry.pin(publisher.publicKey, 'hello', '1.0.0');
  await node.registry.remove(top); // not active (the pin holds 1.0.0), not pinned
  assert.deepEqual(await node.registry.unpin(publisher.publicKey, 'hello'), {
    active: '1.0.0',
    highest: '2.0.0',
  });
  assert.equal((await node.registry.resolve('hello')).record.version, '1.0.0');
  await node.store.close();
});

void test('remove: a revoked version can be removed and its revocation stays', async () => {
  const node = await openNode();
  const old = await installVersion(node, '1.0.0');
  await installVersion(node, '2.0.0');
  await node.registry.applyRevocation(
    revocationFor(
      { kind: 'version', publisher: publisher.publicKey, name: 'hello', version: '1.0.0' },
      publisher,
    ),
  );
  await node.registry.remove(old);
  const bytes = await moduleImporting([], 'hello-1.0.0');
  await node.registry.pin(publisher.publicKey, 'hello', '2.0.0');
  await assert.rejects(
    node.registry.install(bytes, manifestFor(bytes, { version: '1.0.0' })),
    hasCode('revoked'),
  );
  await node.store.close();
});

void test('remove: bytes shared by two modules remove both entries; bad hashes are bad_request', async () => {
  const node = await openNode();
  const bytes = await moduleImporting([], 'shared');
  await node.registry.install(bytes, manifestFor(bytes, { name: 'alpha', version: '1.0.0' }));
  await node.registry.install(bytes, manifestFor(bytes, { name: 'beta', version: '1.0.0' }));
  await installVersion(node, '1.0.0', 'gamma');
  await assert.rejects(node.registry.remove(sha256(bytes)), hasCode('bad_request', /active/));
  const result = await node.registry.remove(sha256(bytes), { force: true });
  assert.deepEqual(result.removed.map((k) => k.name).sort(), ['alpha', 'beta']);
  assert.deepEqual(await versions(node), ['gamma@1.0.0*']);
  await assert.rejects(node.registry.remove('A'.repeat(64)), hasCode('bad_request'));
  await assert.rejects(node.registry.remove('../etc'), hasCode('bad_request'));
  await node.store.close();
});
