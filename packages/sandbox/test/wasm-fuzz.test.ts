// Random mutations of valid modules: prepareWasm may refuse them, but only with
// invalid_module or memory_limit, and whatever it accepts must compile. And random valid
// structured programs: the rewritten module computes exactly what the original does.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { GojinnError } from '@gojinn/errors';
import { prepareWasm } from '../src/wasm/index.ts';
import { fn, instantiate, limits, meterOf, options, wat } from './wasm-helpers.ts';

const SEEDS: Uint8Array[] = [
  wat(`(module (memory 1 4) (table 2 funcref) (global $g (mut i32) (i32.const 1))
    (data (i32.const 8) "seed") (elem (i32.const 0) $a $b)
    (type $t (func (param i32) (result i32)))
    (func $a (param i32) (result i32)
      block (result i32) local.get 0 local.get 0 i32.const 3 i32.gt_u br_if 0 drop i32.const 9 end)
    (func $b (export "b") (param i32) (result i32) (local i64 f64)
      loop $l local.get 0 i32.const 1 i32.sub local.tee 0 br_if $l end
      local.get 0 i32.const 1 call_indirect (type $t)
      i32.const 0 i32.const 0 i32.const 4 memory.fill
      i32.const 1 memory.grow drop global.get $g i32.add)
    (start $a2) (func $a2 i32.const 1 call $a drop))`),
  wat(`(module (func (export "f") (param i32 i32) (result i32 i32)
    local.get 0 local.get 1 if (param i32) (result i32) i32.const 2 i32.mul else i32.const 3 i32.add end
    block (result i32) local.get 1 local.get 1 br_table 0 0 end))`),
  wat(`(module (memory 1) (func (export "v") (result v128)
    v128.const i32x4 1 2 3 4 i32.const 0 v128.load i32x4.add))`),
];
const SHA256 = new URL('../../../examples/sha256/build/sha256.wasm', import.meta.url);
if (existsSync(SHA256)) SEEDS.push(new Uint8Array(readFileSync(SHA256)));

const ACCEPTED_CODES = new Set(['invalid_module', 'memory_limit']);

type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      at: fc.nat(),
      count: fc.integer({ min: 1, max: 8 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
);

function apply(seed: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes = [...seed];
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    if (m.kind === 'set') bytes[at] = m.value;
    else if (m.kind === 'insert') bytes.splice(at, 0, ...m.bytes);
    else if (m.kind === 'delete') bytes.splice(at, m.count);
    else bytes = bytes.slice(0, at);
  }
  return Uint8Array.from(bytes);
}

