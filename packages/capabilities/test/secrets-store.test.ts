/**
 * The master key (environment or 0600 file), sealed records, and the SecretStore on a real
 * store: limits at the limit, scoping by module, tampering, wrong keys.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { inspect } from 'node:util';
import { openStore, type Store } from '@gojinn/store';
import {
  MASTER_KEY_ENV,
  MASTER_KEY_FILE,
  MasterKey,
  SecretStore,
  loadMasterKey,
  openSecret,
  sealSecret,
} from '../src/secrets/index.ts';
import { PUBLISHER_A, PUBLISHER_B } from './support/harness.ts';

const dirs: string[] = [];
const stores: Store[] = [];
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gojinn-secrets-'));
  dirs.push(dir);
  return dir;
}

const KEY_HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const APP = { name: 'app', publisher: PUBLISHER_A };

async function secretStore(
  dir = tempDir(),
  limits = {},
): Promise<{ store: Store; secrets: SecretStore; dir: string }> {
  const store = await openStore(dir);
  stores.push(store);
  const key = await loadMasterKey({ dataDir: dir, env: {} });
  return { store, secrets: new SecretStore(store.extension('secrets'), async () => key, limits), dir };
}

void test('the master key comes from GOJINN_MASTER_KEY (64 hex digits) before any file', async () => {
  const dir = tempDir();
  const key = await loadMasterKey({ dataDir: dir, env: { [MASTER_KEY_ENV]: KEY_HEX } });
  assert.equal(key.source, 'env');
  const same = await loadMasterKey({ dataDir: dir, env: { [MASTER_KEY_ENV]: KEY_HEX.toUpperCase() } });
  assert.equal(same.id, key.id);
  assert.throws(
    () => statSync(join(dir, MASTER_KEY_FILE)),
    /ENOENT/,
    'no file is created when the variable is set',
  );
});

void test('a malformed GOJINN_MASTER_KEY is refused without echoing it', async () => {
  for (const bad of ['abc', `${KEY_HEX}00`, `${KEY_HEX.slice(0, 63)}g`, 'a-secret-looking-value']) {
    await assert.rejects(
      loadMasterKey({ dataDir: tempDir(), env: { [MASTER_KEY_ENV]: bad } }),
      (error: Error) => {
        assert.match(error.message, /must hold a master key as 64 hex digits/);
        assert.ok(!error.message.includes(bad), error.message);
        return true;
      },
    );
  }
});

void test('without the variable, the key file is created on first use (mode 0600, 64 hex digits) and reused', async () => {
  const dir = tempDir();
  assert.equal(await loadMasterKey({ dataDir: dir, env: {}, create: false }), undefined);
  const created = await loadMasterKey({ dataDir: dir, env: {} });
  assert.equal(created.source, 'file');
  const path = join(dir, MASTER_KEY_FILE);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.match(readFileSync(path, 'latin1'), /^[0-9a-f]{64}\n$/);
  assert.equal((await loadMasterKey({ dataDir: dir, env: {} })).id, created.id);
});

void test('concurrent first uses agree on one key', async () => {
  const dir = tempDir();
  const keys = await Promise.all(Array.from({ length: 8 }, () => loadMasterKey({ dataDir: dir, env: {} })));
  assert.equal(new Set(keys.map((k) => k.id)).size, 1);
});

void test('a key file group/other can read, a symlink, or malformed content is refused', async () => {
  const dir = tempDir();
  const path = join(dir, MASTER_KEY_FILE);
  writeFileSync(path, `${KEY_HEX}\n`, { mode: 0o644 });
  chmodSync(path, 0o644);
  await assert.rejects(
    loadMasterKey({ dataDir: dir, env: {} }),
    /mode 0644: group or others can access it; run chmod 600/,
  );
  chmodSync(path, 0o600);
  assert.equal((await loadMasterKey({ dataDir: dir, env: {} })).source, 'file');
  writeFileSync(path, 'not a key\n');
  await assert.rejects(
    loadMasterKey({ dataDir: dir, env: {} }),
    (error: Error) => !error.message.includes('not a key'),
  );
  const linked = tempDir();
  symlinkSync(path, join(linked, MASTER_KEY_FILE));
  await assert.rejects(loadMasterKey({ dataDir: linked, env: {} }), /is a symbolic link/);
});

void test('the key object never shows its bytes when logged or serialised', () => {
  const key = new MasterKey(Buffer.from(KEY_HEX, 'hex'), 'env');
  const shown = `${JSON.stringify(key)} ${String(key)} ${inspect(key, { showHidden: true, depth: 5 })}`;
  assert.ok(!shown.includes(KEY_HEX), shown);
  assert.ok(!shown.toLowerCase().includes('00112233'), shown);
});

void test('sealed records: bound to their store key, to the master key, and tamper-evident', () => {
  const key = new MasterKey(Buffer.from(KEY_HEX, 'hex'), 'env');
  const other = new MasterKey(new Uint8Array(32).fill(7), 'file');
  const value = encoder.encode('s3cr3t-value');
  const record = sealSecret(key, 'app/pub/TOKEN', value);
  assert.deepEqual(openSecret(key, 'app/pub/TOKEN', record), value);
  assert.ok(!Buffer.from(record).includes(Buffer.from('s3cr3t-value')));
  // Two seals of one value differ (fresh nonce).
  assert.notDeepEqual(sealSecret(key, 'app/pub/TOKEN', value), record);
  assert.throws(() => openSecret(key, 'evil/pub/TOKEN', record), /filed under a key it was not sealed for/);
  assert.throws(
    () => openSecret(other, 'app/pub/TOKEN', record),
    new RegExp(`sealed under master key ${key.id}, but this node's master key is ${other.id}`),
  );
  for (const at of [0, 5, 20, record.byteLength - 1]) {
    const flipped = Uint8Array.from(record);
    flipped[at] = (flipped[at] ?? 0) ^ 1;
    assert.throws(
      () => openSecret(key, 'app/pub/TOKEN', flipped),
      /damaged|sealed under|fails authentication/,
    );
  }
  assert.throws(() => openSecret(key, 'app/pub/TOKEN', record.subarray(0, 20)), /damaged/);
});

void test('set, get, list (names only), delete; scoped by module name and publisher', async () => {
  const { secrets } = await secretStore();
  await secrets.set(APP, 'API_TOKEN', encoder.encode('one'));
  await secrets.set({ name: 'app', publisher: PUBLISHER_B }, 'API_TOKEN', encoder.encode('two'));
  await secrets.set({ name: 'app2', publisher: PUBLISHER_A }, 'API_TOKEN', encoder.encode('three'));
  assert.equal(decoder.decode(await secrets.get(APP, 'API_TOKEN')), 'one');
  assert.equal(
    decoder.decode(await secrets.get({ name: 'app', publisher: PUBLISHER_B }, 'API_TOKEN')),
    'two',
  );
  assert.equal(await secrets.get(APP, 'OTHER'), undefined);
  assert.deepEqual(
    (await secrets.list('app')).map((s) => `${s.module} ${s.publisher} ${s.name}`).sort(),
    [`app ${PUBLISHER_A} API_TOKEN`, `app ${PUBLISHER_B} API_TOKEN`].sort(),
  );
  assert.equal((await secrets.list()).length, 3);
  assert.deepEqual(await secrets.list('ap'), [], 'a module name is not a prefix of another');
  await secrets.set(APP, 'API_TOKEN', encoder.encode('replaced'));
  assert.equal(decoder.decode(await secrets.get(APP, 'API_TOKEN')), 'replaced');
  assert.equal(await secrets.delete(APP, 'API_TOKEN'), true);
  assert.equal(await secrets.delete(APP, 'API_TOKEN'), false);
  assert.equal(await secrets.get(APP, 'API_TOKEN'), undefined);
});

void test('names follow the manifest rule; nothing with a separator or outside it is accepted', async () => {
  const { secrets } = await secretStore();
  for (const name of ['', '1abc', 'a/b', 'a b', 'é', 'x'.repeat(129)]) {
    await assert.rejects(secrets.set(APP, name, encoder.encode('v')), /secret name must be/);
  }
  await secrets.set(APP, `_${'x'.repeat(127)}`, encoder.encode('v'));
  await assert.rejects(
    secrets.set({ name: 'App', publisher: PUBLISHER_A }, 'N', encoder.encode('v')),
    /module name/,
  );
  await assert.rejects(
    secrets.set({ name: 'app', publisher: 'ed25519:nope' }, 'N', encoder.encode('v')),
    /publisher/,
  );
});

void test('maxValueBytes: a value of exactly the limit is stored, one byte more refused (message has the size, not the value)', async () => {
  const { secrets } = await secretStore(tempDir(), { maxValueBytes: 16 });
  await secrets.set(APP, 'A', encoder.encode('x'.repeat(16)));
  await assert.rejects(secrets.set(APP, 'B', encoder.encode('y'.repeat(17))), (error: Error) => {
    assert.match(error.message, /17 bytes; limit maxValueBytes is 16/);
    assert.ok(!error.message.includes('yyy'));
    return true;
  });
});

void test('maxSecretsPerModule: the module may hold exactly the limit; replacing one is fine; one more refused', async () => {
  const { secrets } = await secretStore(tempDir(), { maxSecretsPerModule: 3 });
  for (const name of ['A', 'B', 'C']) await secrets.set(APP, name, encoder.encode('v'));
  await secrets.set(APP, 'B', encoder.encode('w'));
  await assert.rejects(
    secrets.set(APP, 'D', encoder.encode('v')),
    /already holds 3 secrets; limit maxSecretsPerModule is 3/,
  );
  await secrets.set({ name: 'app', publisher: PUBLISHER_B }, 'D', encoder.encode('v')); // another module's own count
  await secrets.delete(APP, 'A');
  await secrets.set(APP, 'D', encoder.encode('v'));
});

void test('a record copied under another module is refused, not handed over', async () => {
  const { store, secrets } = await secretStore();
  await secrets.set(APP, 'TOKEN', encoder.encode('victim-value'));
  const sublevel = store.extension('secrets');
  const [[, record] = ['', new Uint8Array()]] = await sublevel.iterator().all();
  const thief = { name: 'thief', publisher: PUBLISHER_A };
  await sublevel.put(`thief/${encodeURIComponent(PUBLISHER_A)}/TOKEN`, record);
  await assert.rejects(secrets.get(thief, 'TOKEN'), /filed under a key it was not sealed for/);
});

void test('a node with another master key cannot read the secrets, and says which key sealed them', async () => {
  const dir = tempDir();
  const { store, secrets } = await secretStore(dir);
  await secrets.set(APP, 'TOKEN', encoder.encode('v'));
  const wrong = new SecretStore(
    store.extension('secrets'),
    async () => new MasterKey(new Uint8Array(32).fill(9), 'env'),
  );
  await assert.rejects(
    wrong.get(APP, 'TOKEN'),
    /sealed under master key [0-9a-f]{16}, but this node's master key is [0-9a-f]{16} \(env\)/,
  );
});
