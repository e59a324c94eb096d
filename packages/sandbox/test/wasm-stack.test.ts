// The deterministic call-depth limit: recursion bombs of every frame shape the default limits
// allow stop on the stack budget (never on V8's own "Maximum call stack size exceeded"), at the
// same depth on every run, in every V8 tier, on the main thread and in a worker; and every
// way out of a function gives its frame cost back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DEFAULT_STACK_BUDGET } from '../src/wasm/index.ts';
import { assembleBombs, runBomb, type BombResult } from './wasm-stack-probe.ts';
import { fn, instantiateMetered, prepare, wat } from './wasm-helpers.ts';

const PROBE = new URL('./wasm-stack-probe.ts', import.meta.url);
const bombs = await assembleBombs();

/** Depth of each bomb on this thread, in the default tiering: the reference for the others. */
const reference = new Map<string, number>();

function assertStoppedByBudget(results: BombResult[], where: string): void {
  for (const { name, depths, stops } of results) {
    assert.ok(
      stops.every((s) => s === 'budget'),
      `${where}: ${name} must stop on the stack budget, got ${stops.join(', ')}`,
    );
    assert.equal(new Set(depths).size, 1, `${where}: ${name} stopped at varying depths ${depths.join(', ')}`);
    assert.equal(depths[0], reference.get(name), `${where}: ${name} depth differs from the main thread`);
  }
}

void test('every bomb stops on the budget at one depth, 100 runs through tier-up', () => {
  for (const { name, wasm } of bombs) {
    const result = runBomb(name, wasm, 100);
    assert.ok(
      result.stops.every((s) => s === 'budget'),
      `${name}: ${result.stops.find((s) => s !== 'budget')}`,
    );
    assert.equal(new Set(result.depths).size, 1, `${name}: depths ${[...new Set(result.depths)].join(', ')}`);
    assert.ok(result.depths[0]! > 0);
    reference.set(name, result.depths[0]!);
  }
  // More locals, bigger frame, shallower limit.
  assert.ok(reference.get('one i32 local')! > 100 * reference.get('10000 i32 locals')!);
});

void test('V8 itself overflows at least 1.5x deeper than the budget allows (headroom for host calls)', () => {
  for (const { name, wasm } of bombs) {
    const ours = reference.get(name)!;
    const v8 = v8OverflowDepth(wasm);
    assert.ok(v8 >= 1.5 * ours, `${name}: V8 overflows at ${v8} frames, the budget stops at ${ours}`);
  }
});

void test('the same depths in a worker thread with the default stack', async () => {
  const worker = new Worker(PROBE, { env: { ...process.env, GOJINN_STACK_PROBE_RUNS: '3' } });
  const results = await new Promise<BombResult[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assertStoppedByBudget(results, 'worker');
});

/**
 * Shapes run under TurboFan alone: every one would take seconds to compile, so these cover the
 * cases that matter there — the smallest frame, the one where TurboFan's frame outgrows
 * Liftoff's (i32 locals take 8 bytes instead of 4), the largest frame and the operand stack.
 */
const TURBOFAN_SHAPES = [
  'one i32 local',
  '10000 i32 locals',
  '1000 v128 params + 9000 locals',
  '2000 i64 operands held across the call',
];

for (const [flag, only] of [
  ['--liftoff-only', null],
  ['--no-liftoff', TURBOFAN_SHAPES],
] as const) {
  void test(`the same depths with ${flag}`, () => {
    const child = spawnSync(process.execPath, [flag, PROBE.pathname], {
      encoding: 'utf8',
      env: { ...process.env, GOJINN_STACK_PROBE_RUNS: '3', GOJINN_STACK_PROBE_ONLY: only?.join(',') ?? '' },
      timeout: 120_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const results = JSON.parse(child.stdout) as BombResult[];
    assert.equal(results.length, only?.length ?? bombs.length);
    assertStoppedByBudget(results, flag);
  });
}

void test('a larger budget allows proportionally deeper recursion', () => {
  const bomb = bombs[0]!;
  const depthWith = (stackBudget: number): number => {
    const { exports, meter } = instantiateMetered(prepare(bomb.wasm, { stackBudget }), 1n << 60n);
    assert.throws(() => fn(exports, 'run')(), WebAssembly.RuntimeError);
    assert.ok((meter.stack.value as number) < 0);
    return (exports.depth as WebAssembly.Global).value as number;
  };
  const single = depthWith(DEFAULT_STACK_BUDGET);
  const double = depthWith(2 * DEFAULT_STACK_BUDGET);
  assert.ok(double >= 2 * single && double <= 2 * single + 2, `${single} → ${double}`);
});

void test('every exit gives the frame cost back: fall-through, return, br and br_table to the function label', () => {
  const bytes = wat(`(module
    (func $fallthrough (result i32) i32.const 1)
    (func $ret (param i32) (result i32)
      block block local.get 0 br_if 1 i32.const 2 return end end i32.const 3)
    (func $br (param i32) (result i32)
      i32.const 4 local.get 0 br_if 0 drop i32.const 5)
    (func $table (param i32) (result i32 i64)
      block (result i32 i64) i32.const 6 i64.const 7 local.get 0 br_table 1 0 end)
    (func (export "all") (param i32) (result i32)
      call $fallthrough
      local.get 0 call $ret i32.add
      local.get 0 call $br i32.add
      local.get 0 call $table drop i32.add))`);
  const { exports, meter } = instantiateMetered(prepare(bytes), 1n << 40n);
  for (const arg of [0, 1]) {
    const before = meter.stack.value as number;
    fn(exports, 'all')(arg);
    assert.equal(meter.stack.value, before, `stack budget leaked with argument ${arg}`);
  }
  assert.equal(meter.stack.value, DEFAULT_STACK_BUDGET);
});

void test('a frame larger than the whole budget traps on entry', () => {
  const { exports, meter } = instantiateMetered(
    prepare(wat('(module (func (export "f") (local i64 i64 i64 i64)))'), { stackBudget: 64 }),
    1n << 40n,
  );
  assert.throws(() => fn(exports, 'f')(), WebAssembly.RuntimeError);
  assert.ok((meter.stack.value as number) < 0);
  assert.ok((meter.fuel.value as bigint) > 0n, 'a stack trap is not a fuel trap');
});

/** Frames V8 reaches before its own RangeError, with the budget out of the way. */
function v8OverflowDepth(wasm: Uint8Array): number {
  const budget = 2 ** 31 - 1;
  const { exports, meter } = instantiateMetered(prepare(wasm, { stackBudget: budget }), 1n << 60n);
  meter.stack.value = budget;
  try {
    fn(exports, 'run')();
  } catch (error) {
    assert.ok(error instanceof RangeError || (meter.stack.value as number) < 0, String(error));
  }
  return (exports.depth as WebAssembly.Global).value as number;
}
