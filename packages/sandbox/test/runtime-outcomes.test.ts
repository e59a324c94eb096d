import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorCode } from '@gojinn/errors';
import { WASM_PAGE_BYTES } from '../src/limits.ts';
import { runInvocation, type InvocationOutcome } from '../src/runtime/index.ts';
import { WASI_BYTE_FUEL, WASI_CALL_FUEL } from '../src/wasi/index.ts';
import {
  TEST_STACK_BUDGET,
  WRITE_HELPER,
  compileGuest,
  meterGlobals,
  respondingGuest,
  specFor,
  watString,
  type SpecOverrides,
} from './fixtures/wat-guest.ts';

const OK_RESPONSE = '{"status":200,"body":"ok"}';
const EXIT_IMPORT = '(import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))';

/** A guest whose `_start` runs `body` (WAT instructions), with fd_write/`$write`, proc_exit and OK_RESPONSE at 1024. */
function guest(body: string, extra = '', memory = '(memory (export "memory") 1)'): string {
  return `(module
  ${EXIT_IMPORT}
  ${WRITE_HELPER}
  ${memory}
  ${meterGlobals()}
  (data (i32.const 1024) "${watString(Buffer.from(OK_RESPONSE))}")
  ${extra}
  (func $respond (drop (call $write (i32.const 1) (i32.const 1024) (i32.const ${OK_RESPONSE.length}))))
  (func (export "_start") ${body}))`;
}

function run(
  wat: string,
  overrides: SpecOverrides = {},
  features: Record<string, boolean> = {},
): InvocationOutcome {
  const compiled = compileGuest(wat, features);
  return runInvocation(compiled.module, compiled.info, specFor(overrides));
}

function assertFails(outcome: InvocationOutcome, code: ErrorCode, message?: string | RegExp): void {
  assert.equal(outcome.ok, false);
  assert.equal(outcome.response, undefined);
  assert.equal(outcome.error?.code, code, `expected ${code}, got ${JSON.stringify(outcome.error)}`);
  if (typeof message === 'string') assert.equal(outcome.error?.message, message);
  else if (message) assert.match(outcome.error?.message ?? '', message);
}

void describe('success', () => {
  void test('a guest that writes a response: ok, the parsed response, fuel used exactly as charged', () => {
    const outcome = run(respondingGuest(OK_RESPONSE));
    assert.equal(outcome.ok, true);
    assert.equal(outcome.error, undefined);
    assert.deepEqual(outcome.response, { status: 200, headers: {}, body: 'ok' });
    // One fd_write: the base fee, one 8-byte iovec, the response bytes.
    assert.equal(outcome.fuelUsed, WASI_CALL_FUEL + BigInt(8 + OK_RESPONSE.length) * WASI_BYTE_FUEL);
    assert.equal(typeof outcome.fuelUsed, 'bigint');
    assert.ok(outcome.durationMs >= 0);
    assert.equal(outcome.seed, specFor().seed);
    assert.equal(outcome.deterministic, true);
    assert.equal(outcome.stderrTruncated, false);
    assert.equal(outcome.stderr.byteLength, 0);
  });

  void test('the runtime sets the fuel and the memory ceiling before any guest code runs, start function included', () => {
    // __gojinn_start checks both globals and traps if either is unset; _start checks that start ran.
    const wat = guest(
      `(if (i32.eqz (global.get $started)) (then unreachable)) (call $respond)`,
      `(global $started (mut i32) (i32.const 0))
       (func (export "__gojinn_start")
         (if (i64.ne (global.get $fuel) (i64.const 777)) (then unreachable))
         (if (i32.ne (global.get $limit_pages) (i32.const 3)) (then unreachable))
         (global.set $started (i32.const 1)))`,
    );
    const outcome = run(wat, { limits: { fuel: 777n, memoryBytes: 3 * WASM_PAGE_BYTES + 100 } });
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.ok, true);
  });

  void test('proc_exit(0) after writing the response is a clean finish', () => {
    const outcome = run(guest('(call $respond) (call $proc_exit (i32.const 0)) unreachable'));
    assert.equal(outcome.error, undefined);
    assert.deepEqual(outcome.response, { status: 200, headers: {}, body: 'ok' });
  });
});

