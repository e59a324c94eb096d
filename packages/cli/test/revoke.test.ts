/** `gojinn revoke`: signed records for a publisher key or one version, applied to a local store. */
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import { parseRevocation, verifyRevocation, TrustPolicy } from '@gojinn/manifest';
import { ModuleRegistry } from '@gojinn/registry';
import { openStore } from '@gojinn/store';
import { runGojinn } from '../../../test/support/cli.ts';
import { examplePath } from '../../../test/support/guests.ts';

let dir = '';
let publisher = '';
const gojinn = (...args: string[]) => runGojinn(dir, args);

async function installHello(dataDir: string, version: string): Promise<void> {
  const sign = await gojinn(
    'sign',
    'hello.wasm',
    '--key',
    'publisher.key',
    '--name',
    'hello',
    '--version',
    version,
  );
  assert.equal(sign.code, 0, sign.stderr);
  const store = await openStore(dataDir);
  try {
    const registry = new ModuleRegistry({ store, trust: { publishers: [publisher] } });
    await registry.install(
      await readFile(join(dir, 'hello.wasm')),
      await readFile(join(dir, 'hello.manifest.json')),
    );
  } finally {
    await store.close();
  }
}

async function resolveCode(dataDir: string): Promise<string> {
  const store = await openStore(dataDir);
  try {
    await new ModuleRegistry({ store, trust: { publishers: [publisher] } }).resolve('hello');
    return 'ok';
  } catch (error) {
    if (error instanceof GojinnError) return error.code;
    throw error;
  } finally {
    await store.close();
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gojinn-revoke-'));
  await copyFile(examplePath('hello'), join(dir, 'hello.wasm'));
  const keygen = await gojinn('keygen', '--out', 'publisher.key');
  assert.equal(keygen.code, 0, keygen.stderr);
  publisher = keygen.stdout.trim();
});
after(() => rm(dir, { recursive: true, force: true }));

void test('a publisher revokes its own key: the record verifies and the node stops serving its modules', async () => {
  const dataDir = join(dir, 'node-a');
  await installHello(dataDir, '1.0.0');
  assert.equal(await resolveCode(dataDir), 'ok');
  const result = await gojinn(
    'revoke',
    '--key',
    'publisher.key',
    '--reason',
    'key leaked',
    '--apply',
    '--data',
    dataDir,
    '--json',
  );
  assert.equal(result.code, 0, result.stdout);
  const record = parseRevocation(await readFile(join(dir, 'revocation.json')));
  assert.equal(record.kind, 'publisher');
  assert.equal(verifyRevocation(record, new TrustPolicy()).authority, 'publisher');
  assert.equal(await resolveCode(dataDir), 'revoked');
  const modules = await gojinn('modules', '--data', dataDir, '--json');
  assert.match(modules.stdout, /revoked/);
});

void test('one version revoked: that version refused, the record names it', async () => {
  const dataDir = join(dir, 'node-b');
  await installHello(dataDir, '2.0.0');
  const result = await gojinn(
    'revoke',
    '--key',
    'publisher.key',
    '--name',
    'hello',
    '--version',
    '2.0.0',
    '--out',
    'v2.json',
    '--apply',
    '--data',
    dataDir,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /hello@2\.0\.0/);
  const record = parseRevocation(await readFile(join(dir, 'v2.json')));
  assert.equal(record.kind === 'version' && record.version, '2.0.0');
  assert.equal(await resolveCode(dataDir), 'revoked');
});

for (const [label, args] of [
  ['no --key', ['revoke']],
  ['--name without --version', ['revoke', '--key', 'publisher.key', '--name', 'hello']],
  ['--data without --apply', ['revoke', '--key', 'publisher.key', '--data', 'x']],
  ['a malformed --publisher', ['revoke', '--key', 'publisher.key', '--publisher', 'ed25519:short']],
  ['a missing key file', ['revoke', '--key', 'nope.key']],
] as const) {
  void test(`bad usage exits 2: ${label}`, async () => {
    const result = await gojinn(...args, '--json');
    assert.equal(result.code, 2, result.stdout);
    assert.match(result.stdout, /"code":"bad_request"/);
  });
}
