// prepareWasm's front door: malformed bytes, refused features (each with the exact code and a
// message naming the feature), the memory ceiling, accepted features, and ModuleInfo.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { METER_EXPORTS } from '../src/meter-abi.ts';
import {
  HEADER,
  assertRejects,
  fn,
  instantiate,
  leb,
  meterOf,
  moduleWithCode,
  prepare,
  section,
  vec,
  wat,
} from './wasm-helpers.ts';

const EMPTY_MODULE = wat('(module)');
const unsupported = (where: string, feature: string): string =>
  `${where} uses ${feature}, which the sandbox does not support`;

void test('malformed bytes are invalid_module', () => {
  assertRejects(
    () => prepare(new Uint8Array(0)),
    'invalid_module',
    'malformed module: shorter than the 8-byte header',
  );
  assertRejects(
    () => prepare(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9])),
    'invalid_module',
    'malformed module: missing the \\0asm magic number',
  );
  assertRejects(
    () => prepare(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00])),
    'invalid_module',
    'malformed module: binary version 0x1000d (components are not accepted)',
  );
});

void test('trailing garbage and truncation are invalid_module', () => {
  const valid = wat('(module (func (export "f")))');
  assertRejects(
    () => prepare(Uint8Array.from([...valid, 0x20, 0x00])),
    'invalid_module',
    'malformed module: unknown section id 32',
  );
  assertRejects(
    () => prepare(Uint8Array.from([...valid, 0x00])),
    'invalid_module',
    `malformed module: unexpected end at byte offset ${valid.length + 1}`,
  );
  assertRejects(
    () => prepare(valid.subarray(0, valid.length - 1)),
    'invalid_module',
    /^malformed module: \d+ bytes announced/,
  );
  // A section whose payload is longer than its contents.
  const padded = Uint8Array.from([...HEADER, ...section(1, [...vec([[0x60, 0, 0]]), 0x00])]);
  assertRejects(() => prepare(padded), 'invalid_module', 'malformed module: section 1 has 1 trailing bytes');
});

void test('sections out of order or repeated are invalid_module', () => {
  const types = section(1, vec([[0x60, 0, 0]]));
  assertRejects(
    () => prepare(Uint8Array.from([...HEADER, ...types, ...types])),
    'invalid_module',
    'malformed module: section 1 out of order or repeated',
  );
});

void test('code the engine rejects is invalid_module with its reason', () => {
  // i32.add with an empty stack.
  assertRejects(
    () => prepare(moduleWithCode([0x6a])),
    'invalid_module',
    /^module is not valid WebAssembly: .*i32\.add/,
  );
  // 0xff is no opcode at all.
  assertRejects(
    () => prepare(moduleWithCode([0xff])),
    'invalid_module',
    /^module is not valid WebAssembly: /,
  );
});

void test('threads: atomics and shared memory are refused', () => {
  assertRejects(
    () => prepare(wat('(module (memory 1) (func (result i32) i32.const 0 i32.atomic.load))')),
    'invalid_module',
    unsupported('function 0', 'threads and atomics (0xfe prefix)'),
  );
  assertRejects(
    () => prepare(wat('(module (func atomic.fence))')),
    'invalid_module',
    unsupported('function 0', 'threads and atomics (0xfe prefix)'),
  );
  assertRejects(
    () => prepare(wat('(module (memory 1 1 shared))')),
    'invalid_module',
    unsupported('memory 0', 'shared memory (threads)'),
  );
});

void test('memory64, multi-memory and custom page sizes are refused', () => {
  assertRejects(
    () => prepare(wat('(module (memory i64 1))')),
    'invalid_module',
    unsupported('memory 0', 'memory64'),
  );
  assertRejects(
    () => prepare(wat('(module (memory 1) (memory 1))')),
    'invalid_module',
    unsupported('module', 'multi-memory (2 memories)'),
  );
  // i32.load with the multi-memory memarg flag (0x40) and memory index 0.
  const memory = { id: 5, payload: vec([[0x00, 0x01]]) };
  assertRejects(
    () => prepare(moduleWithCode([0x41, 0x00, 0x28, 0x42, 0x00, 0x00, 0x1a], [memory])),
    'invalid_module',
    unsupported('function 0', 'multi-memory (memory index in a memarg)'),
  );
  assertRejects(
    () => prepare(Uint8Array.from([...HEADER, ...section(5, vec([[0x08, 0x01, 0x10]]))])),
    'invalid_module',
    unsupported('memory 0', 'custom page sizes'),
  );
});