void describe('fuel_exhausted', () => {
  const burn = `(loop $burn
      (global.set $fuel (i64.sub (global.get $fuel) (i64.const 7)))
      (if (i64.lt_s (global.get $fuel) (i64.const 0)) (then unreachable))
      (br $burn))`;

  void test('instrumented code running out: the limit is named and reported as used', () => {
    const outcome = run(guest(burn), { limits: { fuel: 1_000_000n } });
    assertFails(outcome, 'fuel_exhausted', 'fuel limit 1000000 exhausted');
    assert.equal(outcome.fuelUsed, 1_000_000n);
  });

  void test('fuel exhausted in the start function stops the invocation before _start', () => {
    const outcome = run(guest('(call $respond)', `(func (export "__gojinn_start") ${burn})`), {
      limits: { fuel: 5000n },
    });
    assertFails(outcome, 'fuel_exhausted', 'fuel limit 5000 exhausted');
  });

  void test('host work counts: a guest spinning on cheap WASI calls runs out of fuel', () => {
    const outcome = run(
      guest('(loop $spin (drop (call $write (i32.const 2) (i32.const 0) (i32.const 0))) (br $spin))'),
      {
        limits: { fuel: 100_000n },
      },
    );
    assertFails(outcome, 'fuel_exhausted', 'fuel limit 100000 exhausted');
    assert.equal(outcome.fuelUsed, 100_000n);
  });

  void test('a guest that returns with its fuel below zero did not finish within its limit', () => {
    const outcome = run(guest('(call $respond) (global.set $fuel (i64.const -1))'));
    assertFails(outcome, 'fuel_exhausted');
  });

  void test('exactly enough fuel succeeds; one unit less fails', () => {
    const needed = WASI_CALL_FUEL + BigInt(8 + OK_RESPONSE.length) * WASI_BYTE_FUEL;
    assert.equal(run(respondingGuest(OK_RESPONSE), { limits: { fuel: needed } }).ok, true);
    assertFails(run(respondingGuest(OK_RESPONSE), { limits: { fuel: needed - 1n } }), 'fuel_exhausted');
  });
});

void describe('stack_overflow', () => {
  void test('the call-depth budget running out names the budget', () => {
    const outcome = run(
      guest(
        '(call $recurse)',
        `(func $recurse
           (global.set $stack (i32.sub (global.get $stack) (i32.const 10)))
           (if (i32.lt_s (global.get $stack) (i32.const 0)) (then unreachable))
           (call $recurse))`,
      ),
    );
    assertFails(outcome, 'stack_overflow', `call stack budget of ${TEST_STACK_BUDGET} units exhausted`);
  });

  void test("V8's own stack overflow is reported as stack_overflow too (the fallback)", () => {
    const outcome = run(guest('(call $recurse)', '(func $recurse (call $recurse))'));
    assertFails(outcome, 'stack_overflow', /host stack before the budget of 1000 units/);
  });
});

