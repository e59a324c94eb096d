import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_TOKEN_FILE,
  CONFIG_FILE,
  defaultConfig,
  loadConfigFile,
  renderConfigTemplate,
} from '@gojinn/daemon';
import { NODE_KEY_FILE } from '@gojinn/mesh';
import { gojinn, onlyJson } from './signing-harness.ts';

async function scratch(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-init-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

void test('init creates a 0700 data dir with a 0600 config.toml that parses to the defaults and a 0600 admin token', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const result = await gojinn(dir, 'init', '--data', 'node1');
    assert.equal(result.code, 0, result.stderr);
    const dataDir = join(dir, 'node1');
    assert.equal(result.stdout, `${dataDir}\n`);
    assert.equal(await mode(dataDir), 0o700);
    assert.deepEqual((await readdir(dataDir)).sort(), [ADMIN_TOKEN_FILE, CONFIG_FILE, NODE_KEY_FILE].sort());
    assert.equal(await mode(join(dataDir, NODE_KEY_FILE)), 0o600);
    assert.match(result.stderr, /node identity created: peer id 12D3Koo[1-9A-HJ-NP-Za-km-z]+/);
    const configPath = join(dataDir, CONFIG_FILE);
    assert.equal(await mode(configPath), 0o600);
    assert.equal(await readFile(configPath, 'utf8'), renderConfigTemplate());
    assert.deepEqual(await loadConfigFile(configPath), defaultConfig(dataDir));
    const tokenPath = join(dataDir, ADMIN_TOKEN_FILE);
    assert.equal(await mode(tokenPath), 0o600);
    const token = await readFile(tokenPath, 'utf8');
    assert.match(token, /^[0-9a-f]{64}\n$/);
    assert.ok(
      !result.stdout.includes(token.trim()) && !result.stderr.includes(token.trim()),
      'the token is never printed',
    );
  } finally {
    await cleanup();
  }
});

void test('init refuses to overwrite either file without --force (nothing changes), and --force replaces only its own files', async () => {
  const { dir, cleanup } = await scratch();
  try {
    assert.equal((await gojinn(dir, 'init', '--data', 'n')).code, 0);
    const dataDir = join(dir, 'n');
    const tokenPath = join(dataDir, ADMIN_TOKEN_FILE);
    const configPath = join(dataDir, CONFIG_FILE);
    await writeFile(configPath, '[logging]\nlevel = "warn"\n');
    await writeFile(join(dataDir, 'store-file'), 'kept');
    const token = await readFile(tokenPath, 'utf8');

    const refused = await gojinn(dir, 'init', '--data', 'n');
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /^gojinn init: bad_request: .*config\.toml already exists; refusing to overwrite it \(use --force\)\n$/,
    );
    const refusedJson = onlyJson(await gojinn(dir, 'init', '--data', 'n', '--json'));
    assert.equal(refusedJson.ok, false);
    assert.equal((refusedJson.error as { code: string }).code, 'bad_request');
    assert.equal(await readFile(configPath, 'utf8'), '[logging]\nlevel = "warn"\n');
    assert.equal(await readFile(tokenPath, 'utf8'), token);

    // Only the token present: still refused, and no config.toml is created beside it.
    await rm(configPath);
    const tokenOnly = await gojinn(dir, 'init', '--data', 'n');
    assert.equal(tokenOnly.code, 2);
    assert.match(tokenOnly.stderr, /admin\.token already exists/);
    await assert.rejects(stat(configPath), { code: 'ENOENT' });

    const nodeKey = await readFile(join(dataDir, NODE_KEY_FILE));
    const forced = onlyJson(await gojinn(dir, 'init', '--data', 'n', '--force', '--json'));
    const { peerId, ...rest } = forced;
    assert.deepEqual(rest, { ok: true, dataDir, files: [configPath, tokenPath] });
    assert.match(String(peerId), /^12D3Koo/);
    assert.deepEqual(
      await readFile(join(dataDir, NODE_KEY_FILE)),
      nodeKey,
      'the node identity is kept, even with --force',
    );
    assert.notEqual(await readFile(tokenPath, 'utf8'), token, 'a new token');
    assert.equal(await mode(tokenPath), 0o600);
    assert.equal(await readFile(configPath, 'utf8'), renderConfigTemplate());
    assert.equal(await readFile(join(dataDir, 'store-file'), 'utf8'), 'kept');
    assert.deepEqual(
      (await readdir(dataDir)).sort(),
      [ADMIN_TOKEN_FILE, CONFIG_FILE, NODE_KEY_FILE, 'store-file'].sort(),
      'no temporary files left',
    );
  } finally {
    await cleanup();
  }
});

void test('init tightens an existing empty directory to 0700; uses $GOJINN_DATA-style defaults; bad usage exits 2', async () => {
  const { dir, cleanup } = await scratch();
  try {
    await mkdir(join(dir, 'open'), { mode: 0o755 });
    assert.equal((await gojinn(dir, 'init', '--data', 'open')).code, 0);
    assert.equal(await mode(join(dir, 'open')), 0o700);

    assert.equal((await gojinn(dir, 'init')).code, 0);
    assert.equal(await mode(join(dir, '.data', 'node', ADMIN_TOKEN_FILE)), 0o600);

    await writeFile(join(dir, 'plain-file'), 'x');
    const notDir = onlyJson(await gojinn(dir, 'init', '--data', 'plain-file', '--json'));
    assert.equal((notDir.error as { code: string }).code, 'bad_request');
    assert.match((notDir.error as { message: string }).message, /plain-file/);
    assert.equal(await readFile(join(dir, 'plain-file'), 'utf8'), 'x');

    assert.equal((await gojinn(dir, 'init', '--bogus')).code, 2);
    assert.equal((await gojinn(dir, 'init', 'stray')).code, 2);
    assert.equal((await gojinn(dir, 'init', '--data', '', '--json')).code, 2);
  } finally {
    await cleanup();
  }
});
