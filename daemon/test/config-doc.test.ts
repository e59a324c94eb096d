/** docs/config.md's key tables equal the schema, cell by cell (whitespace aside), and name every limit. */
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
// The config module's own exports (the daemon package also exports other parts' limits).
import * as daemon from '../src/config/index.ts';
import { generateKeyPair } from '@gojinn/manifest';

const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');

function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(' | ')
    .map((cell) => cell.trim());
}

/** The table under each `### ` heading: `[node]` for "### `[node]`", `environment` for the env table. */
function documentedTables(): Map<string, string[][]> {
  const tables = new Map<string, string[][]>();
  let current: string[][] | undefined;
  for (const line of doc.split('\n')) {
    const heading = /^### (?:`(.+)`|Environment variables)$/.exec(line);
    if (heading !== null) {
      current = [];
      tables.set(heading[1] ?? 'environment', current);
    } else if (line.startsWith('#')) {
      current = undefined;
    } else if (current !== undefined && line.startsWith('|') && !/^\|[\s-|]+\|$/.test(line)) {
      current.push(cells(line));
    }
  }
  for (const rows of tables.values()) rows.shift(); // the header row
  return tables;
}

void test('docs/config.md has one table per section, each row equal to the schema (key, type, default, accepted, meaning)', () => {
  const expected = daemon.configReferenceTables();
  const documented = documentedTables();
  assert.deepEqual([...documented.keys()], [...expected.keys()]);
  for (const [heading, rows] of expected) assert.deepEqual(documented.get(heading), rows, heading);
});

void test('docs/config.md lists every MAX_ limit the config exports, with its value', () => {
  const limits = Object.entries(daemon).filter(([name]) => name.startsWith('MAX_'));
  assert.ok(limits.length >= 8);
  for (const [name, value] of limits) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\``));
    assert.ok(row !== undefined, `${name} is documented`);
    const shown = cells(row)[1]?.replace(/ MiB$/, '') ?? '';
    const bytes = row.includes(' MiB') ? Number(shown) * 1024 * 1024 : Number(shown);
    assert.equal(bytes, value, name);
  }
});

void test('the example in docs/config.md is a valid config (with a real publisher key in place of the placeholder)', () => {
  const example = /```toml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example !== undefined);
  const placeholder = 'ed25519:<43 base64url characters from gojinn keygen>';
  assert.ok(example.includes(placeholder));
  const config = daemon.parseConfig(example.replace(placeholder, generateKeyPair().publicKey), {
    file: '/etc/gojinn/config.toml',
  });
  assert.equal(config.node.dataDir, '/var/lib/gojinn');
  assert.equal(config.grants.rules.length, 1);
  assert.deepEqual(config.peers[0]?.modules, ['hello', 'notes']);
  assert.deepEqual(config.gateway.publicFunctions, ['hello']);
});
