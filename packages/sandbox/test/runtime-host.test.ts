import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GojinnError } from '@gojinn/errors';
import {
  HOST_CALL_FUEL,
  runInvocation,
  type HostCallContext,
  type HostImports,
  type InvocationOutcome,
} from '../src/runtime/index.ts';
import { WASI_BYTE_FUEL, WASI_CALL_FUEL } from '../src/wasi/index.ts';
import {
  WRITE_HELPER,
  compileGuest,
  meterGlobals,
  respondingGuest,
  specFor,
  watString,
} from './fixtures/wat-guest.ts';

const PREFIX = Buffer.from('{"status":200,"body":"');
const SUFFIX = Buffer.from('"}');

/**
 * A guest that puts the key "greeting" at 2048, calls kv_get(key, 8, 4096, 64) and answers with the
 * value the host wrote (its length is kv_get's result) as the body. `extra` runs before the call.
 */
function kvGuest(extra = ''): string {
  return `(module
  (import "gojinn" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i32)))
  ${WRITE_HELPER}
  (memory (export "memory") 1)
  ${meterGlobals()}
  (data (i32.const 1024) "${watString(PREFIX)}")
  (data (i32.const 1100) "${watString(SUFFIX)}")
  (data (i32.const 2048) "greeting")
  (func (export "_start") (local $n i32)
    ${extra}
    (local.set $n (call $kv_get (i32.const 2048) (i32.const 8) (i32.const 4096) (i32.const 64)))
    (drop (call $write (i32.const 1) (i32.const 1024) (i32.const ${PREFIX.byteLength})))
    (drop (call $write (i32.const 1) (i32.const 4096) (local.get $n)))
    (drop (call $write (i32.const 1) (i32.const 1100) (i32.const ${SUFFIX.byteLength})))))`;
}

const compiledKv = compileGuest(kvGuest());

function runKv(host: HostImports, guest = compiledKv): InvocationOutcome {
  return runInvocation(guest.module, guest.info, specFor({ granted: ['kv.read'] }), host);
}

function store(values: Record<string, string>): HostImports {
  return {
    kv_get(ctx: HostCallContext, keyPtr: number, keyLen: number, valuePtr: number, valueCap: number): number {
      const key = Buffer.from(ctx.read(keyPtr, keyLen)).toString();
      const value = Buffer.from(values[key] ?? '');
      if (value.byteLength > valueCap) return -1;
      ctx.write(valuePtr, value);
      return value.byteLength;
    },
  };
}

void describe('host functions', () => {
  void test('read the guest’s memory and write results back through the context', () => {
    const outcome = runKv(store({ greeting: 'hello from the host' }));
    assert.equal(outcome.error, undefined);
    assert.deepEqual(outcome.response, { status: 200, headers: {}, body: 'hello from the host' });
  });

  void test('every host call costs HOST_CALL_FUEL, and chargeFuel adds exactly what the host asks', () => {
    const free = runKv(store({ greeting: 'v' }));
    const charged = runKv({
      kv_get(ctx, ...args) {
        ctx.chargeFuel(1234n);
        return store({ greeting: 'v' }).kv_get!(ctx, ...args);
      },
    });
    assert.equal(charged.fuelUsed - free.fuelUsed, 1234n);
    const writes = [PREFIX.byteLength, 1, SUFFIX.byteLength].reduce(
      (sum, n) => sum + WASI_CALL_FUEL + BigInt(8 + n) * WASI_BYTE_FUEL,
      0n,
    );
    assert.equal(free.fuelUsed, HOST_CALL_FUEL + writes);
  });

  void test('chargeFuel past the limit stops the guest with fuel_exhausted', () => {
    const outcome = runInvocation(
      compiledKv.module,
      compiledKv.info,
      specFor({ granted: ['kv.read'], limits: { fuel: 10_000n } }),
      {
        kv_get(ctx) {
          ctx.chargeFuel(1_000_000n);
          return 0;
        },
      },
    );
    assert.deepEqual(outcome.error, { code: 'fuel_exhausted', message: 'fuel limit 10000 exhausted' });
    assert.equal(outcome.fuelUsed, 10_000n);
  });

  void test('a host function that catches the fuel stop cannot turn it into success', () => {
    const outcome = runInvocation(
      compiledKv.module,
      compiledKv.info,
      specFor({ granted: ['kv.read'], limits: { fuel: 10_000n } }),
      {
        kv_get(ctx) {
          try {
            ctx.chargeFuel(1_000_000n);
          } catch {
            // swallowed
          }
          return 0;
        },
      },
    );
    assert.equal(outcome.error?.code, 'fuel_exhausted');
  });

  void test('markNonDeterministic makes the outcome non-deterministic; otherwise it is deterministic', () => {
    assert.equal(runKv(store({})).deterministic, true);
    const outcome = runKv({
      kv_get(ctx) {
        ctx.markNonDeterministic('read a value another writer may change');
        return 0;
      },
    });
    assert.equal(outcome.ok, true);
    assert.equal(outcome.deterministic, false);
  });

  void test('a GojinnError from a host function fails the invocation with that code and message', () => {
    const outcome = runKv({
      kv_get() {
        throw new GojinnError('capability_denied', 'key "greeting" is outside the granted prefix "app/"');
      },
    });
    assert.deepEqual(outcome.error, {
      code: 'capability_denied',
      message: 'key "greeting" is outside the granted prefix "app/"',
    });
  });

  void test('any other throw is internal, and its text never reaches the outcome', () => {
    const outcome = runKv({
      kv_get() {
        throw new Error('ENOENT: /var/lib/gojinn/secret-store/key.bin');
      },
    });
    assert.deepEqual(outcome.error, { code: 'internal', message: 'internal error' });
    assert.ok(
      !JSON.stringify(outcome, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).includes('ENOENT'),
    );
  });

  void test('a host function returning anything but an integer (an async function, say) is internal', () => {
    for (const wrong of [
      async () => Promise.resolve(0),
      () => undefined,
      () => 1.5,
      () => '3',
    ] as unknown as HostImports['kv_get'][]) {
      assert.deepEqual(runKv({ kv_get: wrong! }).error, { code: 'internal', message: 'internal error' });
    }
  });

  void test('out-of-bounds reads and writes by a host function are traps naming the range', () => {
    const reading = runKv({ kv_get: (ctx) => ctx.read(65530, 10).byteLength });
    assert.deepEqual(reading.error, {
      code: 'trap',
      message: 'host call read of guest memory [65530, 65540) is out of bounds (memory is 65536 bytes)',
    });
    const writing = runKv({
      kv_get(ctx) {
        ctx.write(-1, new Uint8Array(2));
        return 0;
      },
    });
    assert.deepEqual(writing.error, {
      code: 'trap',
      message:
        'host call write of guest memory [4294967295, 4294967297) is out of bounds (memory is 65536 bytes)',
    });
  });

  void test('ctx.read returns a copy: later guest writes do not change what the host kept', () => {
    let kept: Uint8Array | undefined;
    const outcome = runKv({
      kv_get(ctx, keyPtr, keyLen) {
        kept = ctx.read(keyPtr, keyLen);
        ctx.write(keyPtr, Buffer.from('XXXXXXXX'));
        return 0;
      },
    });
    assert.equal(outcome.ok, true);
    assert.equal(Buffer.from(kept!).toString(), 'greeting');
  });

  void test('a context kept past its invocation can no longer touch the guest', () => {
    let kept: HostCallContext | undefined;
    const outcome = runKv({
      kv_get(ctx) {
        kept = ctx;
        return 0;
      },
    });
    assert.equal(outcome.ok, true);
    const late = (use: (ctx: HostCallContext) => unknown) =>
      assert.throws(
        () => use(kept!),
        (e: unknown) =>
          e instanceof GojinnError && e.message === 'host call context used after its invocation ended',
      );
    late((ctx) => ctx.read(0, 1));
    late((ctx) => ctx.write(0, new Uint8Array(1)));
    late((ctx) => ctx.chargeFuel(1n));
    late((ctx) => ctx.markNonDeterministic('late'));
  });

  void test('an invocation started from inside a host function runs on its own and the outer one continues', () => {
    const inner = compileGuest(respondingGuest('{"status":201,"body":"inner"}'));
    let innerOutcome: InvocationOutcome | undefined;
    const outcome = runKv({
      kv_get(ctx, _keyPtr, _keyLen, valuePtr) {
        innerOutcome = runInvocation(inner.module, inner.info, specFor());
        const value = Buffer.from(innerOutcome.response?.body ?? '');
        ctx.write(valuePtr, value);
        return value.byteLength;
      },
    });
    assert.equal(innerOutcome?.response?.status, 201);
    assert.deepEqual(outcome.response, { status: 200, headers: {}, body: 'inner' });
  });
});