void test('exception handling is refused', () => {
  assertRejects(
    () => prepare(wat('(module (tag $e))')),
    'invalid_module',
    unsupported('module', 'exception handling (tag section)'),
  );
  assertRejects(
    () => prepare(wat('(module (func try nop end))')),
    'invalid_module',
    unsupported('function 0', 'exception handling (try)'),
  );
  assertRejects(
    () => prepare(wat('(module (func (block $b (try_table (catch_all $b)))))')),
    'invalid_module',
    unsupported('function 0', 'exception handling (try_table)'),
  );
});

void test('tail calls are refused', () => {
  assertRejects(
    () => prepare(wat('(module (func $f return_call $f))')),
    'invalid_module',
    unsupported('function 0', 'tail calls (return_call)'),
  );
  assertRejects(
    () =>
      prepare(
        wat('(module (type $t (func)) (table 1 funcref) (func i32.const 0 return_call_indirect (type $t)))'),
      ),
    'invalid_module',
    unsupported('function 0', 'tail calls (return_call_indirect)'),
  );
});

void test('garbage collection and typed function references are refused', () => {
  assertRejects(
    () => prepare(wat('(module (type $s (struct (field i32))))')),
    'invalid_module',
    unsupported('type 0', 'garbage collection (recursive, struct, array or sub types)'),
  );
  assertRejects(
    () => prepare(moduleWithCode([0xd0, 0x70, 0xd4, 0x1a])),
    'invalid_module',
    unsupported('function 0', 'function references (ref.as_non_null)'),
  );
  assertRejects(
    () => prepare(moduleWithCode([0xd0, 0x00, 0x1a])),
    'invalid_module',
    unsupported('function 0', 'typed function references (ref.null of a type index)'),
  );
  // A local of type (ref null 0).
  const typedLocal = Uint8Array.from([
    ...HEADER,
    ...section(1, vec([[0x60, 0, 0]])),
    ...section(3, vec([[0]])),
    ...section(10, vec([[...leb(5), 0x01, 0x01, 0x63, 0x00, 0x0b]])),
  ]);
  assertRejects(
    () => prepare(typedLocal),
    'invalid_module',
    unsupported('function 0 locals', 'typed function references (ref null)'),
  );
});

void test('relaxed SIMD is refused, fixed-width SIMD accepted', () => {
  assertRejects(
    () =>
      prepare(
        wat(
          '(module (func (result v128) v128.const i32x4 0 0 0 0 v128.const i32x4 0 0 0 0 i8x16.relaxed_swizzle))',
        ),
      ),
    'invalid_module',
    unsupported('function 0', 'relaxed SIMD (0xfd 0x100)'),
  );
  const simd = prepare(
    wat(`(module (func (export "f") (result i32) (local v128)
      v128.const i32x4 1 2 3 4 v128.const i32x4 10 20 30 40 i32x4.add
      local.tee 0 local.get 0
      i8x16.shuffle 4 5 6 7 0 1 2 3 8 9 10 11 12 13 14 15
      i32x4.extract_lane 0))`),
  );
  const exports = instantiate(simd.bytes);
  meterOf(exports).fuel.value = 100n;
  assert.equal(fn(exports, 'f')(), 22);
});

void test('imported memories and tables are refused: a guest defines its own', () => {
  assertRejects(
    () => prepare(wat('(module (import "env" "memory" (memory 1)))')),
    'invalid_module',
    unsupported('import "env"."memory"', 'an imported memory (a guest defines its own memory)'),
  );
  assertRejects(
    () => prepare(wat('(module (import "env" "table" (table 1 funcref)))')),
    'invalid_module',
    unsupported('import "env"."table"', 'an imported table (a guest defines its own tables)'),
  );
});

void test('extended constant expressions are refused', () => {
  assertRejects(
    () => prepare(wat('(module (global i32 (i32.add (i32.const 1) (i32.const 2))))')),
    'invalid_module',
    unsupported('global 0', 'extended constant expressions'),
  );
});