void describe('memory_limit', () => {
  void test('initial memory above memoryBytes is refused before instantiation; exactly at it runs', () => {
    const twoPages = respondingGuest(OK_RESPONSE).replace(
      '(memory (export "memory") 1)',
      '(memory (export "memory") 2)',
    );
    const outcome = run(twoPages, { limits: { memoryBytes: WASM_PAGE_BYTES } });
    assertFails(outcome, 'memory_limit', /2 initial pages.*limit memoryBytes is 65536/);
    assert.equal(outcome.fuelUsed, 0n);
    assert.equal(run(twoPages, { limits: { memoryBytes: 2 * WASM_PAGE_BYTES } }).ok, true);
  });

  void test('a denied memory.grow before the guest failed: the request and the ceiling are named', () => {
    // What instrumented code does when grow is past the ceiling: record the request, return -1;
    // the guest then gives up (here with unreachable, as allocators do).
    const outcome = run(guest('(global.set $memory_denied (i32.const 40)) unreachable'), {
      limits: { memoryBytes: 16 * WASM_PAGE_BYTES },
    });
    assertFails(outcome, 'memory_limit', /memory\.grow by 40 pages denied: ceiling is 16 pages/);
  });

  void test('a denied grow followed by a non-zero exit is memory_limit, not guest_exit', () => {
    const outcome = run(guest('(global.set $memory_denied (i32.const 2)) (call $proc_exit (i32.const 1))'));
    assertFails(outcome, 'memory_limit');
  });

  void test('a denied grow the guest recovered from does not fail the invocation', () => {
    const outcome = run(guest('(global.set $memory_denied (i32.const 2)) (call $respond)'));
    assert.equal(outcome.ok, true);
  });

  void test('the ceiling handed to the guest is clamped to the 65536 pages a 32-bit memory can have', () => {
    const wat = guest(
      '(if (i32.ne (global.get $limit_pages) (i32.const 65536)) (then unreachable)) (call $respond)',
    );
    assert.equal(run(wat, { limits: { memoryBytes: 2 ** 33 } }).ok, true);
  });
});

void describe('trap', () => {
  const cases: [string, string, string][] = [
    ['unreachable', 'unreachable', 'trap: unreachable'],
    ['divide by zero', '(drop (i32.div_u (i32.const 1) (i32.const 0)))', 'trap: divide by zero'],
    ['out-of-bounds load', '(drop (i32.load (i32.const 65536)))', 'trap: memory access out of bounds'],
    [
      'indirect call signature mismatch',
      '(drop (call_indirect (type $returns_i32) (i32.const 0)))',
      'trap: null function or function signature mismatch',
    ],
    [
      'indirect call of a null slot',
      '(drop (call_indirect (type $returns_i32) (i32.const 1)))',
      'trap: null function or function signature mismatch',
    ],
    [
      'integer overflow',
      '(drop (i32.div_s (i32.const -2147483648) (i32.const -1)))',
      'trap: divide result unrepresentable',
    ],
  ];
  for (const [name, body, message] of cases) {
    void test(`${name} ⇒ trap with V8's message`, () => {
      const table = `(type $returns_i32 (func (result i32))) (table 2 funcref) (func $takes_i32 (param i32)) (elem (i32.const 0) $takes_i32)`;
      assertFails(run(guest(body, table)), 'trap', message);
    });
  }

  void test('a data segment out of bounds traps at instantiation', () => {
    const wat = guest('(call $respond)', '(data (i32.const 65535) "xy")');
    assertFails(run(wat), 'trap', /^trap: /);
  });
});

void describe('guest_exit', () => {
  void test('proc_exit(3) ⇒ guest_exit naming the status, even after a valid response', () => {
    assertFails(
      run(guest('(call $respond) (call $proc_exit (i32.const 3))')),
      'guest_exit',
      'guest exited with status 3',
    );
  });

  void test('the status is unsigned', () => {
    assertFails(
      run(guest('(call $proc_exit (i32.const -1))')),
      'guest_exit',
      'guest exited with status 4294967295',
    );
  });

  void test('a guest cannot catch its own exit and finish anyway: the first halt decides', () => {
    // Exception handling lets wasm catch a JS exception; the halt is recorded before the throw.
    const outcome = run(
      guest('(try (do (call $proc_exit (i32.const 3))) (catch_all)) (call $respond)'),
      {},
      { exceptions: true },
    );
    assertFails(outcome, 'guest_exit', 'guest exited with status 3');
  });

  void test('nor can it catch an output_limit stop and write a shorter response', () => {
    const outcome = run(
      guest(
        `(try (do (drop (call $write (i32.const 1) (i32.const 0) (i32.const 60000)))) (catch_all))
         (call $respond)`,
      ),
      { limits: { maxStdoutBytes: 100 } },
      { exceptions: true },
    );
    assertFails(outcome, 'output_limit');
  });
});

