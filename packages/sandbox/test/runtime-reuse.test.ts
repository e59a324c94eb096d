/**
 * Instance reuse must be invisible: an invocation on a reused instance sees exactly what it would
 * see on a fresh one, whatever the invocation before it did. The secret keeper
 * (runtime-reuse-guests.ts) hides a secret in static data, heap, stack and every mutable global,
 * then dumps all of its memory and globals; the pool's counters prove which runs reused an
 * instance, so no test here can pass by quietly running fresh.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, test } from 'node:test';
import fc from 'fast-check';
import { GojinnError, type ErrorCode } from '@gojinn/errors';
import { METER_EXPORTS } from '../src/meter-abi.ts';
import {
  linkPlanFor,
  runInvocation,
  threadInstancePool,
  type HostCallContext,
  type HostImports,
  type InvocationOutcome,
} from '../src/runtime/index.ts';
import { DEFAULT_STACK_BUDGET } from '../src/wasm/index.ts';
import { specFor } from './fixtures/wat-guest.ts';
import {
  GLOBALS_AT,
  HEAP_START,
  INITIAL_F32_BITS,
  INITIAL_F64_BITS,
  KEEPER_PAGES,
  KEEPER_RESPONSE,
  SECRET_BYTES,
  STACK_FRAME,
  STACK_TOP,
  STATIC_AT,
  STATIC_TEXT,
  STDIN_AT,
  contains,
  keeperInput,
  prepareWat,
  secretKeeperWat,
} from './runtime-reuse-guests.ts';

const CEILING_PAGES = 4;
const keeper = prepareWat(secretKeeperWat(), CEILING_PAGES);
const MEMORY_BYTES = KEEPER_PAGES * 65536;
const LIMITS = { fuel: 2_000_000n, maxStderrBytes: 4 * 65536 };

/** A kv_get that answers "not found" and remembers nothing. */
const NOT_FOUND: HostImports = { kv_get: () => -1 };

interface RunOptions {
  reuse?: boolean;
  host?: HostImports;
}

function run(mode: string, secret?: Uint8Array, options: RunOptions = {}): InvocationOutcome {
  const spec = specFor({
    stdin: keeperInput(mode, secret),
    limits: LIMITS,
    granted: ['kv.read'],
    ...(options.reuse === false ? { reuseInstances: false } : {}),
  });
  return runInvocation(keeper.module, keeper.info, spec, options.host ?? NOT_FOUND);
}

function idle(): number {
  return threadInstancePool.stats().idleInstances;
}

/** What an outcome says, without its timing. */
function observable(outcome: InvocationOutcome): unknown {
  const { durationMs, ...rest } = outcome;
  assert.ok(durationMs >= 0);
  return { ...rest, stderr: Buffer.from(rest.stderr).toString('base64') };
}

function globalsOf(dump: Uint8Array) {
  const view = new DataView(dump.buffer, dump.byteOffset + GLOBALS_AT, 64);
  return {
    g32: view.getInt32(0, true),
    g64: view.getBigInt64(4, true),
    f32Bits: view.getUint32(12, true),
    f64Bits: view.getBigUint64(16, true),
    v128: [0, 1, 2, 3].map((i) => view.getInt32(24 + 4 * i, true)),
    funcIsNull: view.getInt32(40, true),
    externIsNull: view.getInt32(44, true),
    sp: view.getInt32(48, true),
    heap: view.getInt32(52, true),
    counter: view.getInt32(56, true),
    fixed: view.getInt32(60, true),
  };
}

const INITIAL_GLOBALS = {
  g32: 7,
  g64: 8n,
  f32Bits: INITIAL_F32_BITS,
  f64Bits: INITIAL_F64_BITS,
  v128: [1, 2, 3, 4],
  funcIsNull: 1,
  externIsNull: 1,
  sp: STACK_TOP,
  heap: HEAP_START,
  counter: 100,
  fixed: 42,
};

const fresh = run('D', undefined, { reuse: false });

beforeEach(() => threadInstancePool.clear());