void test('exports with the reserved prefix are refused', () => {
  for (const name of Object.values(METER_EXPORTS)) {
    assertRejects(
      () => prepare(wat(`(module (func (export "${name}")))`)),
      'invalid_module',
      `export "${name}" uses the reserved prefix __gojinn_`,
    );
  }
  assertRejects(
    () => prepare(wat('(module (global (export "__gojinn_anything") i32 (i32.const 0)))')),
    'invalid_module',
    'export "__gojinn_anything" uses the reserved prefix __gojinn_',
  );
  // The prefix only counts at the start.
  assert.doesNotThrow(() => prepare(wat('(module (func (export "my__gojinn_")))')));
});

void test('a memory starting above the ceiling is memory_limit', () => {
  assertRejects(
    () => prepare(wat('(module (memory 17))'), { memoryCeilingPages: 16 }),
    'memory_limit',
    'module needs 17 initial pages of memory; limit memoryCeilingPages is 16',
  );
  const atCeiling = prepare(wat('(module (memory 16))'), { memoryCeilingPages: 16 });
  assert.deepEqual(atCeiling.info.memory, { initialPages: 16, maxPages: 16 });
});

void test('the declared maximum is clamped to the ceiling, and the engine enforces it', () => {
  const clampedMax = (text: string): number | undefined =>
    prepare(wat(text), { memoryCeilingPages: 8 }).info.memory?.maxPages;
  assert.equal(clampedMax('(module (memory 1))'), 8);
  assert.equal(clampedMax('(module (memory 1 100))'), 8);
  assert.equal(clampedMax('(module (memory 1 4))'), 4);
  assert.equal(prepare(EMPTY_MODULE).info.memory, null);

  const grow = prepare(
    wat(
      '(module (memory (export "m") 1) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))',
    ),
    {
      memoryCeilingPages: 8,
    },
  );
  const exports = instantiate(grow.bytes);
  const meter = meterOf(exports);
  meter.fuel.value = 1n << 40n;
  meter.memoryLimitPages.value = 1000; // above the ceiling: the clamped maximum still holds
  assert.equal(fn(exports, 'grow')(7), 1);
  assert.equal(fn(exports, 'grow')(1), -1);
  assert.equal((exports.m as WebAssembly.Memory).buffer.byteLength, 8 * 65536);
});

void test('accepted features prepare and compile', () => {
  const accepted = wat(`(module
    (import "env" "g" (global $imported (mut i32)))
    (global (export "counter") (mut i64) (i64.const 0))
    (memory 1)
    (table $t0 2 funcref)
    (table $t1 2 externref)
    (data $d "hello")
    (elem $e func $id)
    (func $id (param i32) (result i32) local.get 0)
    (func (export "features") (param i32 f64) (result i32 i64)
      ;; sign extension, saturating truncation, multi-value
      local.get 0 i32.extend8_s
      local.get 1 i64.trunc_sat_f64_s
      ;; bulk memory and tables
      i32.const 0 i32.const 0 i32.const 5 memory.init $d
      data.drop $d
      i32.const 8 i32.const 0 i32.const 5 memory.copy
      i32.const 0 i32.const 0 i32.const 1 memory.fill
      i32.const 0 i32.const 0 i32.const 1 table.init $t0 $e
      elem.drop $e
      ref.null extern i32.const 1 table.grow $t1 drop
      i32.const 0 ref.null extern i32.const 1 table.fill $t1
      i32.const 1 i32.const 0 i32.const 1 table.copy $t0 $t0
      i32.const 0 table.get $t0 ref.is_null drop
      i32.const 0 ref.func $id table.set $t0
      table.size $t1 drop
      ;; typed select
      i32.const 1 i32.const 2 i32.const 0 select (result i32) drop)
  )`);
  const prepared = prepare(accepted);
  assert.doesNotThrow(() => new WebAssembly.Module(prepared.bytes));
  const exports = instantiate(prepared.bytes, {
    env: { g: new WebAssembly.Global({ value: 'i32', mutable: true }, 0) },
  });
  meterOf(exports).fuel.value = 1000n;
  assert.deepEqual(fn(exports, 'features')(0x80, 2.9), [-128, 2n]);
});

