// The rewrite must not change what a program computes: each program below runs original and
// prepared side by side on the same inputs and must give the same results (or the same trap).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { METER_EXPORTS } from '../src/meter-abi.ts';
import { fn, instantiate, meterOf, prepare, wat, type Exports } from './wasm-helpers.ts';

/** Far more than any case needs, few enough that a broken rewrite fails instead of hanging. */
const PLENTY = 100_000_000n;

interface Case {
  name: string;
  text: string;
  /** Export to call and the argument lists to call it with. */
  calls: [string, unknown[][]][];
  imports?: () => WebAssembly.Imports;
}

type Outcome = { value: unknown } | { trap: string };

function outcome(call: () => unknown): Outcome {
  try {
    return { value: call() };
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) return { trap: error.message };
    throw error;
  }
}

/** Runs every call on the original and the prepared module and compares the outcomes. */
function assertSameBehaviour(
  bytes: Uint8Array,
  calls: Case['calls'],
  imports: () => WebAssembly.Imports = () => ({}),
): void {
  const original = instantiate(bytes, imports());
  const prepared = prepare(bytes);
  const metered = instantiate(prepared.bytes, imports());
  const meter = meterOf(metered);
  meter.fuel.value = PLENTY;
  if (prepared.info.hasStart) fn(metered, METER_EXPORTS.start)();
  for (const [name, argLists] of calls) {
    for (const args of argLists) {
      const before = meter.stack.value;
      const expected = outcome(() => fn(original, name)(...args));
      const actual = outcome(() => fn(metered, name)(...args));
      assert.deepEqual(actual, expected, `${name}(${args.join(', ')})`);
      if ('value' in expected) assert.equal(meter.stack.value, before, `${name}: stack budget restored`);
      meter.stack.value = before; // a trap skips the epilogue; the runtime resets it per invocation
    }
  }
}

const range = (n: number): unknown[][] => Array.from({ length: n }, (_, i) => [i]);