void describe('the secret keeper on a fresh instance', () => {
  void test('dumps all of its memory and its globals at their initial values', () => {
    assert.equal(fresh.ok, true, JSON.stringify(fresh.error));
    assert.equal(fresh.stderr.byteLength, MEMORY_BYTES);
    assert.deepEqual(globalsOf(fresh.stderr), INITIAL_GLOBALS);
    const text = Buffer.from(fresh.stderr.subarray(STATIC_AT, STATIC_AT + STATIC_TEXT.length)).toString();
    assert.equal(text, STATIC_TEXT);
    assert.equal(keeper.info.reuse.reusable, true);
  });

  void test('with a secret, shows it in the static area, heap, stack, stdin buffer and every mutable global', () => {
    const secret = randomBytes(SECRET_BYTES);
    const outcome = run('W', secret, { reuse: false });
    assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
    const dump = Buffer.from(outcome.stderr);
    for (const at of [STATIC_AT, HEAP_START, STACK_TOP - STACK_FRAME, STDIN_AT + 1]) {
      assert.deepEqual(dump.subarray(at, at + SECRET_BYTES), secret, `secret at ${at}`);
    }
    const globals = globalsOf(outcome.stderr);
    assert.equal(globals.g32, secret.readInt32LE(0));
    assert.equal(globals.g64, secret.readBigInt64LE(4));
    assert.equal(globals.f32Bits, secret.readUInt32LE(8));
    assert.equal(globals.f64Bits, secret.readBigUInt64LE(8));
    assert.deepEqual(
      globals.v128,
      [0, 4, 8, 12].map((i) => secret.readInt32LE(i)),
    );
    assert.equal(globals.funcIsNull, 0);
    assert.equal(globals.sp, STACK_TOP - STACK_FRAME);
    assert.equal(globals.heap, HEAP_START + SECRET_BYTES);
    assert.equal(globals.counter, secret.readInt32LE(12));
  });
});

void describe('a reused instance', () => {
  void test('after a clean run that hid a secret, the next invocation sees exactly a fresh instance', () => {
    const secret = randomBytes(SECRET_BYTES);
    assert.equal(run('W', secret).ok, true);
    assert.deepEqual(threadInstancePool.stats(), {
      modules: 1,
      idleInstances: 1,
      retainedBytes: 2 * MEMORY_BYTES, // the snapshot and the idle instance
    });
    const second = run('D');
    assert.equal(idle(), 1, 'the second run took the idle instance and gave it back');
    assert.equal(threadInstancePool.stats().modules, 1);
    assert.equal(contains(second.stderr, secret), false, 'the secret is gone from memory and globals');
    assert.deepEqual(observable(second), observable(fresh));
  });

  void test('many runs in a row on one instance each start from the initial state', () => {
    for (let i = 0; i < 20; i++) {
      const secret = randomBytes(SECRET_BYTES);
      assert.equal(run('W', secret).ok, true);
      const dump = run('D');
      assert.equal(contains(dump.stderr, secret), false);
      assert.deepEqual(observable(dump), observable(fresh));
    }
    assert.equal(idle(), 1, 'one instance served all 40 runs');
  });

  void test('a run that ends with proc_exit(0) succeeds but its instance is dropped', () => {
    run('D');
    const outcome = run('E', randomBytes(SECRET_BYTES));
    assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
    assert.deepEqual(outcome.response, JSON.parse(KEEPER_RESPONSE));
    assert.equal(idle(), 0);
  });

  void test('a run whose memory grew succeeds but its instance is dropped (memory cannot shrink)', () => {
    run('D');
    const secret = randomBytes(SECRET_BYTES);
    const grown = run('G', secret);
    assert.equal(grown.ok, true, JSON.stringify(grown.error));
    assert.equal(grown.stderr.byteLength, MEMORY_BYTES + 65536);
    assert.equal(idle(), 0);
    const next = run('D');
    assert.equal(contains(next.stderr, secret), false);
    assert.deepEqual(observable(next), observable(fresh));
  });

  const failures: [mode: string, code: ErrorCode, host?: HostImports][] = [
    ['T', 'trap'],
    ['F', 'fuel_exhausted'],
    ['S', 'stack_overflow'],
    ['B', 'bad_response'],
    [
      'K',
      'capability_denied',
      {
        kv_get: () => {
          throw new GojinnError('capability_denied', 'no');
        },
      },
    ],
  ];
  for (const [mode, code, host] of failures) {
    void test(`after ${code} mid-invocation the instance is dropped and the next run is fresh`, () => {
      run('D');
      assert.equal(idle(), 1);
      const secret = randomBytes(SECRET_BYTES);
      const failed = run(mode, secret, host ? { host } : {});
      assert.equal(failed.error?.code, code, JSON.stringify(failed.error));
      assert.equal(idle(), 0, 'the failed run took the idle instance and did not give it back');
      const next = run('D');
      assert.equal(contains(next.stderr, secret), false);
      assert.deepEqual(observable(next), observable(fresh));
    });
  }

  void test("host functions reach the running invocation's host, never an earlier one's", () => {
    const calls: string[] = [];
    const hostNamed = (name: string): HostImports => ({
      kv_get: (ctx: HostCallContext, keyPtr: number, keyLen: number) => {
        calls.push(`${name}:${Buffer.from(ctx.read(keyPtr, keyLen)).toString('hex')}`);
        return -1;
      },
    });
    const [first, second] = [randomBytes(SECRET_BYTES), randomBytes(SECRET_BYTES)];
    assert.equal(run('K', first, { host: hostNamed('A') }).ok, true);
    assert.equal(run('K', second, { host: hostNamed('B') }).ok, true);
    assert.equal(idle(), 1, 'both runs used one instance');
    assert.deepEqual(calls, [`A:${first.toString('hex')}`, `B:${second.toString('hex')}`]);
  });

  void test('reuseInstances: false always runs fresh and keeps nothing', () => {
    const secret = randomBytes(SECRET_BYTES);
    assert.equal(run('W', secret, { reuse: false }).ok, true);
    assert.deepEqual(observable(run('D', undefined, { reuse: false })), observable(fresh));
    assert.deepEqual(threadInstancePool.stats(), { modules: 0, idleInstances: 0, retainedBytes: 0 });
  });

  void test('any sequence of runs gives the same outcomes with reuse on and off', () => {
    const step = fc.record({
      mode: fc.constantFrom('W', 'D', 'T', 'F', 'S', 'G', 'E', 'B', 'K'),
      secret: fc.uint8Array({ minLength: SECRET_BYTES, maxLength: SECRET_BYTES }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 10 }), (steps) => {
        threadInstancePool.clear();
        for (const { mode, secret } of steps) {
          const reused = run(mode, secret);
          const alone = run(mode, secret, { reuse: false });
          assert.deepEqual(observable(reused), observable(alone), `mode ${mode}`);
        }
      }),
      { numRuns: 25 },
    );
  });
});

