/**
 * The pool with its default runner: real modules through prepareWasm and the sandbox runtime
 * in the workers, host functions forwarded by the bridge.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import wabtInit from 'wabt';
import { DEFAULT_INVOCATION_LIMITS, DEFAULT_MODULE_LIMITS } from '../src/limits.ts';
import { WorkerPool } from '../src/pool/worker-pool.ts';
import type { PooledModule } from '../src/pool/worker-slot.ts';
import { buildRequest, encodeRequest } from '../src/runtime/index.ts';
import type { InvocationSpec } from '../src/runtime/types.ts';
import { prepareWasm } from '../src/wasm/index.ts';

const wabt = await wabtInit();
const HOST_IMPORTS_URL = new URL('./pool-fixture-host-imports.ts', import.meta.url);
const RESPONSE = '{"status":200,"headers":{},"body":"ok"}';

function prepared(wat: string): PooledModule {
  const parsed = wabt.parseWat('guest.wat', wat);
  const bytes = parsed.toBinary({}).buffer;
  parsed.destroy();
  const { bytes: rewritten, info } = prepareWasm(bytes, {
    limits: DEFAULT_MODULE_LIMITS,
    memoryCeilingPages: 16,
  });
  return {
    hash: createHash('sha256').update(bytes).digest('hex'),
    module: new WebAssembly.Module(rewritten),
    info,
  };
}

/** A WASI command: `body` runs first in _start, then the fixed response is written. */
function guest(body: string, extra = ''): PooledModule {
  return prepared(`(module
    (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
    ${extra}
    (memory (export "memory") 1)
    (data (i32.const 64) "${RESPONSE.replaceAll('"', '\\"')}")
    (func (export "_start")
      ${body}
      (i32.store (i32.const 0) (i32.const 64))
      (i32.store (i32.const 4) (i32.const ${RESPONSE.length}))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`);
}

const hello = guest('');
const spin = guest('(loop (br 0))');
const spinInStart = guest('', '(func $s (loop (br 0))) (start $s)');
/** Reads key "k" through gojinn.kv_get into 256 bytes at 512; traps unless the value is 5 bytes long. */
const kvReader = guest(
  '(if (i32.ne (call $kv_get (i32.const 128) (i32.const 1) (i32.const 512) (i32.const 256)) (i32.const 5)) (then unreachable))',
  '(import "gojinn" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i32))) (data (i32.const 128) "k")',
);

/** Recurses without end, with a few locals per frame: only the call-depth budget can stop it. */
const recurse = guest(
  '(call $down (i64.const 0))',
  `(func $down (param i64) (local i64 i64 i64)
  (call $down (i64.add (local.get 0) (i64.const 1))))`,
);

function specFor(module: PooledModule, timeoutMs = 5_000): InvocationSpec {
  return {
    moduleHash: module.hash,
    stdin: encodeRequest(buildRequest({ trace_id: '0'.repeat(32) })),
    // Fuel high enough that only the wall clock can stop a spinning guest.
    limits: { ...DEFAULT_INVOCATION_LIMITS, fuel: 1n << 62n, timeoutMs },
    seed: '0'.repeat(64),
    granted: ['kv.read'],
  };
}

function runtimePool(): WorkerPool {
  return new WorkerPool({ size: 2, hostImportsUrl: HOST_IMPORTS_URL });
}

void test('the default runner runs a prepared module and returns its response', async () => {
  const pool = runtimePool();
  try {
    const outcome = await pool.run(hello, specFor(hello));
    assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
    assert.deepEqual(outcome.response, { status: 200, headers: {}, body: 'ok' });
    assert.ok(outcome.fuelUsed > 0n, 'the runtime metered it');
  } finally {
    await pool.close();
  }
});

void test('timeouts stop real guests: a spinning _start, a spinning start function, a host call never answered', async () => {
  const pool = runtimePool();
  try {
    const never = (): Promise<Uint8Array> => new Promise<Uint8Array>(() => {});
    const outcomes = await Promise.all([
      pool.run(spin, specFor(spin, 150)),
      pool.run(spinInStart, specFor(spinInStart, 150)),
      pool.run(kvReader, specFor(kvReader, 150), { hostHandler: never }),
    ]);
    for (const outcome of outcomes) {
      assert.deepEqual(outcome.error, { code: 'timeout', message: 'exceeded timeout 150 ms' });
    }
    assert.equal(pool.workerRestarts, 3);
    assert.equal((await pool.run(hello, specFor(hello))).ok, true);
  } finally {
    await pool.close();
  }
});

void test('a guest host call reaches the async handler through the bridge and gets its bytes', async () => {
  const pool = runtimePool();
  try {
    const keys: string[] = [];
    const outcome = await pool.run(kvReader, specFor(kvReader), {
      hostHandler: async (method, payload) => {
        keys.push(`${method}:${new TextDecoder().decode(payload)}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return new TextEncoder().encode('value');
      },
    });
    assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
    assert.deepEqual(keys, ['kv_get:k']);
    const wrongLength = await pool.run(kvReader, specFor(kvReader), {
      hostHandler: async () => new TextEncoder().encode('four'),
    });
    assert.equal(wrongLength.error?.code, 'trap', 'the guest saw the 4-byte answer and trapped');
  } finally {
    await pool.close();
  }
});

void test('a granted host function without a handler is denied, and the guest fails with that code', async () => {
  const pool = runtimePool();
  try {
    const outcome = await pool.run(kvReader, specFor(kvReader));
    assert.equal(outcome.ok, false);
    assert.equal(outcome.error?.code, 'capability_denied');
  } finally {
    await pool.close();
  }
});

void test('in a worker with the default stackSizeMb, the deterministic call-depth budget stops runaway recursion first', async () => {
  const pool = runtimePool();
  try {
    const outcomes = await Promise.all([1, 2, 3].map(() => pool.run(recurse, specFor(recurse))));
    for (const outcome of outcomes) assert.equal(outcome.error?.code, 'stack_overflow');
    // Same point every time: the budget, not V8's stack, decided.
    assert.equal(new Set(outcomes.map((outcome) => outcome.fuelUsed)).size, 1);
    assert.equal(pool.workerRestarts, 0);
  } finally {
    await pool.close();
  }
});
