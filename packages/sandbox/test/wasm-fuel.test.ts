// Fuel metering: exact charges under the region model, checks at loop headers and function
// entries, proportional charges for memory.grow and bulk operations (checked before they run),
// the per-invocation memory ceiling, and fuel flowing through calls and host functions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { METER_EXPORTS } from '../src/meter-abi.ts';
import { DEFAULT_FUEL_COSTS } from '../src/wasm/index.ts';
import {
  fn,
  instantiateMetered,
  limits,
  prepare,
  trapOf,
  wat,
  type Exports,
  type Meter,
} from './wasm-helpers.ts';

const PLENTY = 1n << 50n;

/** Runs `call` with `fuel` set and returns the fuel it consumed. */
function consumed(meter: Meter, call: () => unknown, fuel = PLENTY): bigint {
  meter.fuel.value = fuel;
  call();
  return fuel - (meter.fuel.value as bigint);
}

const COUNTER = wat(`(module
  (func (export "count") (param $n i32) (local $i i32)
    block $done
      loop $top
        local.get $i local.get $n i32.ge_u br_if $done   ;; 4 units
        local.get $i i32.const 1 i32.add local.set $i    ;; 4 units
        br $top                                           ;; 1 unit
      end
    end))`);

void test('a loop of N iterations consumes exactly the predicted fuel, identically over 100 runs', () => {
  // Entry region: block and loop are free (0). Loop header region: 9 units, entered N + 1 times
  // (the last entry leaves at br_if but a region is charged in full). After the block: 0.
  const { exports, meter } = instantiateMetered(prepare(COUNTER), 0n);
  const count = fn(exports, 'count');
  for (const n of [0, 1, 1000])
    assert.equal(
      consumed(meter, () => count(n)),
      BigInt(9 * (n + 1)),
    );
  // 100 runs span Liftoff and the TurboFan tier-up; the charge must not move.
  const runs = new Set<bigint>();
  for (let i = 0; i < 100; i++) runs.add(consumed(meter, () => count(10_000)));
  assert.deepEqual([...runs], [BigInt(9 * 10_001)]);
});

void test('each arm of an if is its own region; the join after it is another', () => {
  const bytes = wat(`(module (func (export "abs") (param i32) (result i32)
    local.get 0 i32.const 0 i32.lt_s         ;; 3
    if (result i32)                          ;; 1, charged before the arm
      i32.const 0 local.get 0 i32.sub        ;; then: 3
    else
      local.get 0                            ;; else: 1
    end))`);
  const { exports, meter } = instantiateMetered(prepare(bytes), 0n);
  const abs = fn(exports, 'abs');
  assert.equal(
    consumed(meter, () => assert.equal(abs(-5), 5)),
    7n,
  );
  assert.equal(
    consumed(meter, () => assert.equal(abs(5), 5)),
    5n,
  );
});

void test('a region is charged in full even when a branch leaves it early; dead code is free', () => {
  const bytes = wat(`(module
    (func (export "early") (param i32)
      block
        local.get 0 br_if 0                  ;; 2
        i32.const 1 drop i32.const 2 drop    ;; 4, charged whether or not br_if is taken
      end)
    (func (export "dead")
      block
        br 0                                 ;; 1
        i32.const 1 drop i32.const 2 drop    ;; unreachable: not charged
      end))`);
  const { exports, meter } = instantiateMetered(prepare(bytes), 0n);
  assert.equal(
    consumed(meter, () => fn(exports, 'early')(1)),
    6n,
  );
  assert.equal(
    consumed(meter, () => fn(exports, 'early')(0)),
    6n,
  );
  assert.equal(
    consumed(meter, () => fn(exports, 'dead')()),
    1n,
  );
});

void test('an infinite loop is stopped at the loop header with fuel below zero', () => {
  const { exports, meter } = instantiateMetered(
    prepare(wat('(module (func (export "spin") loop br 0 end))')),
    10_000n,
  );
  const trap = trapOf(() => fn(exports, 'spin')());
  assert.match(trap.message, /unreachable/);
  // Each iteration charges 1 (the br) and checks: it stops on the first charge below zero.
  assert.equal(meter.fuel.value, -1n);
});

