/**
 * "Not declared ⇒ sign refuses", for every capability, through `gojinn sign` as a publisher runs
 * it: each example (and a WAT guest for debug.enable) is refused with capability_denied naming
 * the missing capability, and accepted once it is declared.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runGojinn } from './support/cli.ts';
import { examplePath, type ExampleGuest } from './support/guests.ts';
import { assembleWat } from './support/wat.ts';

let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gojinn-undeclared-'));
  assert.equal((await runGojinn(dir, ['keygen', '--out', 'p.key'])).code, 0);
  await writeFile(
    join(dir, 'debugger.wasm'),
    await assembleWat(`(module
      (import "gojinn" "debug_event" (func (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")))`),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

const CASES: [file: string, example: ExampleGuest | null, caps: string[]][] = [
  ['kv-counter.wasm', 'kv-counter', ['kv.read', 'kv.write']],
  ['notes.wasm', 'notes', ['db.query']],
  ['http-proxy.wasm', 'http-proxy', ['net.http']],
  ['secret-user.wasm', 'secret-user', ['secrets.read']],
  ['debugger.wasm', null, ['debug.enable']],
];

const SCOPES: Record<string, string[]> = {
  'kv.read': ['--kv-prefix', 'counter/'],
  'net.http': ['--http-host', 'https://example.test'],
  'secrets.read': ['--secret', 'API_TOKEN'],
};

for (const [file, example, caps] of CASES) {
  void test(`${file}: refused until ${caps.join(' and ')} declared`, async () => {
    if (example !== null) await copyFile(examplePath(example), join(dir, file));
    const base = [
      'sign',
      file,
      '--key',
      'p.key',
      '--name',
      file.replace('.wasm', ''),
      '--version',
      '1.0.0',
      '--json',
    ];
    const refused = await runGojinn(dir, base);
    assert.equal(refused.code, 1, refused.stdout);
    const error = (JSON.parse(refused.stdout) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'capability_denied');
    assert.ok(
      caps.some((cap) => error.message.includes(cap)),
      error.message,
    );

    const declared = caps.flatMap((cap) => ['--cap', cap, ...(SCOPES[cap] ?? [])]);
    const signed = await runGojinn(dir, [...base, ...declared]);
    assert.equal(signed.code, 0, signed.stdout);
  });
}
