/**
 * docs/security.md maps each guarantee to code and tests by path: every path it names must
 * exist, so a rename or a removed test cannot leave the mapping pointing at nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const ROOT = new URL('../', import.meta.url);
const doc = readFileSync(new URL('docs/security.md', ROOT), 'utf8');

void test('every file docs/security.md names exists', () => {
  const named = [...doc.matchAll(/`([a-z0-9_/.-]+\.ts|[a-z0-9_/.-]+\/)`/g)].map((m) => m[1] as string);
  const full = named.filter((path) => path.includes('/'));
  assert.ok(full.length > 30, `expected many paths, found ${full.length}`);
  const missing = full.filter((path) => !existsSync(new URL(path, ROOT)));
  // Short names (`wasi-stdio.test.ts`) refer to the test folder of the row's package.
  const short = named.filter((path) => !path.includes('/'));
  const testDirs = [
    'packages/sandbox/test/',
    'packages/capabilities/test/',
    'packages/manifest/test/',
    'test/',
  ];
  const unknown = short.filter((name) => !testDirs.some((dir) => existsSync(new URL(dir + name, ROOT))));
  assert.deepEqual([...missing, ...unknown], []);
});

void test('every fixture docs/security.md names exists', () => {
  // Fixtures are named after the word: fixture `a`, or fixtures `a`, `b`.
  const lists = [...doc.matchAll(/fixtures? ((?:`[a-z0-9-]+`(?:, )?)+)/g)].map((m) => m[1] as string);
  const names = lists.flatMap((list) => [...list.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1] as string));
  assert.ok(names.length >= 8, `expected fixture names, found ${names.length}`);
  const missing = names.filter((name) => !existsSync(new URL(`test/fixtures/wat/${name}.wat`, ROOT)));
  assert.deepEqual(missing, []);
});
