import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_MODULE_LIMITS } from '../src/limits.ts';
import { buildRequest, encodeRequest, runInvocation, type InvocationOutcome } from '../src/runtime/index.ts';
import { prepareWasm } from '../src/wasm/index.ts';
import { TEST_SEED, WRITE_HELPER, assemble, specFor, watString } from './fixtures/wat-guest.ts';

/**
 * An unprepared guest that reads the request, does work proportional to its length (a
 * checksum), reads both clocks and 16 random bytes, and answers with all of it in hex:
 * everything the host could make vary between runs ends up in the response.
 */
const ENTROPY_GUEST = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  ${WRITE_HELPER}
  (memory (export "memory") 1)
  (data (i32.const 100) "0123456789abcdef")
  (data (i32.const 1024) "${watString(Buffer.from('{"status":200,"body":"'))}")
  (data (i32.const 1100) "\\22}")
  (func $hex (param $src i32) (param $len i32) (param $dst i32) (local $i i32) (local $b i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $b (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (i32.store8 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))
          (i32.load8_u (i32.add (i32.const 100) (i32.shr_u (local.get $b) (i32.const 4)))))
        (i32.store8 (i32.add (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1))) (i32.const 1))
          (i32.load8_u (i32.add (i32.const 100) (i32.and (local.get $b) (i32.const 15)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
  (func (export "_start") (local $n i32) (local $i i32) (local $sum i32)
    (i32.store (i32.const 16) (i32.const 8192))
    (i32.store (i32.const 20) (i32.const 4096))
    (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
    (local.set $n (i32.load (i32.const 24)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31))
          (i32.load8_u (i32.add (i32.const 8192) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 200) (local.get $sum))
    (drop (call $clock (i32.const 0) (i64.const 0) (i32.const 208)))
    (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 216)))
    (drop (call $random (i32.const 224) (i32.const 16)))
    (call $hex (i32.const 200) (i32.const 40) (i32.const 300))
    (drop (call $write (i32.const 1) (i32.const 1024) (i32.const 22)))
    (drop (call $write (i32.const 1) (i32.const 300) (i32.const 80)))
    (drop (call $write (i32.const 1) (i32.const 1100) (i32.const 2)))))`;

function prepared(): { module: WebAssembly.Module; info: { memory: { initialPages: number } | null } } {
  const { bytes, info } = prepareWasm(assemble(ENTROPY_GUEST), {
    limits: DEFAULT_MODULE_LIMITS,
    memoryCeilingPages: 16,
  });
  return { module: new WebAssembly.Module(bytes), info };
}

const guest = prepared();
const request = encodeRequest(
  buildRequest({ method: 'POST', uri: '/sum', body: 'x'.repeat(500), trace_id: '0f'.repeat(16) }),
);

function run(seed = TEST_SEED, stdin: Uint8Array = request, module = guest): InvocationOutcome {
  return runInvocation(module.module, module.info, specFor({ seed, stdin, limits: { fuel: 10_000_000n } }));
}

/** checksum | realtime | monotonic | random, as the guest wrote them. */
function parts(outcome: InvocationOutcome): {
  sum: string;
  realtime: string;
  monotonic: string;
  random: string;
} {
  const body = outcome.response?.body ?? '';
  return {
    sum: body.slice(0, 8),
    realtime: body.slice(16, 32),
    monotonic: body.slice(32, 48),
    random: body.slice(48),
  };
}

void describe('determinism', () => {
  void test('same module + request + seed ⇒ byte-identical response and identical fuelUsed over 100 runs', () => {
    const first = run();
    assert.equal(first.error, undefined);
    assert.ok(first.fuelUsed > 500n, 'the checksum loop was metered');
    const expected = JSON.stringify(first.response);
    for (let i = 0; i < 100; i++) {
      const again = run();
      assert.equal(JSON.stringify(again.response), expected, `run ${i}`);
      assert.equal(again.fuelUsed, first.fuelUsed, `run ${i}`);
      assert.equal(again.deterministic, true);
    }
  });

  void test('a module compiled again from the same bytes answers the same', () => {
    const other = run(TEST_SEED, request, prepared());
    const first = run();
    assert.equal(JSON.stringify(other.response), JSON.stringify(first.response));
    assert.equal(other.fuelUsed, first.fuelUsed);
  });

  void test('another seed changes the clocks and the random bytes, not the work or the fuel', () => {
    const a = run();
    const b = run('ab'.repeat(32));
    assert.equal(parts(a).sum, parts(b).sum);
    assert.notEqual(parts(a).realtime, parts(b).realtime);
    assert.notEqual(parts(a).monotonic, parts(b).monotonic);
    assert.notEqual(parts(a).random, parts(b).random);
    assert.equal(a.fuelUsed, b.fuelUsed);
  });

  void test('another request changes the work and the fuel; the clock follows the fuel', () => {
    const a = run();
    const longer = encodeRequest(
      buildRequest({ method: 'POST', uri: '/sum', body: 'x'.repeat(900), trace_id: '0f'.repeat(16) }),
    );
    const b = run(TEST_SEED, longer);
    assert.notEqual(parts(a).sum, parts(b).sum);
    assert.ok(b.fuelUsed > a.fuelUsed);
    assert.notEqual(parts(b).monotonic, parts(a).monotonic);
  });
});
