import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeManifest,
  encodeRevocation,
  keyPairFromSeed,
  moduleDigest,
  signManifest,
  signRevocation,
} from '@gojinn/manifest';
import { ModuleRegistry } from '@gojinn/registry';
import { CORE_SUBLEVELS, openStore } from '@gojinn/store';
import { Level } from 'level';
import type { CommandIo } from '../src/command.ts';
import { main } from '../src/main.ts';

const publisher = keyPairFromSeed(new Uint8Array(32).fill(21));
const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-cli-modules-'));
  dirs.push(dir);
  return dir;
}

/** A minimal valid module: the wasm header, then a custom section carrying `tag`. */
function moduleBytes(tag: string): Uint8Array {
  const payload = new TextEncoder().encode(tag);
  return Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0, 0x00, payload.length + 2, 1, 0x74, ...payload);
}

async function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd = '/',
): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    readStdin: () => Promise.resolve(Buffer.alloc(0)),
    env,
    cwd,
  };
  const status = await main(args, io);
  return { status, stdout, stderr };
}

/** Installs hello@1.0.0 and hello@2.0.0 (capability db.query) and revokes 2.0.0. Returns the hashes. */
async function populate(dir: string): Promise<string[]> {
  const store = await openStore(dir);
  const registry = new ModuleRegistry({ store, trust: { publishers: [publisher.publicKey] } });
  const hashes: string[] = [];
  for (const version of ['1.0.0', '2.0.0']) {
    const bytes = moduleBytes(version);
    const manifest = signManifest(
      { name: 'hello', version, ...moduleDigest(bytes), capabilities: { 'db.query': {} } },
      publisher.secretKey,
    );
    await registry.install(bytes, encodeManifest(manifest));
    hashes.push(createHash('sha256').update(bytes).digest('hex'));
  }
  const target = {
    kind: 'version',
    publisher: publisher.publicKey,
    name: 'hello',
    version: '2.0.0',
  } as const;
  await registry.applyRevocation(encodeRevocation(signRevocation({ target }, publisher.secretKey)));
  await store.close();
  return hashes;
}

void test('gojinn modules --json lists every version with capabilities, hash and flags', async () => {
  const dir = await freshDir();
  const hashes = await populate(dir);
  const { status, stdout } = await run(['modules', '--data', dir, '--json']);
  assert.equal(status, 0);
  const out = JSON.parse(stdout) as { ok: boolean; dataDir: string; modules: Array<Record<string, unknown>> };
  assert.equal(out.ok, true);
  assert.equal(out.dataDir, dir);
  assert.deepEqual(
    out.modules.map((m) => [
      m.name,
      m.version,
      m.publisher,
      m.capabilities,
      m.hash,
      m.active,
      m.pinned,
      m.revoked,
    ]),
    [
      ['hello', '1.0.0', publisher.publicKey, ['db.query'], hashes[0], false, false, false],
      ['hello', '2.0.0', publisher.publicKey, ['db.query'], hashes[1], true, false, true],
    ],
  );
});

void test('gojinn modules prints a table; the data dir comes from --data, $GOJINN_DATA, then ./.data/node', async () => {
  const dir = await freshDir();
  const hashes = await populate(dir);
  const viaEnv = await run(['modules'], { GOJINN_DATA: dir });
  assert.equal(viaEnv.status, 0);
  const lines = viaEnv.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^MODULE\s+STATE\s+CAPABILITIES\s+PUBLISHER\s+SHA256$/);
  assert.match(
    lines[1] ?? '',
    new RegExp(`^hello@1\\.0\\.0\\s+-\\s+db\\.query\\s+${publisher.publicKey}\\s+${hashes[0]}$`),
  );
  assert.match(lines[2] ?? '', /^hello@2\.0\.0\s+active,REVOKED\s+db\.query/);

  const cwd = await freshDir();
  const empty = await run(['modules'], {}, cwd);
  assert.equal(empty.status, 0);
  assert.equal(empty.stdout, `no modules installed in ${join(cwd, '.data/node')}\n`);
  assert.equal(await stat(join(cwd, '.data')).catch(() => undefined), undefined, 'listing created nothing');
  const flagWins = await run(['modules', '--data', dir, '--json'], { GOJINN_DATA: cwd });
  assert.equal((JSON.parse(flagWins.stdout) as { modules: unknown[] }).modules.length, 2);
});

void test('gojinn modules fails clearly while another owner holds the store', async () => {
  const dir = await freshDir();
  const store = await openStore(dir);
  const { status, stdout } = await run(['modules', '--data', dir, '--json']);
  await store.close();
  assert.equal(status, 1);
  const out = JSON.parse(stdout) as { ok: boolean; error: { code: string; message: string } };
  assert.equal(out.ok, false);
  assert.equal(out.error.code, 'internal');
  assert.match(out.error.message, /store_locked: data directory .* is already in use/);
});

void test('gojinn modules --check re-hashes the store and fails on a damaged blob', async () => {
  const dir = await freshDir();
  const hashes = await populate(dir);
  const healthy = await run(['modules', '--data', dir, '--check']);
  assert.equal(healthy.status, 0);
  assert.match(healthy.stdout, /check: 2 module versions intact/);

  const raw = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
  await raw.open();
  await raw.put(`!${CORE_SUBLEVELS.blobs}!${hashes[0]}`, moduleBytes('tampered'));
  await raw.close();
  const damaged = await run(['modules', '--data', dir, '--check', '--json']);
  assert.equal(damaged.status, 1);
  const out = JSON.parse(damaged.stdout) as {
    ok: boolean;
    integrity: { modulesChecked: number; problems: string[] };
  };
  assert.equal(out.ok, false);
  assert.equal(out.integrity.modulesChecked, 1);
  assert.match(out.integrity.problems[0] ?? '', /hello@1\.0\.0 .*store_corrupt: blob/);
});

void test('gojinn modules rejects stray arguments and unknown flags as usage errors', async () => {
  assert.equal((await run(['modules', 'extra'])).status, 2);
  assert.equal((await run(['modules', '--datadir', '/x'])).status, 2);
  const json = await run(['modules', '--data', '', '--json']);
  assert.equal(json.status, 2);
  assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'bad_request');
});
