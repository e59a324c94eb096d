/**
 * The signed-module journey end to end, as a publisher and an operator would go through it:
 * keygen → sign the AssemblyScript hello → verify → install through the registry (the only way
 * into a node) → list with `gojinn modules` → resolve → prepare → run in the sandbox. A tampered
 * module on the same path is refused before anything is compiled.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import { ModuleRegistry } from '@gojinn/registry';
import { Sandbox } from '@gojinn/sandbox';
import { openStore } from '@gojinn/store';
import { runGojinn, type CliResult } from './support/cli.ts';
import { examplePath } from './support/guests.ts';

let dir = '';

const gojinn = (...args: string[]): Promise<CliResult> => runGojinn(dir, args);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gojinn-roundtrip-'));
  await copyFile(examplePath('hello'), join(dir, 'hello.wasm'));
});
after(() => rm(dir, { recursive: true, force: true }));

void test('keygen → sign → verify → install → modules → run', async () => {
  const keygen = await gojinn('keygen', '--out', 'publisher.key');
  assert.equal(keygen.code, 0, keygen.stderr);
  const publisher = keygen.stdout.trim();
  assert.match(publisher, /^ed25519:[A-Za-z0-9_-]{43}$/);

  const sign = await gojinn(
    'sign',
    'hello.wasm',
    '--key',
    'publisher.key',
    '--name',
    'hello',
    '--version',
    '1.2.0',
  );
  assert.equal(sign.code, 0, sign.stderr);
  const verify = await gojinn('verify', 'hello.wasm', '--trust', publisher, '--json');
  assert.equal(verify.code, 0, verify.stdout);

  const moduleBytes = await readFile(join(dir, 'hello.wasm'));
  const manifestBytes = await readFile(join(dir, 'hello.manifest.json'));
  const dataDir = join(dir, 'node');
  const store = await openStore(dataDir);
  try {
    const registry = new ModuleRegistry({ store, trust: { publishers: [publisher] } });
    await registry.install(moduleBytes, manifestBytes);
    const served = await registry.resolve('hello');
    assert.deepEqual(Buffer.from(served.moduleBytes), moduleBytes);

    const sandbox = new Sandbox({ pool: { size: 1 } });
    try {
      const outcome = await sandbox.invoke(sandbox.prepare(served.moduleBytes), { uri: '/?name=signed' });
      assert.equal(outcome.ok, true, outcome.error?.message);
      assert.match(outcome.response?.body ?? '', /signed/);
    } finally {
      await sandbox.close();
    }
  } finally {
    await store.close();
  }

  const modules = await gojinn('modules', '--data', dataDir, '--json');
  assert.equal(modules.code, 0, modules.stderr);
  assert.match(modules.stdout, /"name":"hello"/);
  assert.match(modules.stdout, /"version":"1\.2\.0"/);
  assert.ok(modules.stdout.includes(publisher));
});

void test('a module changed after signing is refused by verify and by the registry, and nothing is stored', async () => {
  const tampered = Buffer.from(await readFile(join(dir, 'hello.wasm')));
  const last = tampered.length - 1;
  tampered.writeUInt8((tampered.readUInt8(last) ^ 0x01) & 0xff, last);
  await writeFile(join(dir, 'tampered.wasm'), tampered);
  await copyFile(join(dir, 'hello.manifest.json'), join(dir, 'tampered.manifest.json'));
  const publisher = (await readFile(join(dir, 'publisher.key'), 'utf8')).match(
    /ed25519:[A-Za-z0-9_-]{43}/,
  )?.[0];
  assert.ok(publisher !== undefined);

  const verify = await gojinn('verify', 'tampered.wasm', '--trust', publisher, '--json');
  assert.equal(verify.code, 1);
  assert.match(verify.stdout, /signature_invalid/);

  const store = await openStore(join(dir, 'tampered-node'));
  try {
    const registry = new ModuleRegistry({ store, trust: { publishers: [publisher] } });
    await assert.rejects(
      registry.install(tampered, await readFile(join(dir, 'tampered.manifest.json'))),
      (error: unknown) => error instanceof GojinnError && error.code === 'signature_invalid',
    );
    assert.equal((await registry.list()).items.length, 0);
  } finally {
    await store.close();
  }
});
