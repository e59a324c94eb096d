/** `gojinn secrets set|list|rm`: arguments, the publisher taken from the store, exit statuses. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore } from '@gojinn/store';
import { runGojinn } from '../../../test/support/cli.ts';
import { SecretStore, loadMasterKey } from '../src/secrets/index.ts';
import { PUBLISHER_A, PUBLISHER_B } from './support/harness.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gojinn-secrets-cli-'));
  dirs.push(dir);
  return dir;
}

/** Installs bare records for `name` by each publisher (the store's own write; no verification needed here). */
async function install(dataDir: string, name: string, publishers: string[]): Promise<void> {
  const store = await openStore(dataDir);
  try {
    for (const [i, publisher] of publishers.entries()) {
      await store.install({
        key: { name, publisher, version: '1.0.0' },
        moduleBytes: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, i]),
        manifestBytes: new TextEncoder().encode(`{"fake":${i}}`),
        capabilities: ['secrets.read'],
        state: { active: '1.0.0', highest: '1.0.0' },
      });
    }
  } finally {
    await store.close();
  }
}

async function readBack(
  dataDir: string,
  module: string,
  publisher: string,
  name: string,
): Promise<string | undefined> {
  const store = await openStore(dataDir);
  try {
    const secrets = new SecretStore(store.extension('secrets'), () => loadMasterKey({ dataDir, env: {} }));
    const value = await secrets.get({ name: module, publisher }, name);
    return value === undefined ? undefined : new TextDecoder().decode(value);
  } finally {
    await store.close();
  }
}

void test('without --publisher, the one installed publisher of the module is used; none or several is an error', async () => {
  const dataDir = tempDir();
  const set = (module: string, stdin = 'v\n') =>
    runGojinn(dataDir, ['secrets', 'set', module, 'TOKEN', '--value-stdin', '--data', dataDir], stdin);
  const none = await set('app');
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no module "app" is installed; pass --publisher KEY/);
  await install(dataDir, 'app', [PUBLISHER_A]);
  const one = await set('app', 'one\r\n');
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.stdout, `secret TOKEN set for app (${PUBLISHER_A})\n`);
  assert.equal(
    await readBack(dataDir, 'app', PUBLISHER_A, 'TOKEN'),
    'one',
    'CRLF at the end of stdin removed',
  );
  await install(dataDir, 'both', [PUBLISHER_A, PUBLISHER_B]);
  const several = await set('both');
  assert.equal(several.code, 2);
  assert.match(several.stderr, /several publishers have a module "both"; pass --publisher KEY/);
  const chosen = await runGojinn(
    dataDir,
    ['secrets', 'set', 'both', 'TOKEN', '--value-stdin', '--publisher', PUBLISHER_B, '--data', dataDir],
    'b',
  );
  assert.equal(chosen.code, 0);
  assert.equal(await readBack(dataDir, 'both', PUBLISHER_B, 'TOKEN'), 'b');
  assert.equal(await readBack(dataDir, 'both', PUBLISHER_A, 'TOKEN'), undefined);
});

void test('usage errors: exactly one value source, a value, valid names and flags the action takes', async () => {
  const dataDir = tempDir();
  const base = ['--publisher', PUBLISHER_A, '--data', dataDir];
  const cases: [string[], string, RegExp][] = [
    [['secrets'], '', /expected an action: set, list or rm/],
    [['secrets', 'show', 'app'], '', /expected an action/],
    [['secrets', 'set', 'app', 'T', ...base], '', /exactly one of --value-stdin and --value/],
    [['secrets', 'set', 'app', 'T', '--value-stdin', '--value', 'x', ...base], 'y', /exactly one of/],
    [['secrets', 'set', 'app', 'T', '--value-stdin', ...base], '\n', /the secret value is empty/],
    [['secrets', 'set', 'app', '1BAD', '--value-stdin', ...base], 'v', /secret name must be/],
    [['secrets', 'set', 'App', 'T', '--value-stdin', ...base], 'v', /module name must be/],
    [
      ['secrets', 'set', 'app', 'T', '--value-stdin', '--publisher', 'me', '--data', dataDir],
      'v',
      /--publisher must be a public key/,
    ],
    [
      ['secrets', 'list', '--publisher', PUBLISHER_A, '--data', dataDir],
      '',
      /list does not take --publisher/,
    ],
    [['secrets', 'rm', 'app', ...base, '--value-stdin'], '', /rm takes <module> <name>; got 1/],
  ];
  for (const [args, stdin, message] of cases) {
    const result = await runGojinn(dataDir, args, stdin);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(' '));
  }
  const json = await runGojinn(
    dataDir,
    ['secrets', 'set', 'app', 'T', '--value-stdin', ...base, '--json'],
    '',
  );
  assert.equal(json.code, 2);
  assert.deepEqual(JSON.parse(json.stdout), {
    ok: false,
    error: { code: 'bad_request', message: 'the secret value is empty' },
  });
});

void test('list on a missing data directory lists nothing and creates nothing; rm of a missing secret is exit 1', async () => {
  const missing = join(tempDir(), 'absent');
  const listed = await runGojinn(missing, ['secrets', 'list', '--data', missing, '--json']);
  assert.equal(listed.code, 0);
  assert.deepEqual(JSON.parse(listed.stdout), { ok: true, dataDir: missing, secrets: [] });
  assert.equal(existsSync(missing), false);
  const rm = await runGojinn(missing, [
    'secrets',
    'rm',
    'app',
    'T',
    '--publisher',
    PUBLISHER_A,
    '--data',
    missing,
  ]);
  assert.equal(rm.code, 1);
});

void test('a value passed as an extra argument is refused without being echoed', async () => {
  const dataDir = tempDir();
  const value = `v-${randomBytes(8).toString('hex')}`;
  for (const args of [
    ['secrets', 'set', 'app', 'T', value, '--publisher', PUBLISHER_A, '--data', dataDir],
    ['secrets', 'rm', 'app', 'T', value, '--data', dataDir],
    ['secrets', 'list', 'app', value, '--data', dataDir, '--json'],
  ]) {
    const result = await runGojinn(dataDir, args);
    assert.equal(result.code, 2);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(value), args.join(' '));
  }
});
