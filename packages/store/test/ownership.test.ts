import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreLockedError, openStore } from '@gojinn/store';
import { tempDir } from './helpers.ts';

const OPEN_STORE = fileURLToPath(new URL('./fixtures/open-store.ts', import.meta.url));
const dirs: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(dirs.map((remove) => remove()));
});

/** Runs `open-store.ts DIR try` in a separate process and returns its JSON report. */
function tryOpenFromAnotherProcess(dir: string): {
  opened: boolean;
  locked?: boolean;
  code?: string;
  message?: string;
} {
  const result = spawnSync(process.execPath, [OPEN_STORE, dir, 'try'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as { opened: boolean };
}

void test('a second opener in another process fails with a clear store_locked error', async () => {
  const dir = await tempDir();
  dirs.push(dir.remove);
  const store = await openStore(dir.path);
  const outcome = tryOpenFromAnotherProcess(dir.path);
  assert.equal(outcome.opened, false);
  assert.equal(outcome.locked, true);
  assert.equal(outcome.code, 'internal');
  assert.match(outcome.message ?? '', /store_locked: data directory .* is already in use/);
  await store.close();
  assert.deepEqual(tryOpenFromAnotherProcess(dir.path), { opened: true });
});

void test('a second opener in the same process is refused and the first owner keeps the lock', async () => {
  const dir = await tempDir();
  dirs.push(dir.remove);
  const store = await openStore(dir.path);
  await assert.rejects(openStore(dir.path), StoreLockedError);
  await assert.rejects(openStore(`${dir.path}/./`), StoreLockedError);
  // LevelDB alone would have dropped the first owner's lock here; the other process still sees it.
  assert.equal(tryOpenFromAnotherProcess(dir.path).locked, true);
  await store.close();
});

void test('this process cannot take a directory another process holds', async () => {
  const dir = await tempDir();
  dirs.push(dir.remove);
  const holder = spawn(process.execPath, [OPEN_STORE, dir.path, 'hold'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(holder.stdout, 'data')) as [Buffer];
  assert.equal(line.toString().trim(), 'open');
  await assert.rejects(openStore(dir.path), StoreLockedError);
  holder.stdin.end();
  await once(holder, 'exit');
  const store = await openStore(dir.path);
  await store.close();
});
