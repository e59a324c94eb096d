/**
 * `gojinn run` as PRODUCT.md specifies it: flags, the exact `--json` shape, exit statuses
 * 0 / 1 / 2, seeds that reproduce a run, and the sandbox's limits reachable from the flags.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runGojinn, type CliResult } from '../../../test/support/cli.ts';
import { examplePath } from '../../../test/support/guests.ts';
import { loadFixture } from '../../../test/support/wat.ts';

let dir = '';
const HELLO = examplePath('hello');
const SEED = 'ab'.repeat(32);

const gojinn = (args: string[], stdin = ''): Promise<CliResult> => runGojinn(dir, args, stdin);

function json(result: CliResult): Record<string, unknown> {
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1, `--json prints exactly one line: ${result.stdout}`);
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

async function fixtureFile(name: string): Promise<string> {
  const path = join(dir, `${name}.wasm`);
  await writeFile(path, await loadFixture(name));
  return path;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gojinn-run-'));
});
after(() => rm(dir, { recursive: true, force: true }));

void test('success: --json has exactly ok, response, fuelUsed, durationMs, seed; exit 0', async () => {
  const result = await gojinn(['run', HELLO, '--input', '{"uri":"/?name=ada"}', '--seed', SEED, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const object = json(result);
  assert.deepEqual(Object.keys(object).sort(), ['durationMs', 'fuelUsed', 'ok', 'response', 'seed']);
  assert.equal(object.ok, true);
  assert.equal(object.seed, SEED);
  assert.ok(Number.isSafeInteger(object.fuelUsed) && (object.fuelUsed as number) > 0);
  assert.equal(typeof object.durationMs, 'number');
  const response = object.response as { status: number; body: string };
  assert.equal(response.status, 200);
  assert.match(response.body, /ada/);
});

void test('the same seed and input give the same response and fuel; no seed ⇒ a fresh one is printed', async () => {
  const args = ['run', HELLO, '--input', '{"uri":"/?name=x","trace_id":"' + '0'.repeat(32) + '"}', '--json'];
  const a = json(await gojinn([...args, '--seed', SEED]));
  const b = json(await gojinn([...args, '--seed', SEED.toUpperCase()]));
  assert.deepEqual(a.response, b.response);
  assert.equal(a.fuelUsed, b.fuelUsed);
  const fresh = json(await gojinn(args));
  assert.match(fresh.seed as string, /^[0-9a-f]{64}$/);
  assert.notEqual(fresh.seed, SEED);
});

void test('human output: body on stdout, status and fuel on stderr', async () => {
  const result = await gojinn(['run', HELLO, '--input', '{"uri":"/?name=bob"}']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /bob/);
  assert.match(result.stderr, /^status 200$/m);
  assert.match(result.stderr, /fuel \d+ · [\d.]+ ms · seed [0-9a-f]{64}/);
});

void test('--input @file and --input - read the request from a file and from stdin', async () => {
  const file = join(dir, 'request.json');
  await writeFile(file, '{"method":"POST","uri":"/?name=file","body":"b"}');
  const fromFile = json(await gojinn(['run', HELLO, '--input', '@request.json', '--json']));
  assert.match((fromFile.response as { body: string }).body, /file/);
  const fromStdin = json(await gojinn(['run', HELLO, '--input', '-', '--json'], '{"uri":"/?name=stdin"}'));
  assert.match((fromStdin.response as { body: string }).body, /stdin/);
});

void test('guest failure: --json has exactly ok, error, fuelUsed; exit 1', async () => {
  const result = await gojinn(['run', HELLO, '--fuel', '10', '--json']);
  assert.equal(result.code, 1);
  const object = json(result);
  assert.deepEqual(Object.keys(object).sort(), ['error', 'fuelUsed', 'ok']);
  assert.deepEqual(object.error, { code: 'fuel_exhausted', message: 'fuel limit 10 exhausted' });
  assert.equal(object.fuelUsed, 10);
});

void test('--timeout stops an infinite loop with timeout; exit 1', async () => {
  const path = await fixtureFile('loop-in-start-export');
  const result = await gojinn(['run', path, '--timeout', '200ms', '--fuel', '9000000000000000000', '--json']);
  assert.equal(result.code, 1);
  assert.equal((json(result).error as { code: string }).code, 'timeout');
});

void test('--memory below the module initial memory ⇒ memory_limit; exit 1', async () => {
  const result = await gojinn(['run', HELLO, '--memory', '0', '--json']);
  assert.equal(result.code, 1);
  assert.equal((json(result).error as { code: string }).code, 'memory_limit');
});

void test('capabilities are denied unless granted', async () => {
  const path = await fixtureFile('import-gojinn-kv-get');
  const denied = json(await gojinn(['run', path, '--json']));
  assert.equal((denied.error as { code: string }).code, 'capability_denied');
  assert.match((denied.error as { message: string }).message, /kv\.read/);
});

void test('invalid module bytes ⇒ invalid_module; exit 1', async () => {
  const path = join(dir, 'garbage.wasm');
  await writeFile(path, Buffer.from('not wasm at all'));
  const result = await gojinn(['run', path, '--json']);
  assert.equal(result.code, 1);
  assert.equal((json(result).error as { code: string }).code, 'invalid_module');
});

for (const [label, args] of [
  ['unreadable module', ['run', 'missing.wasm']],
  ['two module paths', ['run', HELLO, HELLO]],
  ['no module path', ['run']],
  ['bad --memory', ['run', HELLO, '--memory', '3x']],
  ['bad --timeout', ['run', HELLO, '--timeout', '1h']],
  ['bad --fuel', ['run', HELLO, '--fuel', '-5']],
  ['fuel above the i64 maximum', ['run', HELLO, '--fuel', '9223372036854775808']],
  ['bad --seed', ['run', HELLO, '--seed', 'abc']],
  ['unknown capability', ['run', HELLO, '--grant', 'kv.read,root']],
  ['unknown flag', ['run', HELLO, '--fast']],
  ['--input not JSON', ['run', HELLO, '--input', '{']],
  ['--input not an object', ['run', HELLO, '--input', '[1]']],
  ['--input unknown field', ['run', HELLO, '--input', '{"path":"/"}']],
  ['--input wrong type', ['run', HELLO, '--input', '{"body":1}']],
  ['--input unreadable file', ['run', HELLO, '--input', '@nope.json']],
] as const) {
  void test(`bad usage or input exits 2: ${label}`, async () => {
    const human = await gojinn([...args]);
    assert.equal(human.code, 2, human.stderr);
    assert.notEqual(human.stderr, '');
    const asJson = await gojinn([...args, '--json']);
    assert.equal(asJson.code, 2);
    assert.equal((json(asJson).error as { code: string }).code, 'bad_request');
  });
}

void test('--help prints the usage and exits 0', async () => {
  const result = await gojinn(['run', '--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /--input JSON \| @FILE \| -/);
});
