/**
 * ModuleRegistry.servedRecord: the record `get` would serve, without reading or hashing bytes.
 * Checked on a real store: it names the same record as get; removal ⇒ not_found; revocation of
 * the version or of its publisher ⇒ revoked; another unrevoked version with the same bytes is
 * still served; a malformed hash is bad_request; and it does not read the blob (a blob corrupted
 * on disk still passes servedRecord, while get refuses it).
 */
import { createHash } from 'node:crypto';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError, type ErrorCode } from '@gojinn/errors';
import { ModuleRegistry } from '@gojinn/registry';
import { CORE_SUBLEVELS, StoreCorruptError, openStore, type Store } from '@gojinn/store';
import { Level } from 'level';
import { manifestFor, moduleImporting, operator, publisher, revocationFor, tempDir } from './fixtures.ts';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup()));
});

async function open(dir?: string): Promise<{ dir: string; store: Store; registry: ModuleRegistry }> {
  let path = dir;
  if (path === undefined) {
    const made = await tempDir();
    cleanups.push(made.remove);
    path = made.path;
  }
  const store = await openStore(path);
  const registry = new ModuleRegistry({
    store,
    trust: { publishers: [publisher.publicKey], operators: [operator.publicKey] },
  });
  return { dir: path, store, registry };
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function code(expected: ErrorCode) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof GojinnError, `expected a GojinnError, got ${String(error)}`);
    assert.equal(error.code, expected, error.message);
    return true;
  };
}

void test('servedRecord names the record get serves; removal is not_found', async () => {
  const { store, registry } = await open();
  try {
    const bytes = await moduleImporting([], 'served-record');
    const hash = sha256(bytes);
    await registry.install(bytes, manifestFor(bytes));
    const record = await registry.servedRecord(hash);
    assert.deepEqual(record, (await registry.get(hash)).record);
    assert.equal(record.hash, hash);
    assert.equal(record.size, bytes.byteLength);
    await registry.remove(hash, { force: true });
    await assert.rejects(registry.servedRecord(hash), code('not_found'));
    await assert.rejects(registry.servedRecord(hash.toUpperCase()), code('bad_request'));
    await assert.rejects(registry.servedRecord(hash.slice(1)), code('bad_request'));
  } finally {
    await store.close();
  }
});

void test('servedRecord: a revoked version or publisher is revoked; an unrevoked twin is still served', async () => {
  const { store, registry } = await open();
  try {
    const bytes = await moduleImporting([], 'twins');
    const hash = sha256(bytes);
    await registry.install(bytes, manifestFor(bytes, { version: '1.0.0' }));
    await registry.install(bytes, manifestFor(bytes, { version: '1.0.1' }));
    await registry.applyRevocation(
      revocationFor(
        { kind: 'version', publisher: publisher.publicKey, name: 'hello', version: '1.0.0' },
        operator,
      ),
    );
    // The same bytes are still served under 1.0.1, as get serves them.
    const twin = await registry.servedRecord(hash);
    assert.equal(twin.version, '1.0.1');
    assert.equal((await registry.get(hash)).record.version, '1.0.1');
    await registry.applyRevocation(
      revocationFor({ kind: 'publisher', publisher: publisher.publicKey }, operator),
    );
    await assert.rejects(registry.servedRecord(hash), code('revoked'));
    await assert.rejects(registry.get(hash), code('revoked'));
  } finally {
    await store.close();
  }
});

void test('servedRecord reads no bytes: a blob corrupted on disk passes it, get refuses it', async () => {
  const first = await open();
  const bytes = await moduleImporting([], 'no-bytes-read');
  const hash = sha256(bytes);
  await first.registry.install(bytes, manifestFor(bytes));
  await first.store.close();
  const raw = new Level<string, Uint8Array>(first.dir, { valueEncoding: 'view' });
  await raw.open();
  const flipped = Uint8Array.from(bytes);
  flipped[0] = (flipped[0] ?? 0) ^ 1;
  await raw.put(`!${CORE_SUBLEVELS.blobs}!${hash}`, flipped);
  await raw.close();

  const reopened = await open(first.dir);
  try {
    assert.equal((await reopened.registry.servedRecord(hash)).hash, hash);
    await assert.rejects(reopened.registry.get(hash), StoreCorruptError);
  } finally {
    await reopened.store.close();
  }
});