void describe('output_limit and stderr', () => {
  void test('stdout exactly at maxStdoutBytes ⇒ ok; one byte over ⇒ output_limit naming the limit', () => {
    const wat = respondingGuest(OK_RESPONSE);
    const atLimit = run(wat, { limits: { maxStdoutBytes: OK_RESPONSE.length } });
    assert.equal(atLimit.ok, true);
    assert.deepEqual(atLimit.response, { status: 200, headers: {}, body: 'ok' });
    const over = run(wat, { limits: { maxStdoutBytes: OK_RESPONSE.length - 1 } });
    assertFails(
      over,
      'output_limit',
      `stdout exceeded limit maxStdoutBytes (${OK_RESPONSE.length - 1} bytes)`,
    );
  });

  void test('stderr is captured up to maxStderrBytes, the rest dropped and flagged; the run still succeeds', () => {
    const wat = guest(
      '(drop (call $write (i32.const 2) (i32.const 2048) (i32.const 10))) (call $respond)',
      '(data (i32.const 2048) "0123456789")',
    );
    const exact = run(wat, { limits: { maxStderrBytes: 10 } });
    assert.equal(Buffer.from(exact.stderr).toString(), '0123456789');
    assert.equal(exact.stderrTruncated, false);
    const cut = run(wat, { limits: { maxStderrBytes: 4 } });
    assert.equal(cut.ok, true);
    assert.equal(Buffer.from(cut.stderr).toString(), '0123');
    assert.equal(cut.stderrTruncated, true);
  });

  void test('stderr is returned with failures too', () => {
    const wat = guest(
      '(drop (call $write (i32.const 2) (i32.const 2048) (i32.const 4))) unreachable',
      '(data (i32.const 2048) "oops")',
    );
    const outcome = run(wat);
    assertFails(outcome, 'trap');
    assert.equal(Buffer.from(outcome.stderr).toString(), 'oops');
  });
});

void describe('refused before running', () => {
  void test('a seed that is not 64 hex characters ⇒ bad_request', () => {
    for (const seed of ['', 'abc', 'zz'.repeat(32), '0'.repeat(63), '0'.repeat(65)]) {
      assertFails(
        run(respondingGuest(OK_RESPONSE), { seed }),
        'bad_request',
        /seed must be exactly 64 hex characters/,
      );
    }
  });

  void test('stdin exactly at maxStdinBytes runs; one byte more ⇒ bad_request naming the limit', () => {
    const wat = respondingGuest(OK_RESPONSE);
    assert.equal(run(wat, { stdin: 'x'.repeat(100), limits: { maxStdinBytes: 100 } }).ok, true);
    assertFails(
      run(wat, { stdin: 'x'.repeat(101), limits: { maxStdinBytes: 100 } }),
      'bad_request',
      'request is 101 bytes; limit maxStdinBytes is 100',
    );
  });

  void test('a module without exported memory, _start, or meter globals ⇒ invalid_module', () => {
    const base = respondingGuest(OK_RESPONSE);
    const noMemoryExport = base.replace('(memory (export "memory") 1)', '(memory 1)');
    assertFails(run(noMemoryExport), 'invalid_module', 'module does not export its memory as "memory"');
    const noStart = base.replace('(export "_start")', '(export "main")');
    assertFails(run(noStart), 'invalid_module', /"_start".*WASI command/);
    const unmetered = base.replace('(export "__gojinn_fuel")', '');
    assertFails(run(unmetered), 'invalid_module', /meter global __gojinn_fuel/);
  });

  void test('info without memory ⇒ invalid_module', () => {
    const compiled = compileGuest(respondingGuest(OK_RESPONSE));
    const outcome = runInvocation(compiled.module, { memory: null }, specFor());
    assertFails(outcome, 'invalid_module', 'module defines no memory');
  });
});