void describe('the built-in gojinn.log', () => {
  function logGuest(calls: string, extra = ''): string {
    return `(module
    (import "gojinn" "log" (func $log (param i32 i32 i32) (result i32)))
    ${WRITE_HELPER}
    (memory (export "memory") 1)
    ${meterGlobals()}
    (data (i32.const 1024) "{\\"status\\":204}")
    (data (i32.const 2048) "starting")
    (data (i32.const 2100) "oh no")
    ${extra}
    (func (export "_start")
      ${calls}
      (drop (call $write (i32.const 1) (i32.const 1024) (i32.const 14)))))`;
  }

  void test('writes one line per call to stderr, with the level named', () => {
    const guest = compileGuest(
      logGuest(`(drop (call $log (i32.const 0) (i32.const 2048) (i32.const 8)))
                (drop (call $log (i32.const 3) (i32.const 2100) (i32.const 5)))
                (drop (call $log (i32.const 9) (i32.const 2100) (i32.const 2)))`),
    );
    const outcome = runInvocation(guest.module, guest.info, specFor());
    assert.equal(outcome.error, undefined);
    assert.equal(Buffer.from(outcome.stderr).toString(), 'debug: starting\nerror: oh no\nlevel 9: oh\n');
  });

  void test('is bounded like stderr', () => {
    const guest = compileGuest(logGuest('(drop (call $log (i32.const 1) (i32.const 2048) (i32.const 8)))'));
    const outcome = runInvocation(guest.module, guest.info, specFor({ limits: { maxStderrBytes: 10 } }));
    assert.equal(outcome.ok, true);
    assert.equal(Buffer.from(outcome.stderr).toString(), 'info: star');
    assert.equal(outcome.stderrTruncated, true);
  });

  void test('a message outside memory is a trap', () => {
    const guest = compileGuest(
      logGuest('(drop (call $log (i32.const 1) (i32.const 65000) (i32.const 1000)))'),
    );
    const outcome = runInvocation(guest.module, guest.info, specFor());
    assert.equal(outcome.error?.code, 'trap');
  });

  void test('the embedder may supply its own log, which then receives the calls', () => {
    const guest = compileGuest(logGuest('(drop (call $log (i32.const 2) (i32.const 2048) (i32.const 8)))'));
    const lines: string[] = [];
    const outcome = runInvocation(guest.module, guest.info, specFor(), {
      log(ctx, level, ptr, len) {
        lines.push(`${level}:${Buffer.from(ctx.read(ptr, len)).toString()}`);
        return 0;
      },
    });
    assert.equal(outcome.ok, true);
    assert.deepEqual(lines, ['2:starting']);
    assert.equal(outcome.stderr.byteLength, 0);
  });
});