void test('a loop in the start function is stopped by fuel', () => {
  const prepared = prepare(wat('(module (func $init loop br 0 end) (start $init))'));
  assert.equal(prepared.info.hasStart, true);
  const { exports, meter } = instantiateMetered(prepared, 5_000n); // instantiation runs no guest code
  trapOf(() => fn(exports, METER_EXPORTS.start)());
  assert.equal(meter.fuel.value, -1n);
});

void test('function entry is checked: a call with no fuel left traps before the body runs', () => {
  const bytes = wat(`(module (global $ran (export "ran") (mut i32) (i32.const 0))
    (func (export "f") i32.const 1 global.set $ran))`);
  const { exports, meter } = instantiateMetered(prepare(bytes), 1n);
  trapOf(() => fn(exports, 'f')());
  assert.equal(meter.fuel.value, -1n);
  assert.equal((exports.ran as WebAssembly.Global).value, 0);
});

void test('fuel flows through calls, and a host function charging the global is seen after it returns', () => {
  let exports: Exports = {};
  const seenByHost: bigint[] = [];
  const host = {
    env: {
      charge: (): void => {
        const fuel = exports[METER_EXPORTS.fuel] as WebAssembly.Global;
        seenByHost.push(fuel.value as bigint);
        fuel.value = (fuel.value as bigint) - 1000n;
      },
    },
  };
  const bytes = wat(`(module (import "env" "charge" (func $charge))
    (func $leaf (result i32) i32.const 7)                  ;; 1
    (func (export "main") (result i32)
      call $charge call $charge                            ;; 2
      call $leaf call $leaf i32.add))                      ;; 3`);
  const metered = instantiateMetered(prepare(bytes, {}), PLENTY, host);
  exports = metered.exports;
  assert.equal(
    consumed(metered.meter, () => assert.equal(fn(exports, 'main')(), 14)),
    5n + 1n + 1n + 2000n,
  );
  // The host saw the fuel as charged so far: the entry region (5) before its first call.
  assert.deepEqual(seenByHost, [PLENTY - 5n, PLENTY - 5n - 1000n]);
});

void test('recursion consumes the same fuel on every run', () => {
  const bytes = wat(`(module (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_s
    if (result i32) local.get 0
    else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add end))`);
  const { exports, meter } = instantiateMetered(prepare(bytes), 0n);
  const fib = fn(exports, 'fib');
  const runs = new Set<bigint>();
  for (let i = 0; i < 100; i++) runs.add(consumed(meter, () => assert.equal(fib(15), 610)));
  assert.equal(runs.size, 1);
});

const GROWER = wat(`(module (memory (export "memory") 1)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "bomb") (result i32) (local $grown i32)
    block $denied
      loop $more
        i32.const 1 memory.grow i32.const -1 i32.eq br_if $denied
        local.get $grown i32.const 1 i32.add local.set $grown
        br $more
      end
    end
    local.get $grown))`);

void test('memory.grow is charged per page grown; a denied grow costs only its base', () => {
  const { exports, meter } = instantiateMetered(prepare(GROWER), 0n);
  const grow = fn(exports, 'grow');
  const perPage = BigInt(DEFAULT_FUEL_COSTS.memoryGrowPerPage);
  assert.equal(
    consumed(meter, () => assert.equal(grow(3), 1)),
    2n + 3n * perPage,
  );
  meter.memoryLimitPages.value = 4;
  assert.equal(
    consumed(meter, () => assert.equal(grow(5), -1)),
    2n,
  );
});

void test('a memory.grow bomb is denied at the per-invocation ceiling and the first denial recorded', () => {
  const { exports, meter } = instantiateMetered(prepare(GROWER), PLENTY);
  meter.memoryLimitPages.value = 5;
  assert.equal(fn(exports, 'bomb')(), 4, 'grows from 1 to exactly 5 pages');
  assert.equal((exports.memory as WebAssembly.Memory).buffer.byteLength, 5 * 65536);
  assert.equal(meter.memoryDenied.value, 1);
  // Later denials leave the first one recorded.
  assert.equal(fn(exports, 'grow')(7), -1);
  assert.equal(meter.memoryDenied.value, 1);
});

void test('a huge memory.grow is denied, recorded as the unsigned page count asked, and cheap', () => {
  const { exports, meter } = instantiateMetered(prepare(GROWER), 1_000n);
  assert.equal(fn(exports, 'grow')(-1), -1);
  assert.ok((meter.fuel.value as bigint) > 0n, 'a denied grow must not drain the fuel');
  assert.equal((meter.memoryDenied.value as number) >>> 0, 0xffffffff);
});

