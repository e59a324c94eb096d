/** docs/cli.md lists every command the CLI has, and no other (docs change with behaviour). */
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS } from '../packages/cli/src/commands/index.ts';

void test('docs/cli.md has one table row per command', () => {
  const doc = readFileSync(new URL('../docs/cli.md', import.meta.url), 'utf8');
  const documented = [...doc.matchAll(/^\|\s*`([a-z-]+)`\s*\|/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), COMMANDS.map((c) => c.name).sort());
});