void test('ModuleInfo describes the original module', () => {
  const bytes = wat(`(module
    (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
    (import "env" "g" (global i32))
    (memory (export "memory") 2 10)
    (global (export "answer") i32 (i32.const 42))
    (func $init)
    (func (export "_start"))
    (start $init))`);
  const { info, bytes: out } = prepare(bytes, { memoryCeilingPages: 4 });
  assert.deepEqual(info.imports, [
    { module: 'wasi_snapshot_preview1', name: 'fd_write', kind: 'function' },
    { module: 'env', name: 'g', kind: 'global' },
  ]);
  assert.deepEqual(info.exports, [
    { name: 'memory', kind: 'memory' },
    { name: 'answer', kind: 'global' },
    { name: '_start', kind: 'function' },
  ]);
  assert.deepEqual(info.memory, { initialPages: 2, maxPages: 4 });
  assert.equal(info.hasStart, true);
  assert.equal(info.functionCount, 3);
  assert.equal(info.sizeBytes, bytes.length);
  assert.equal(info.preparedSizeBytes, out.length);
  const exported = WebAssembly.Module.exports(new WebAssembly.Module(out)).map((e) => `${e.kind}:${e.name}`);
  assert.deepEqual(exported, [
    'memory:memory',
    'global:answer',
    'function:_start',
    `global:${METER_EXPORTS.fuel}`,
    `global:${METER_EXPORTS.stack}`,
    `global:${METER_EXPORTS.memoryLimitPages}`,
    `global:${METER_EXPORTS.memoryDenied}`,
    `function:${METER_EXPORTS.start}`,
    `function:${METER_EXPORTS.reset}`,
  ]);
  assert.deepEqual(info.reuse, {
    reusable: false,
    reason: 'module imports a global, whose value a reset cannot restore',
  });
});

void test('the start section is removed; the start function runs only when called', () => {
  const bytes = wat(`(module
    (global $ran (export "ran") (mut i32) (i32.const 0))
    (func $init i32.const 1 global.set $ran)
    (start $init))`);
  const exports = instantiate(prepare(bytes).bytes);
  const ran = exports.ran as WebAssembly.Global;
  assert.equal(ran.value, 0, 'instantiation must not run guest code');
  meterOf(exports).fuel.value = 100n;
  fn(exports, METER_EXPORTS.start)();
  assert.equal(ran.value, 1);
  assert.equal(prepare(EMPTY_MODULE).info.hasStart, false);
  assert.equal(instantiate(prepare(EMPTY_MODULE).bytes)[METER_EXPORTS.start], undefined);
});

void test('custom sections other than "name" are dropped', () => {
  const custom = (name: string): number[] => {
    const encoded = [...new TextEncoder().encode(name)];
    return section(0, [...leb(encoded.length), ...encoded, 1, 2, 3]);
  };
  const bytes = Uint8Array.from([
    ...EMPTY_MODULE,
    ...custom('name'),
    ...custom('.debug_info'),
    ...custom('sourceMappingURL'),
  ]);
  const module = new WebAssembly.Module(prepare(bytes).bytes);
  assert.equal(WebAssembly.Module.customSections(module, 'name').length, 1);
  assert.equal(WebAssembly.Module.customSections(module, '.debug_info').length, 0);
  assert.equal(WebAssembly.Module.customSections(module, 'sourceMappingURL').length, 0);
});

void test('invalid options are programming errors (RangeError), not guest errors', () => {
  assert.throws(() => prepare(EMPTY_MODULE, { memoryCeilingPages: 65537 }), RangeError);
  assert.throws(() => prepare(EMPTY_MODULE, { stackBudget: 0 }), RangeError);
  assert.throws(
    () => prepare(EMPTY_MODULE, { costs: { ...prepareCosts(), byInstruction: { 'no.such': 1 } } }),
    RangeError,
  );
  assert.throws(
    () => prepare(EMPTY_MODULE, { costs: { ...prepareCosts(), memoryBytesPerUnit: 3 } }),
    RangeError,
  );
});

function prepareCosts(): {
  instruction: number;
  byInstruction: Record<string, number>;
  memoryGrowPerPage: number;
  memoryBytesPerUnit: number;
  tableElement: number;
} {
  return { instruction: 1, byInstruction: {}, memoryGrowPerPage: 1, memoryBytesPerUnit: 1, tableElement: 1 };
}

void test('works on a view with a byte offset (Node Buffers share pooled memory)', () => {
  const bytes = wat('(module (func (export "f") (result i32) i32.const 42))');
  const pool = new Uint8Array(bytes.length + 13);
  pool.fill(0xee);
  pool.set(bytes, 7);
  const view = pool.subarray(7, 7 + bytes.length);
  const exports = instantiate(prepare(view).bytes);
  meterOf(exports).fuel.value = 10n;
  assert.equal(fn(exports, 'f')(), 42);
  assert.equal(prepare(view).info.sizeBytes, bytes.length);
});
