/**
 * Pool workers use the main thread's compile cache (worker-entry.mjs), so a worker loads the
 * runtime's TypeScript from the cache instead of stripping it again: less memory per worker
 * and a faster start. Workers do not inherit a cache turned on with module.enableCompileCache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { enableCompileCache, getCompileCacheDir } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUESTS, fixturePool, specFor } from './pool-fixtures.ts';

const CACHE_RUNNER_URL = new URL('./pool-fixture-cache-runner.ts', import.meta.url);

void test("a worker turns on the main thread's compile cache before loading the pool", async () => {
  const own = await mkdtemp(join(tmpdir(), 'gojinn-compile-cache-'));
  // NODE_COMPILE_CACHE in the environment may have turned one on already: that one is used.
  enableCompileCache(own);
  const dir = getCompileCacheDir();
  assert.ok(dir !== undefined, 'the main thread has a compile cache');
  const pool = fixturePool({ size: 1, runnerUrl: CACHE_RUNNER_URL });
  try {
    const guest = GUESTS.hello();
    const outcome = await pool.run(guest, specFor(guest));
    assert.equal(outcome.ok, true);
    assert.deepEqual(JSON.parse(outcome.response?.body ?? ''), { dir });
    if (dir.startsWith(own)) {
      const entries = await readdir(dir, { recursive: true });
      assert.ok(entries.length > 0, 'the worker flushed what it compiled');
    }
  } finally {
    await pool.close();
    await rm(own, { recursive: true, force: true });
  }
});
