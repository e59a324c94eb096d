/**
 * The runtime with modules as the sandbox really runs them: rewritten by prepareWasm (real fuel,
 * stack and memory instrumentation), including the AssemblyScript example guests built by
 * `npm run build:guests`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorCode } from '@gojinn/errors';
import { readExample } from '../../../test/support/guests.ts';
import { DEFAULT_MODULE_LIMITS, WASM_PAGE_BYTES } from '../src/limits.ts';
import { buildRequest, encodeRequest, runInvocation, type InvocationOutcome } from '../src/runtime/index.ts';
import { DEFAULT_STACK_BUDGET, prepareWasm } from '../src/wasm/index.ts';
import { WRITE_HELPER, assemble, specFor, watString, type SpecOverrides } from './fixtures/wat-guest.ts';

const CEILING_PAGES = 64;

function prepare(bytes: Uint8Array) {
  const { bytes: rewritten, info } = prepareWasm(bytes, {
    limits: DEFAULT_MODULE_LIMITS,
    memoryCeilingPages: CEILING_PAGES,
  });
  return { module: new WebAssembly.Module(rewritten), info };
}

const OK_RESPONSE = '{"status":200,"body":"ok"}';

/** An unprepared WASI command whose `_start` runs `body`, then answers OK_RESPONSE. */
function command(body: string, extra = ''): Uint8Array {
  return assemble(`(module
    ${WRITE_HELPER}
    (memory (export "memory") 1)
    (data (i32.const 1024) "${watString(Buffer.from(OK_RESPONSE))}")
    ${extra}
    (func (export "_start")
      ${body}
      (drop (call $write (i32.const 1) (i32.const 1024) (i32.const ${OK_RESPONSE.length})))))`);
}

function run(bytes: Uint8Array, overrides: SpecOverrides = {}): InvocationOutcome {
  const guest = prepare(bytes);
  return runInvocation(guest.module, guest.info, specFor(overrides));
}

function assertCode(outcome: InvocationOutcome, code: ErrorCode, message?: string | RegExp): void {
  assert.equal(outcome.error?.code, code, JSON.stringify(outcome.error));
  if (typeof message === 'string') assert.equal(outcome.error?.message, message);
  else if (message) assert.match(outcome.error?.message ?? '', message);
}

void describe('prepared modules', () => {
  void test('an infinite loop in _start runs out of fuel at the same point every time', () => {
    const guest = prepare(command('(loop $forever (br $forever))'));
    const outcomes = Array.from({ length: 5 }, () =>
      runInvocation(guest.module, guest.info, specFor({ limits: { fuel: 200_000n } })),
    );
    for (const outcome of outcomes) {
      assertCode(outcome, 'fuel_exhausted', 'fuel limit 200000 exhausted');
      assert.equal(outcome.fuelUsed, 200_000n);
    }
  });

  void test('an infinite loop in the start function is metered too', () => {
    const bytes = command('', '(func $init (loop $forever (br $forever))) (start $init)');
    assertCode(run(bytes, { limits: { fuel: 100_000n } }), 'fuel_exhausted', 'fuel limit 100000 exhausted');
  });

  void test('the start function runs before _start, once', () => {
    const bytes = command(
      '(if (i32.ne (global.get $runs) (i32.const 1)) (then unreachable))',
      '(global $runs (mut i32) (i32.const 0)) (func $init (global.set $runs (i32.add (global.get $runs) (i32.const 1)))) (start $init)',
    );
    assert.equal(run(bytes).ok, true);
  });

  void test('unbounded recursion stops at the deterministic stack budget', () => {
    const bytes = command('(call $down)', '(func $down (call $down))');
    assertCode(run(bytes), 'stack_overflow', `call stack budget of ${DEFAULT_STACK_BUDGET} units exhausted`);
  });

  void test('a memory.grow bomb is denied at the invocation ceiling and reported as memory_limit', () => {
    const bomb = command(
      '(loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable',
    );
    const outcome = run(bomb, { limits: { memoryBytes: 8 * WASM_PAGE_BYTES, fuel: 10n ** 9n } });
    assertCode(
      outcome,
      'memory_limit',
      'memory.grow by 1 pages denied: ceiling is 8 pages (limit memoryBytes 524288)',
    );
  });

  void test('growing to exactly the ceiling is allowed', () => {
    const grow = command('(if (i32.eq (memory.grow (i32.const 7)) (i32.const -1)) (then unreachable))');
    assert.equal(run(grow, { limits: { memoryBytes: 8 * WASM_PAGE_BYTES, fuel: 10n ** 9n } }).ok, true);
    assertCode(
      run(grow, { limits: { memoryBytes: 7 * WASM_PAGE_BYTES, fuel: 10n ** 9n } }),
      'memory_limit',
      'memory.grow by 7 pages denied: ceiling is 7 pages (limit memoryBytes 458752)',
    );
  });
});

void describe('AssemblyScript example guests', () => {
  const request = encodeRequest(
    buildRequest({ uri: '/?name=gojinn', body: 'hi', trace_id: '12'.repeat(16) }),
  );

  void test('hello answers through the real toolchain, prepared and run', () => {
    const outcome = run(readExample('hello'), { stdin: request, limits: { fuel: 10n ** 8n } });
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.response?.status, 200);
    assert.deepEqual(JSON.parse(outcome.response?.body ?? ''), {
      hello: 'gojinn',
      method: 'GET',
      uri: '/?name=gojinn',
      echo: 'hi',
    });
  });

  void test('hello answers the same with the same fuel on every run', () => {
    const guest = prepare(readExample('hello'));
    const first = runInvocation(
      guest.module,
      guest.info,
      specFor({ stdin: request, limits: { fuel: 10n ** 8n } }),
    );
    for (let i = 0; i < 30; i++) {
      const again = runInvocation(
        guest.module,
        guest.info,
        specFor({ stdin: request, limits: { fuel: 10n ** 8n } }),
      );
      assert.deepEqual(again.response, first.response);
      assert.equal(again.fuelUsed, first.fuelUsed);
    }
  });

  void test('hello with too little fuel fails with fuel_exhausted, not a wrong answer', () => {
    assertCode(run(readExample('hello'), { stdin: request, limits: { fuel: 1000n } }), 'fuel_exhausted');
  });
});