const CASES: Case[] = [
  {
    name: 'br_table switch with a default',
    text: `(module (func (export "switch") (param i32) (result i32)
      block block block block
        local.get 0 br_table 0 1 2 3
      end i32.const 10 return
      end i32.const 20 return
      end i32.const 30 return
      end i32.const 40))`,
    calls: [['switch', [...range(6), [-1]]]],
  },
  {
    name: 'multi-value blocks, block params and multi-value returns',
    text: `(module
      (type $pair (func (param i32) (result i32 i32)))
      (func $divmod (export "divmod") (param i32 i32) (result i32 i32)
        local.get 0 local.get 1 i32.div_u local.get 0 local.get 1 i32.rem_u)
      (func (export "swap_sum") (param i32) (result i32)
        local.get 0
        block (type $pair) i32.const 7 i32.add local.get 0 end
        i32.sub
        block (result i32 i64) i32.const 3 i64.const 4 end
        i32.wrap_i64 i32.add i32.add))`,
    calls: [
      [
        'divmod',
        [
          [17, 5],
          [100, 7],
          [1, 0],
        ],
      ],
      ['swap_sum', range(4)],
    ],
  },
  {
    name: 'if/else with results, nested, and if without else',
    text: `(module (func (export "classify") (param i32) (result i32) (local i32)
      local.get 0 i32.const 0 i32.lt_s
      if (result i32)
        i32.const -1
      else
        local.get 0 i32.eqz
        if (result i32) i32.const 0
        else local.get 0 i32.const 100 i32.gt_s if (result i32) i32.const 2 else i32.const 1 end
        end
      end
      local.set 1
      local.get 0 i32.const 42 i32.eq if local.get 1 i32.const 10 i32.add local.set 1 end
      local.get 1))`,
    calls: [['classify', [[-5], [0], [7], [42], [101]]]],
  },
  {
    name: 'nested loops with branches to outer labels',
    text: `(module (func (export "triangle") (param $n i32) (result i64) (local $i i32) (local $j i32) (local $sum i64)
      block $outer
        loop $rows
          local.get $i local.get $n i32.ge_s br_if $outer
          i32.const 0 local.set $j
          block $inner
            loop $cols
              local.get $j local.get $i i32.ge_s br_if $inner
              local.get $sum local.get $i local.get $j i32.mul i64.extend_i32_s i64.add local.set $sum
              local.get $j i32.const 1 i32.add local.set $j
              local.get $sum i64.const 1000000 i64.gt_s br_if $outer
              br $cols
            end
          end
          local.get $i i32.const 1 i32.add local.set $i
          br $rows
        end
      end
      local.get $sum))`,
    calls: [['triangle', [[0], [1], [10], [50], [1000]]]],
  },
  {
    name: 'call_indirect through a table, including a signature mismatch trap',
    text: `(module
      (type $unary (func (param i32) (result i32)))
      (type $nullary (func (result i32)))
      (table 4 funcref)
      (elem (i32.const 0) $double $square $seven)
      (func $double (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
      (func $square (param i32) (result i32) local.get 0 local.get 0 i32.mul)
      (func $seven (result i32) i32.const 7)
      (func (export "apply") (param i32 i32) (result i32) local.get 1 local.get 0 call_indirect (type $unary)))`,
    calls: [
      [
        'apply',
        [
          [0, 5],
          [1, 5],
          [2, 5],
          [3, 5],
          [9, 5],
        ],
      ],
    ],
  },
  {
    name: 'return from inside nested blocks and loops',
    text: `(module (func (export "find") (param $x i32) (result i32) (local $i i32)
      loop $l
        block
          local.get $i local.get $x i32.eq if local.get $i i32.const 1000 i32.add return end
          local.get $i i32.const 20 i32.gt_u if i32.const -1 return end
        end
        local.get $i i32.const 1 i32.add local.set $i
        br $l
      end
      unreachable))`,
    calls: [['find', [[0], [5], [20], [99]]]],
  },
  {
    name: 'select, typed select and globals',
    text: `(module
      (global $count (mut i32) (i32.const 0))
      (global $scale f64 (f64.const 2.5))
      (func (export "pick") (param i32 i32 i32) (result i32)
        global.get $count i32.const 1 i32.add global.set $count
        local.get 0 local.get 1 local.get 2 select global.get $count i32.add)
      (func (export "pickf") (param f64 i32) (result f64)
        local.get 0 global.get $scale f64.mul f64.const -1 local.get 1 select (result f64)))`,
    calls: [
      [
        'pick',
        [
          [1, 2, 0],
          [1, 2, 1],
          [5, 6, 7],
        ],
      ],
      [
        'pickf',
        [
          [4, 1],
          [4, 0],
          [Number.NaN, 1],
        ],
      ],
    ],
  },
  {
    name: 'recursion',
    text: `(module (func $ack (export "ack") (param i32 i32) (result i32)
      local.get 0 i32.eqz if (result i32) local.get 1 i32.const 1 i32.add
      else
        local.get 1 i32.eqz if (result i32) local.get 0 i32.const 1 i32.sub i32.const 1 call $ack
        else local.get 0 i32.const 1 i32.sub local.get 0 local.get 1 i32.const 1 i32.sub call $ack call $ack end
      end))`,
    calls: [
      [
        'ack',
        [
          [0, 0],
          [1, 2],
          [2, 3],
          [3, 3],
        ],
      ],
    ],
  },
  {
    name: 'memory, data segments, bulk operations and memory.grow',
    text: `(module (memory 1 4)
      (data (i32.const 16) "gojinn")
      (data $passive "\\01\\02\\03\\04")
      (func (export "mix") (param i32) (result i32) (local $i i32) (local $h i32)
        i32.const 100 local.get 0 i32.const 50 memory.fill
        i32.const 200 i32.const 16 i32.const 6 memory.copy
        i32.const 300 i32.const 0 i32.const 4 memory.init $passive
        i32.const 400 local.get 0 i32.store offset=4
        loop $l
          local.get $h i32.const 31 i32.mul local.get $i i32.load8_u i32.add local.set $h
          local.get $i i32.const 1 i32.add local.tee $i i32.const 512 i32.lt_u br_if $l
        end
        local.get $h)
      (func (export "grow") (param i32) (result i32) local.get 0 memory.grow memory.size i32.const 16 i32.shl i32.add)
      (func (export "oob") (result i32) i32.const 65536 i32.load))`,
    calls: [
      ['mix', [[0], [7], [255]]],
      ['grow', [[1], [0], [2], [5]]],
      ['oob', [[]]],
    ],
  },
  {
    name: 'integer and float arithmetic, conversions, traps',
    text: `(module
      (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
      (func (export "conv") (param f64) (result i64 i32 f32)
        local.get 0 i64.trunc_sat_f64_s local.get 0 i32.trunc_sat_f64_u local.get 0 f32.demote_f64)
      (func (export "trunc") (param f64) (result i32) local.get 0 i32.trunc_f64_s)
      (func (export "bits") (param i64) (result i64)
        local.get 0 i64.popcnt local.get 0 i64.clz i64.add local.get 0 i64.const 13 i64.rotl i64.xor
        i64.extend32_s))`,
    calls: [
      [
        'div',
        [
          [7, 2],
          [-7, 2],
          [1, 0],
          [-2147483648, -1],
        ],
      ],
      ['conv', [[1.5], [-1e30], [Number.NaN], [4e9]]],
      ['trunc', [[3.9], [1e12]]],
      ['bits', [[0n], [-1n], [0x123456789n]]],
    ],
  },
  {
    name: 'fixed-width SIMD',
    text: `(module (memory 1)
      (func (export "dot") (param i32) (result i32) (local v128)
        i32.const 0 local.get 0 i32x4.splat v128.store
        i32.const 16 v128.const i32x4 1 2 3 4 v128.store
        i32.const 0 v128.load i32.const 16 v128.load i32x4.mul local.tee 1
        i32x4.extract_lane 0 local.get 1 i32x4.extract_lane 1 i32.add
        local.get 1 i32x4.extract_lane 2 i32.add local.get 1 i32x4.extract_lane 3 i32.add))`,
    calls: [['dot', [[0], [3], [-9]]]],
  },
  {
    name: 'reference types: tables of externref and funcref',
    text: `(module
      (table $t 2 externref)
      (table $f 1 funcref)
      (func $id (param i32) (result i32) local.get 0)
      (elem declare func $id)
      (func (export "keep") (param externref i32) (result i32)
        i32.const 0 local.get 0 table.set $t
        local.get 0 local.get 1 table.grow $t drop
        i32.const 0 ref.func $id table.set $f
        table.size $t i32.const 0 table.get $t ref.is_null i32.add)
      (func (export "get") (param i32) (result externref) local.get 0 table.get $t))`,
    calls: [
      [
        'keep',
        [
          ['a', 1],
          [null, 2],
        ],
      ],
      ['get', [[0], [1], [50]]],
    ],
  },
  {
    name: 'start function and imported functions and globals',
    text: `(module
      (import "env" "add" (func $add (param i32 i32) (result i32)))
      (import "env" "base" (global $base i32))
      (global $seed (mut i32) (i32.const 0))
      (func $init global.get $base i32.const 3 i32.mul global.set $seed)
      (start $init)
      (func (export "use") (param i32) (result i32) local.get 0 global.get $seed call $add))`,
    calls: [['use', [[1], [10]]]],
    imports: () => ({ env: { add: (a: number, b: number) => a + b, base: 14 } }),
  },
];