void test('a memory.grow the fuel cannot pay for traps before growing', () => {
  const { exports, meter } = instantiateMetered(prepare(GROWER), 10_000n);
  trapOf(() => fn(exports, 'grow')(2)); // 2 pages cost 16384 units
  assert.ok((meter.fuel.value as bigint) < 0n);
  assert.equal((exports.memory as WebAssembly.Memory).buffer.byteLength, 65536);
  assert.equal(meter.memoryDenied.value, 0);
});

const BULK = wat(`(module (memory (export "memory") 64)
  (func (export "fill") (param i32 i32) i32.const 0 local.get 1 local.get 0 memory.fill)
  (func (export "copy") (param i32) i32.const 0 i32.const 65536 local.get 0 memory.copy))`);

void test('memory.fill is charged one unit per 8 bytes', () => {
  const { exports, meter } = instantiateMetered(prepare(BULK, { memoryCeilingPages: 64 }), 0n);
  // 4 instructions (i32.const, 2× local.get, memory.fill) plus 800 / 8.
  assert.equal(
    consumed(meter, () => fn(exports, 'fill')(800, 1)),
    4n + 100n,
  );
});

void test('a huge memory.fill or memory.copy fails on fuel before it starts', () => {
  const { exports, meter } = instantiateMetered(prepare(BULK, { memoryCeilingPages: 64 }), 1_000n);
  const memory = new Uint8Array((exports.memory as WebAssembly.Memory).buffer);
  // 4 MiB fits in memory: only the fuel check can stop it, and nothing may have been written.
  trapOf(() => fn(exports, 'fill')(4 * 1024 * 1024, 0xab));
  assert.ok((meter.fuel.value as bigint) < 0n);
  assert.equal(memory[0], 0);
  assert.equal(memory[4 * 1024 * 1024 - 1], 0);
  // 1 GiB: without the meter this would be an out-of-bounds trap; the fuel trap comes first.
  meter.fuel.value = 1_000n;
  trapOf(() => fn(exports, 'fill')(1 << 30, 0xab));
  assert.equal(meter.fuel.value, 1_000n - 4n - BigInt((1 << 30) / 8)); // the region (4) is charged first
  meter.fuel.value = PLENTY;
  memory.fill(0x5a, 65536, 65536 + 1024);
  meter.fuel.value = 100n;
  trapOf(() => fn(exports, 'copy')(1024 * 1024));
  assert.equal(memory[0], 0, 'memory.copy must not have started');
});

void test('a table.grow bomb is charged per element and bounded by the clamped maximum', () => {
  const bytes = wat(`(module (table $t 1 funcref)
    (func (export "grow") (param i32) (result i32) ref.null func local.get 0 table.grow $t)
    (func (export "fill") (param i32) i32.const 0 ref.null func local.get 0 table.fill $t))`);
  const { exports, meter } = instantiateMetered(
    prepare(bytes, { limits: limits({ maxTableElements: 1000 }) }),
    1_000_000n,
  );
  trapOf(() => fn(exports, 'grow')(-1)); // 2^32 - 1 elements cost more than the fuel
  assert.ok((meter.fuel.value as bigint) < 0n);
  meter.fuel.value = PLENTY;
  assert.equal(fn(exports, 'grow')(999), 1);
  assert.equal(fn(exports, 'grow')(1), -1);
  assert.equal(
    consumed(meter, () => fn(exports, 'grow')(10)),
    3n + 10n,
  );
  meter.fuel.value = 100n;
  trapOf(() => fn(exports, 'fill')(1000)); // in bounds, but 1000 units > 100
  assert.ok((meter.fuel.value as bigint) < 0n);
});

void test('custom costs: per-instruction units and overrides by mnemonic', () => {
  const costs = {
    ...DEFAULT_FUEL_COSTS,
    instruction: 2,
    byInstruction: { ...DEFAULT_FUEL_COSTS.byInstruction, 'i32.add': 10 },
  };
  const { exports, meter } = instantiateMetered(prepare(COUNTER, { costs }), 0n);
  // Header region: 8 instructions at 2 plus one i32.add at 10.
  assert.equal(
    consumed(meter, () => fn(exports, 'count')(4)),
    BigInt(5 * (8 * 2 + 10)),
  );
});
