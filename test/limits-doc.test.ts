/** docs/limits.md must list every sandbox limit with its current default (docs change with behaviour). */
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_INVOCATION_LIMITS, DEFAULT_MODULE_LIMITS } from '@gojinn/sandbox';

const doc = readFileSync(new URL('../docs/limits.md', import.meta.url), 'utf8');

function rowOf(name: string): string {
  const row = doc.split('\n').find((line) => new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`).test(line));
  assert.ok(row, `docs/limits.md has no row for ${name}`);
  return row;
}

for (const [name, value] of [
  ...Object.entries(DEFAULT_MODULE_LIMITS),
  ...Object.entries(DEFAULT_INVOCATION_LIMITS),
]) {
  void test(`${name} is documented with its default ${String(value)}`, () => {
    const cells = rowOf(name)
      .split('|')
      .map((cell) => cell.trim());
    assert.match(cells[2] ?? '', new RegExp(`^${String(value)}( |$)`));
  });
}