void describe('__gojinn_reset', () => {
  function instantiate(module: WebAssembly.Module): Record<string, WebAssembly.ExportValue> {
    return new WebAssembly.Instance(module, linkPlanFor(module).importObject).exports;
  }

  void test('puts the meter globals and the guest globals back and returns 1', () => {
    const exports = instantiate(keeper.module);
    const global = (name: string) => exports[name] as WebAssembly.Global;
    global(METER_EXPORTS.fuel).value = 123n;
    global(METER_EXPORTS.stack).value = -5;
    global(METER_EXPORTS.memoryLimitPages).value = 1;
    global(METER_EXPORTS.memoryDenied).value = 9;
    global('counter').value = 555;
    assert.equal((exports[METER_EXPORTS.reset] as () => number)(), 1);
    assert.equal(global(METER_EXPORTS.fuel).value, 0n);
    assert.equal(global(METER_EXPORTS.stack).value, DEFAULT_STACK_BUDGET);
    assert.equal(global(METER_EXPORTS.memoryLimitPages).value, CEILING_PAGES);
    assert.equal(global(METER_EXPORTS.memoryDenied).value, 0);
    assert.equal(global('counter').value, 100);
  });

  void test('re-evaluates initializers that name a function or another global', () => {
    const guest = prepareWat(`(module
      (memory (export "memory") 1)
      (global $base i32 (i32.const 5))
      (global $derived (export "derived") (mut i32) (global.get $base))
      (global $callback (export "callback") (mut funcref) (ref.func $f))
      (func $f)
      (func (export "_start")))`);
    const exports = instantiate(guest.module);
    const callback = exports.callback as WebAssembly.Global;
    const initialCallback: unknown = callback.value;
    assert.equal(typeof initialCallback, 'function');
    (exports.derived as WebAssembly.Global).value = 9;
    callback.value = null;
    assert.equal((exports[METER_EXPORTS.reset] as () => number)(), 1);
    assert.equal((exports.derived as WebAssembly.Global).value, 5);
    assert.equal(callback.value, initialCallback);
  });

  void test('in a module that is not reusable, changes nothing and returns 0', () => {
    const guest = prepareWat(`(module
      (memory (export "memory") 1)
      (global $g (export "g") (mut i32) (i32.const 1))
      (data $passive "x")
      (func (export "_start") (data.drop $passive)))`);
    assert.equal(guest.info.reuse.reusable, false);
    const exports = instantiate(guest.module);
    (exports.g as WebAssembly.Global).value = 77;
    (exports[METER_EXPORTS.stack] as WebAssembly.Global).value = 3;
    assert.equal((exports[METER_EXPORTS.reset] as () => number)(), 0);
    assert.equal((exports.g as WebAssembly.Global).value, 77);
    assert.equal((exports[METER_EXPORTS.stack] as WebAssembly.Global).value, 3);
  });
});
