/** The Sandbox facade: prepare once per content hash (bounded LRU), bounded warm-up, limits clamped to the ceilings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import wabtInit from 'wabt';
import { CompiledModuleCache } from '../src/compiled-module-cache.ts';
import { Sandbox, WARMUP_FUEL } from '../src/sandbox.ts';

const wabt = await wabtInit();
function wat(text: string): Uint8Array {
  const module = wabt.parseWat('t.wat', text);
  try {
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

const RESPOND = (marker: number) =>
  wat(`(module
    (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 100) "{\\"status\\":200,\\"body\\":\\"${marker}\\"}")
    (func (export "_start")
      (i32.store (i32.const 0) (i32.const 100))
      (i32.store (i32.const 4) (i32.const ${`{"status":200,"body":"${marker}"}`.length}))
      (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`);

void test('CompiledModuleCache keeps exactly `capacity` entries, evicting the least recently used', () => {
  const cache = new CompiledModuleCache<number>(2);
  cache.set('a', 1);
  cache.set('b', 2);
  assert.equal(cache.get('a'), 1); // a is now the most recent
  cache.set('c', 3);
  assert.equal(cache.size, 2);
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a'), 1);
  assert.equal(cache.get('c'), 3);
  assert.throws(() => new CompiledModuleCache(0), RangeError);
});

void test('prepare returns the same prepared module for the same bytes, and evicts past moduleCacheSize', () => {
  const sandbox = new Sandbox({ moduleCacheSize: 2 });
  const one = sandbox.prepare(RESPOND(1));
  assert.equal(sandbox.prepare(RESPOND(1)), one, 'a hit is the very same object: nothing re-prepared');
  assert.match(one.hash, /^[0-9a-f]{64}$/);
  sandbox.prepare(RESPOND(2));
  sandbox.prepare(RESPOND(3));
  assert.notEqual(sandbox.prepare(RESPOND(1)), one, 'evicted at the limit, prepared again');
});

void test('the warm-up of a hostile module is bounded by WARMUP_FUEL and prepare still succeeds', () => {
  const sandbox = new Sandbox();
  const loop = wat(`(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))`);
  const prepared = sandbox.prepare(loop);
  const outcome = sandbox.invokeInThread(prepared, {}, { limits: { fuel: WARMUP_FUEL } });
  assert.equal(outcome.error?.code, 'fuel_exhausted');
});

void test('invocation limits above the ceilings are clamped, never widened', () => {
  const sandbox = new Sandbox({ ceilings: { fuel: 1000n } });
  const loop = wat(`(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))`);
  const outcome = sandbox.invokeInThread(sandbox.prepare(loop), {}, { limits: { fuel: 10n ** 12n } });
  assert.equal(outcome.error?.code, 'fuel_exhausted');
  assert.equal(outcome.fuelUsed, 1000n);
});

void test('prepare refuses bad bytes with invalid_module and a bad seed with bad_request', () => {
  const sandbox = new Sandbox();
  assert.throws(
    () => sandbox.prepare(new Uint8Array([0, 0x61, 0x73, 0x6d, 9, 0, 0, 0])),
    (error: unknown) => error instanceof GojinnError && error.code === 'invalid_module',
  );
  assert.throws(
    () => sandbox.invokeInThread(sandbox.prepare(RESPOND(1)), {}, { seed: 'xyz' }),
    (error: unknown) => error instanceof GojinnError && error.code === 'bad_request',
  );
});

void test('a closed sandbox refuses new invocations with overloaded', async () => {
  const sandbox = new Sandbox({ pool: { size: 1 } });
  const prepared = sandbox.prepare(RESPOND(1));
  assert.equal((await sandbox.invoke(prepared, {})).response?.body, '1');
  await sandbox.close();
  await assert.rejects(
    sandbox.invoke(prepared, {}),
    (error: unknown) => error instanceof GojinnError && error.code === 'overloaded',
  );
});
