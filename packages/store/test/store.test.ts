import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { GojinnError } from '@gojinn/errors';
import {
  CORE_SUBLEVELS,
  MAX_KEY_PART_LENGTH,
  StoreCorruptError,
  checkStoreIntegrity,
  openStore,
  type ModuleRecord,
} from '@gojinn/store';
import { Level } from 'level';
import { assertSameBytes, rawSnapshot, sampleInstall, tempDir } from './helpers.ts';

const dirs: Array<() => Promise<void>> = [];
async function freshDir(): Promise<string> {
  const dir = await tempDir();
  dirs.push(dir.remove);
  return dir.path;
}
after(async () => {
  await Promise.all(dirs.map((remove) => remove()));
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

void test('install → list → get round trip returns the same bytes under their sha-256', async () => {
  const dir = await freshDir();
  const store = await openStore(dir);
  const write = sampleInstall('hello', '1.0.0', 10_000);
  const record = await store.install(write);
  assert.equal(record.hash, sha256(write.moduleBytes));
  assert.equal(record.manifestHash, sha256(write.manifestBytes));
  assert.equal(record.size, 10_000);

  const listed = await store.modules.listRecords();
  assert.deepEqual(listed.items, [record]);
  assert.equal(listed.next, undefined);
  assertSameBytes(await store.blobs.get(record.hash), write.moduleBytes);
  assertSameBytes(await store.manifests.get(record.manifestHash), write.manifestBytes);
  assert.deepEqual(await store.modules.getRecord(write.key), record);
  assert.deepEqual(await store.modules.getState('hello', 'publisher-a'), {
    active: '1.0.0',
    highest: '1.0.0',
  });
  assert.deepEqual((await store.modules.listByHash(record.hash)).items, [write.key]);
  assert.deepEqual(await checkStoreIntegrity(store), { modulesChecked: 1, problems: [] });
  await store.close();

  // Everything survives close/open.
  const reopened = await openStore(dir);
  assert.deepEqual((await reopened.modules.listRecords()).items, [record]);
  assertSameBytes(await reopened.blobs.get(record.hash), write.moduleBytes);
  await reopened.close();
});

void test('absent content reads as undefined; a malformed hash is a bad_request', async () => {
  const store = await openStore(await freshDir());
  assert.equal(await store.blobs.get('0'.repeat(64)), undefined);
  await assert.rejects(store.blobs.get('../etc'), (e: GojinnError) => e.code === 'bad_request');
  await assert.rejects(store.blobs.get('A'.repeat(64)), (e: GojinnError) => e.code === 'bad_request');
  await store.close();
});

void test('a blob whose stored value no longer matches its hash is detected and never served', async () => {
  const dir = await freshDir();
  const store = await openStore(dir);
  const record = await store.install(sampleInstall('m', '1.0.0'));
  await store.close();

  // Replace the value under the blob key behind the store's back.
  const raw = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
  await raw.open();
  await raw.put(`!${CORE_SUBLEVELS.blobs}!${record.hash}`, randomBytes(4096));
  await raw.close();

  const reopened = await openStore(dir);
  await assert.rejects(reopened.blobs.get(record.hash), (error: unknown) => {
    assert.ok(error instanceof StoreCorruptError);
    assert.equal(error.code, 'internal');
    assert.match(error.message, /store_corrupt: blob [0-9a-f]{64}: stored bytes hash to/);
    return true;
  });
  const report = await checkStoreIntegrity(reopened);
  assert.equal(report.modulesChecked, 0);
  assert.equal(report.problems.length, 1);
  await reopened.close();
});

void test('a byte flipped inside a LevelDB table file is caught by the hash re-check', async () => {
  const dir = await freshDir();
  let store = await openStore(dir);
  // Random bytes do not compress, so LevelDB stores them verbatim and serves a flipped byte
  // without complaint (it does not verify block checksums on reads by default).
  const write = sampleInstall('m', '1.0.0', 64 * 1024);
  const record = await store.install(write);
  await store.close();
  store = await openStore(dir); // recovery moves the write-ahead log into a table file
  await store.close();

  const marker = write.moduleBytes.subarray(30_000, 30_032);
  let flipped = false;
  for (const file of await readdir(dir)) {
    if (!file.endsWith('.ldb')) continue;
    const bytes = await readFile(join(dir, file));
    const at = bytes.indexOf(marker);
    if (at < 0) continue;
    bytes[at + 7] = (bytes[at + 7] ?? 0) ^ 0x01;
    await writeFile(join(dir, file), bytes);
    flipped = true;
  }
  assert.ok(flipped, 'the blob was found in a table file');

  store = await openStore(dir);
  await assert.rejects(store.blobs.get(record.hash), StoreCorruptError);
  await store.close();
});

void test('a module record filed under another key is reported corrupt, not trusted', async () => {
  const dir = await freshDir();
  const store = await openStore(dir);
  const a = await store.install(sampleInstall('a', '1.0.0'));
  await store.close();
  const raw = new Level<string, string>(dir);
  await raw.open();
  const forged: ModuleRecord = { ...a, name: 'b' };
  await raw.put(`!${CORE_SUBLEVELS.modules}!a/publisher-a/1.0.0`, JSON.stringify(forged));
  await raw.close();
  const reopened = await openStore(dir);
  await assert.rejects(reopened.modules.getRecord(a), /record does not match its key/);
  await reopened.close();
});

void test('size limits: a blob AT maxBlobBytes is stored, one byte more is refused with nothing written', async () => {
  const dir = await freshDir();
  const store = await openStore(dir, { limits: { maxBlobBytes: 5000, maxManifestBytes: 300 } });
  await store.install(sampleInstall('at-limit', '1.0.0', 5000));
  await store.close();
  const before = await rawSnapshot(dir);
  const again = await openStore(dir, { limits: { maxBlobBytes: 5000, maxManifestBytes: 300 } });
  await assert.rejects(again.install(sampleInstall('over', '1.0.0', 5001)), (e: GojinnError) => {
    assert.equal(e.code, 'bad_request');
    assert.match(e.message, /maxBlobBytes \(5000 bytes\)/);
    return true;
  });
  const bigManifest = { ...sampleInstall('m', '1.0.0'), manifestBytes: new Uint8Array(301) };
  await assert.rejects(again.install(bigManifest), /maxManifestBytes \(300 bytes\)/);
  await again.close();
  assert.deepEqual(await rawSnapshot(dir), before);
});

void test('listing is bounded by maxPageSize and paging visits every entry exactly once', async () => {
  const store = await openStore(await freshDir(), { limits: { maxPageSize: 3 } });
  for (let i = 0; i < 7; i += 1) await store.install(sampleInstall(`mod-${i}`, '1.0.0', 64));
  const first = await store.modules.listRecords({ limit: 1000 });
  assert.equal(first.items.length, 3, 'a request above the limit gets maxPageSize entries');
  const seen: string[] = [];
  let after: string | undefined;
  do {
    const page = await store.modules.listRecords(after === undefined ? {} : { after });
    assert.ok(page.items.length <= 3);
    seen.push(...page.items.map((r) => r.name));
    after = page.next;
  } while (after !== undefined);
  assert.deepEqual(seen, ['mod-0', 'mod-1', 'mod-2', 'mod-3', 'mod-4', 'mod-5', 'mod-6']);
  // Exactly a multiple of the page size: the last full page says there is nothing more.
  const six = await openStore(await freshDir(), { limits: { maxPageSize: 3 } });
  for (let i = 0; i < 6; i += 1) await six.install(sampleInstall(`m${i}`, '1.0.0', 64));
  const p1 = await six.modules.listRecords();
  assert.ok(p1.next !== undefined);
  const p2 = await six.modules.listRecords({ after: p1.next });
  assert.equal(p2.items.length, 3);
  assert.equal(p2.next, undefined);
  await Promise.all([store.close(), six.close()]);
});

void test('key components cannot forge a separator: a/b + c and a + b/c stay distinct', async () => {
  const store = await openStore(await freshDir());
  await store.install(sampleInstall('a/b', '1.0.0', 64, 'c'));
  await store.install(sampleInstall('a', '1.0.0', 64, 'b/c'));
  await store.install(sampleInstall('a%2Fb', '1.0.0', 64, 'c'));
  const names = (await store.modules.listRecords()).items.map((r) => `${r.name}|${r.publisher}`);
  assert.deepEqual(names.sort(), ['a%2Fb|c', 'a/b|c', 'a|b/c']);
  assert.equal((await store.modules.listVersions('a', 'b/c')).items.length, 1);
  assert.equal((await store.modules.listStates('a')).items.length, 1);
  const long = 'x'.repeat(MAX_KEY_PART_LENGTH);
  await store.install(sampleInstall(long, '1.0.0', 64));
  await assert.rejects(store.install(sampleInstall(`${long}x`, '1.0.0', 64)), RangeError);
  await store.close();
});

void test('extension sublevels never see or clash with core keys', async () => {
  const dir = await freshDir();
  const store = await openStore(dir);
  const record = await store.install(sampleInstall('m', '1.0.0'));
  const kv = store.extension('kv');
  // A hostile key spelled like a core key stays inside the extension's own range.
  await kv.put(`!blobs!${record.hash}`, new Uint8Array([1, 2, 3]));
  assert.deepEqual(await kv.keys().all(), [`!blobs!${record.hash}`]);
  assert.equal((await store.blobs.get(record.hash))?.byteLength, 4096);
  assert.throws(() => store.extension('blobs' as never), /not a reserved extension sublevel/);
  await store.close();
});

void test('revocations persist across close/open and are found by publisher or by version', async () => {
  const dir = await freshDir();
  const store = await openStore(dir, { limits: { maxRevocationBytes: 100 } });
  const module = { name: 'm', publisher: 'p1', version: '1.0.0' };
  assert.equal(await store.revocations.find(module), undefined);
  await store.revocations.put({ kind: 'version', ...module }, new Uint8Array(100));
  await assert.rejects(
    store.revocations.put({ kind: 'publisher', publisher: 'p2' }, new Uint8Array(101)),
    (e: GojinnError) => /maxRevocationBytes \(100 bytes\)/.test(e.message),
  );
  await store.close();

  const reopened = await openStore(dir);
  assert.deepEqual(await reopened.revocations.find(module), { kind: 'version', ...module });
  assert.equal(await reopened.revocations.find({ ...module, version: '1.0.1' }), undefined);
  await reopened.revocations.put({ kind: 'publisher', publisher: 'p1' }, new Uint8Array([7]));
  assert.deepEqual(await reopened.revocations.find({ ...module, version: '9.9.9' }), {
    kind: 'publisher',
    publisher: 'p1',
  });
  const listed = await reopened.revocations.list();
  assert.deepEqual(
    listed.items.map((r) => r.target),
    [
      { kind: 'publisher', publisher: 'p1' },
      { kind: 'version', name: 'm', publisher: 'p1', version: '1.0.0' },
    ],
  );
  await reopened.close();
});

void test('a directory holding foreign level data or another layout version is refused untouched', async () => {
  const foreign = await freshDir();
  const raw = new Level(foreign);
  await raw.open();
  await raw.put('hello', 'world');
  await raw.close();
  await assert.rejects(openStore(foreign), /not a Gojinn store/);
  assert.deepEqual([...(await rawSnapshot(foreign)).keys()], ['hello']);

  const future = await freshDir();
  const store = await openStore(future);
  await store.close();
  const bump = new Level(future);
  await bump.open();
  await bump.put(`!${CORE_SUBLEVELS.meta}!layout`, '99');
  await bump.close();
  await assert.rejects(openStore(future), /has layout 99; this node reads layout 1/);
  // A refused open releases the directory: a later open of a good store works.
  const again = await openStore(await freshDir());
  await again.close();
});

void test('close is idempotent and releases the directory for the next owner', async () => {
  const dir = await freshDir();
  const store = await openStore(dir);
  await Promise.all([store.close(), store.close()]);
  assert.equal(store.isOpen, false);
  const next = await openStore(dir);
  await next.close();
});

void test('a pin and the state it implies are written together and survive close/open', async () => {
  const dir = await freshDir();
  const store = await openStore(dir);
  await store.install(sampleInstall('m', '1.0.0'));
  await store.install({ ...sampleInstall('m', '2.0.0'), state: { active: '2.0.0', highest: '2.0.0' } });
  // A pin may name a version that is not installed (yet): only the pin is written.
  await store.modules.setPin('m', 'publisher-a', '0.9.0');
  assert.equal(await store.modules.getPin('m', 'publisher-a'), '0.9.0');
  assert.deepEqual(await store.modules.getState('m', 'publisher-a'), { active: '2.0.0', highest: '2.0.0' });
  await store.modules.setPin('m', 'publisher-a', '1.0.0', { active: '1.0.0', highest: '2.0.0' });
  await store.close();

  const reopened = await openStore(dir);
  assert.equal(await reopened.modules.getPin('m', 'publisher-a'), '1.0.0');
  assert.deepEqual(await reopened.modules.getState('m', 'publisher-a'), {
    active: '1.0.0',
    highest: '2.0.0',
  });
  await reopened.modules.setPin('m', 'publisher-a', undefined, { active: '2.0.0', highest: '2.0.0' });
  assert.equal(await reopened.modules.getPin('m', 'publisher-a'), undefined);
  assert.deepEqual(await checkStoreIntegrity(reopened), { modulesChecked: 2, problems: [] });
  await reopened.close();
});