void test('mutated modules are refused with invalid_module/memory_limit or prepared into modules that compile', (t) => {
  for (const seed of SEEDS) assert.ok(WebAssembly.validate(seed), 'every seed is a valid module');
  let accepted = 0;
  fc.assert(
    fc.property(
      fc.nat({ max: SEEDS.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      (seedIndex, mutations) => {
        const bytes = apply(SEEDS[seedIndex]!, mutations);
        let prepared: Uint8Array;
        try {
          prepared = prepareWasm(bytes, { ...options(), limits: limits({ maxTableElements: 1000 }) }).bytes;
        } catch (error) {
          assert.ok(error instanceof GojinnError, `threw a non-GojinnError: ${String(error)}`);
          assert.ok(ACCEPTED_CODES.has(error.code), `unexpected code ${error.code}: ${error.message}`);
          return;
        }
        accepted++;
        assert.doesNotThrow(() => new WebAssembly.Module(prepared));
      },
    ),
    { numRuns: 1500 },
  );
  // Single-byte changes inside code keep many modules valid: the property must have exercised the rewriter.
  t.diagnostic(`${accepted} of 1500 mutants accepted and compiled`);
  assert.ok(accepted > 20, `only ${accepted} mutants were accepted`);
});

void test('the rewriter is idempotent in validity: preparing a prepared module fails only on the reserved exports', () => {
  for (const seed of SEEDS) {
    const once = prepareWasm(seed, options()).bytes;
    assert.throws(
      () => prepareWasm(once, options()),
      (error: unknown) => error instanceof GojinnError && /reserved prefix __gojinn_/.test(error.message),
    );
  }
});

// ---- Random structured programs -----------------------------------------------------------

/** Labels in scope, innermost last: how many i32 values a branch to each must carry. */
type Labels = number[];

const BINOPS = [
  'i32.add',
  'i32.sub',
  'i32.mul',
  'i32.and',
  'i32.or',
  'i32.xor',
  'i32.shl',
  'i32.shr_u',
  'i32.rotl',
];
const LOCALS = 4; // params 0..1, locals 2..3

/**
 * Generates WAT for one function `(param i32 i32) (result i32)` from a stream of choices.
 * Every loop burns one unit of the `$steps` global per iteration and traps at zero, so every
 * program terminates, identically with or without the meter.
 */
function program(choices: number[], functionCount: number): string {
  let next = 0;
  const pick = (n: number): number => (n <= 1 ? 0 : choices[next++ % choices.length]! % n);
  const local = (): string => `${pick(LOCALS)}`;

  function statements(labels: Labels, depth: number, count: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(...statement(labels, depth));
    return out;
  }

  /** Instructions that leave the stack as they found it (or end in an unconditional branch). */
  function statement(labels: Labels, depth: number): string[] {
    const kind = pick(depth >= 3 ? 6 : 12);
    const target = labels.length === 0 ? 0 : pick(labels.length);
    const arity = labels[labels.length - 1 - target] ?? 0;
    switch (kind) {
      case 0:
      case 1:
        return [
          `local.get ${local()} local.get ${local()} ${BINOPS[pick(BINOPS.length)]} local.set ${local()}`,
        ];
      case 2:
        return [
          `local.get ${local()} i32.const ${pick(1000) - 500} ${BINOPS[pick(BINOPS.length)]} local.set ${local()}`,
        ];
      case 3:
        return [
          `local.get ${local()} i32.const 255 i32.and local.get ${local()} i32.store offset=${pick(16)}`,
        ];
      case 4:
        return [
          `local.get ${local()} i32.const 255 i32.and i32.load8_u local.get ${local()} i32.add local.set ${local()}`,
        ];
      case 5:
        // Conditional branch to any label, carrying a value if the label needs one.
        return arity === 0
          ? [`local.get ${local()} br_if ${target}`]
          : [`local.get ${local()} local.get ${local()} br_if ${target} drop`];
      case 6: {
        const withResult = pick(2) === 1;
        const inner = statements([...labels, withResult ? 1 : 0], depth + 1, 1 + pick(3));
        return [
          `block${withResult ? ' (result i32)' : ''}`,
          ...inner,
          ...(withResult ? [`local.get ${local()}`] : []),
          `end${withResult ? ` local.set ${local()}` : ''}`,
        ];
      }
      case 7: {
        const counter = 2 + pick(2);
        return [
          `i32.const ${1 + pick(8)} local.set ${counter}`,
          'loop',
          'global.get $steps i32.eqz if unreachable end global.get $steps i32.const 1 i32.sub global.set $steps',
          ...statements([...labels, 0], depth + 1, 1 + pick(3)),
          `local.get ${counter} i32.const 1 i32.sub local.tee ${counter} br_if 0`,
          'end',
        ];
      }
      case 8: {
        const withResult = pick(2) === 1;
        const then = statements([...labels, withResult ? 1 : 0], depth + 1, pick(3));
        const otherwise = statements([...labels, withResult ? 1 : 0], depth + 1, pick(3));
        const value = withResult ? [`local.get ${local()}`] : [];
        return [
          `local.get ${local()} if${withResult ? ' (result i32)' : ''}`,
          ...then,
          ...value,
          'else',
          ...otherwise,
          ...value,
          `end${withResult ? ` local.set ${local()}` : ''}`,
        ];
      }
      case 9: {
        // br_table over labels of the same arity as the first one chosen.
        const targets = labels
          .map((a, i) => [a, labels.length - 1 - i] as const)
          .filter(([a]) => a === arity)
          .map(([, d]) => d);
        const list = Array.from({ length: 1 + pick(4) }, () => targets[pick(targets.length)] ?? target);
        return [
          arity === 0 ? '' : `local.get ${local()}`,
          `local.get ${local()} br_table ${list.join(' ')} ${target}`,
        ];
      }
      case 10:
        return [`local.get ${local()} return`];
      default: {
        const callee = pick(functionCount);
        return callee === 0
          ? [`local.get ${local()} local.get ${local()} ${BINOPS[pick(BINOPS.length)]} local.set ${local()}`]
          : [`local.get ${local()} local.get ${local()} call $f${callee - 1} local.set ${local()}`];
      }
    }
  }

  // The function's own label carries its result.
  return statements([1], 0, 2 + pick(6)).join('\n') + `\nlocal.get ${local()}`;
}

function randomModule(choices: number[][]): string {
  const functions = choices.map(
    (c, i) => `(func $f${i} (export "f${i}") (param i32 i32) (result i32) (local i32 i32)\n${program(c, i)})`,
  );
  return `(module (memory 1) (global $steps (export "steps") (mut i32) (i32.const 0))\n${functions.join('\n')})`;
}

type Run = { value: unknown } | { trap: string };
function run(call: () => unknown): Run {
  try {
    return { value: call() };
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) return { trap: error.message };
    throw error;
  }
}

void test('random structured programs compute the same results before and after rewriting', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.nat(), { minLength: 20, maxLength: 200 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.tuple(fc.integer(), fc.integer()), { minLength: 1, maxLength: 4 }),
      (choices, argLists) => {
        const bytes = wat(randomModule(choices));
        const original = instantiate(bytes);
        const metered = instantiate(prepareWasm(bytes, options()).bytes);
        const meter = meterOf(metered);
        const last = `f${choices.length - 1}`;
        for (const [a, b] of argLists) {
          (original.steps as WebAssembly.Global).value = 5000;
          (metered.steps as WebAssembly.Global).value = 5000;
          meter.fuel.value = 1n << 40n;
          const stack = meter.stack.value as number;
          const expected = run(() => fn(original, last)(a, b));
          const actual = run(() => fn(metered, last)(a, b));
          assert.deepEqual(actual, expected);
          if ('value' in expected) assert.equal(meter.stack.value, stack, 'stack budget restored');
          assert.ok((meter.fuel.value as bigint) < 1n << 40n, 'fuel was charged');
          meter.stack.value = stack;
        }
      },
    ),
    { numRuns: 300 },
  );
});
