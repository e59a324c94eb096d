/**
 * Determinism across processes: two fresh Node processes (each with its own compile and its
 * own tier-up history) running the same module, request and seed report the same response and
 * the same fuelUsed as this process does.
 */
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { examplePath } from './support/guests.ts';

const CLI = new URL('../packages/cli/src/main.ts', import.meta.url).pathname;
const SEED = 'c0ffee'.repeat(10) + 'c0ff';

function runInChild(module: string, input: string): { fuelUsed: number; response: unknown } {
  const out = execFileSync(
    process.execPath,
    [CLI, 'run', module, '--input', input, '--seed', SEED, '--json'],
    {
      encoding: 'utf8',
    },
  );
  const result = JSON.parse(out) as { ok: boolean; fuelUsed: number; response: unknown };
  assert.equal(result.ok, true, out);
  return result;
}

for (const guest of ['sha256', 'hello'] as const) {
  void test(`${guest}: identical fuelUsed and response in separate processes`, () => {
    const input = JSON.stringify({ uri: '/?n=2&name=z', body: 'same input', trace_id: 'f'.repeat(32) });
    const a = runInChild(examplePath(guest), input);
    const b = runInChild(examplePath(guest), input);
    assert.equal(a.fuelUsed, b.fuelUsed);
    assert.deepEqual(a.response, b.response);
  });
}