for (const c of CASES) {
  void test(`same results before and after rewriting: ${c.name}`, () => {
    assertSameBehaviour(wat(c.text), c.calls, c.imports);
  });
}

void test('same results for the AssemblyScript examples (when built)', (t) => {
  const examples: [string, string, unknown[][]][] = [
    ['sha256', 'bench', [[0], [1], [64]]],
    ['fib', 'fib', [[0], [1], [20]]],
  ];
  for (const [name, exported, argLists] of examples) {
    const path = new URL(`../../../examples/${name}/build/${name}.wasm`, import.meta.url);
    if (!existsSync(path)) {
      t.diagnostic(`skipped ${name}: not built`);
      continue;
    }
    const bytes = new Uint8Array(readFileSync(path));
    const stubs = (): WebAssembly.Imports => {
      const imports: Record<string, Record<string, () => never>> = {};
      for (const i of WebAssembly.Module.imports(new WebAssembly.Module(bytes))) {
        (imports[i.module] ??= {})[i.name] = () => {
          throw new Error(`unexpected import call ${i.module}.${i.name}`);
        };
      }
      return imports;
    };
    const exportsOf = (e: Exports): string[] => Object.keys(e);
    assert.ok(exportsOf(instantiate(bytes, stubs())).includes(exported));
    assertSameBehaviour(bytes, [[exported, argLists]], stubs);
  }
});
