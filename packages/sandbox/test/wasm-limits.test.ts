// Every ModuleLimits field at its limit (accepted) and one over (invalid_module naming the
// limit), plus the engine limits the meter's additions must stay inside.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModuleLimits } from '../src/limits.ts';
import {
  assertRejects,
  fn,
  instantiate,
  leb,
  limits,
  meterOf,
  moduleWithCode,
  prepare,
  section,
  vec,
  HEADER,
  wat,
} from './wasm-helpers.ts';

/** Asserts `bytes` is accepted with `key` = `count` and refused with `key` = `count - 1`. */
function assertLimit(
  bytes: Uint8Array,
  key: keyof ModuleLimits,
  count: number,
  message: (limit: number) => string,
): void {
  assert.doesNotThrow(
    () => prepare(bytes, { limits: limits({ [key]: count }) }),
    `${key} = ${count} must accept`,
  );
  assertRejects(
    () => prepare(bytes, { limits: limits({ [key]: count - 1 }) }),
    'invalid_module',
    message(count - 1),
  );
}

const repeat = (n: number, item: (i: number) => string): string =>
  Array.from({ length: n }, (_, i) => item(i)).join('\n');

void test('maxModuleBytes', () => {
  const bytes = wat('(module (func (export "f")))');
  assertLimit(
    bytes,
    'maxModuleBytes',
    bytes.length,
    (l) => `module is ${bytes.length} bytes; limit maxModuleBytes is ${l}`,
  );
});

void test('maxFunctions counts imported and defined functions', () => {
  const bytes = wat(`(module
    (import "env" "a" (func)) (import "env" "b" (func))
    ${repeat(3, () => '(func)')})`);
  assertLimit(bytes, 'maxFunctions', 5, (l) => `module has 5 functions; limit maxFunctions is ${l}`);
  const onlyImports = wat(`(module ${repeat(3, (i) => `(import "env" "f${i}" (func))`)})`);
  assertLimit(onlyImports, 'maxFunctions', 3, (l) => `module has 3 functions; limit maxFunctions is ${l}`);
});

void test('maxGlobals counts imported and defined globals', () => {
  const bytes = wat(
    `(module (import "env" "g" (global i32)) ${repeat(2, () => '(global i32 (i32.const 0))')})`,
  );
  assertLimit(bytes, 'maxGlobals', 3, (l) => `module has 3 globals; limit maxGlobals is ${l}`);
});

void test('maxTables', () => {
  const bytes = wat(`(module ${repeat(3, () => '(table 1 funcref)')})`);
  assertLimit(bytes, 'maxTables', 3, (l) => `module has 3 tables; limit maxTables is ${l}`);
});

void test('maxTableElements bounds the initial size and clamps the maximum table.grow can reach', () => {
  const bytes = wat('(module (table 1 funcref) (table 10 externref))');
  assertLimit(
    bytes,
    'maxTableElements',
    10,
    (l) => `table 1 has 10 initial elements; limit maxTableElements is ${l}`,
  );

  const grow = wat(`(module (table $t 1 1000 funcref)
    (func (export "grow") (param i32) (result i32) ref.null func local.get 0 table.grow $t))`);
  const exports = instantiate(prepare(grow, { limits: limits({ maxTableElements: 10 }) }).bytes);
  meterOf(exports).fuel.value = 1000n;
  assert.equal(fn(exports, 'grow')(9), 1, 'growing to exactly the limit succeeds');
  assert.equal(fn(exports, 'grow')(1), -1, 'one element past the limit fails');
});

void test('maxDataSegments (data section and data count section)', () => {
  const bytes = wat(`(module (memory 1) ${repeat(3, () => '(data (i32.const 0) "x")')})`);
  assertLimit(
    bytes,
    'maxDataSegments',
    3,
    (l) => `module has 3 data segments; limit maxDataSegments is ${l}`,
  );
  // With memory.init the module carries a data count section, checked first.
  const counted = wat(`(module (memory 1) ${repeat(3, (i) => `(data $d${i} "x")`)}
    (func i32.const 0 i32.const 0 i32.const 1 memory.init $d0))`);
  assertLimit(
    counted,
    'maxDataSegments',
    3,
    (l) => `module has 3 data segments; limit maxDataSegments is ${l}`,
  );
});

void test('maxElementSegments', () => {
  const bytes = wat(`(module (table 4 funcref) (func $f) ${repeat(3, () => '(elem (i32.const 0) $f)')})`);
  assertLimit(
    bytes,
    'maxElementSegments',
    3,
    (l) => `module has 3 element segments; limit maxElementSegments is ${l}`,
  );
});

void test('maxImports', () => {
  const bytes = wat(
    '(module (import "env" "a" (func)) (import "env" "b" (func)) (import "env" "c" (global i32)))',
  );
  assertLimit(bytes, 'maxImports', 3, (l) => `module has 3 imports; limit maxImports is ${l}`);
});

void test('maxExports', () => {
  const bytes = wat(`(module (func $f) ${repeat(3, (i) => `(export "e${i}" (func $f))`)})`);
  assertLimit(bytes, 'maxExports', 3, (l) => `module has 3 exports; limit maxExports is ${l}`);
});

void test('maxTypes', () => {
  const bytes = wat('(module (type (func)) (type (func (param i32))) (type (func (param i64))))');
  assertLimit(bytes, 'maxTypes', 3, (l) => `module has 3 types; limit maxTypes is ${l}`);
});

void test('maxLocalsPerFunction counts params and locals, function index in module index space', () => {
  const bytes = wat('(module (import "env" "f" (func)) (func (param i32 i64) (local f32 f64 i32)))');
  assertLimit(
    bytes,
    'maxLocalsPerFunction',
    5,
    (l) => `function 1 has 5 params and locals; limit maxLocalsPerFunction is ${l}`,
  );
});

void test('maxLocalsPerFunction refuses a huge local count before allocating anything', () => {
  // One local group declaring 2^32 - 1 locals.
  const body = [0x01, ...leb(0xffffffff), 0x7f, 0x0b];
  const bytes = Uint8Array.from([
    ...HEADER,
    ...section(1, vec([[0x60, 0, 0]])),
    ...section(3, vec([[0]])),
    ...section(10, vec([[...leb(body.length), ...body]])),
  ]);
  assertRejects(
    () => prepare(bytes),
    'invalid_module',
    'function 0 has 4294967295 params and locals; limit maxLocalsPerFunction is 10000',
  );
});

void test('maxFunctionBodyBytes', () => {
  const bytes = moduleWithCode(new Array<number>(10).fill(0x01)); // body: locals byte, 10 nops, end
  assertLimit(
    bytes,
    'maxFunctionBodyBytes',
    12,
    (l) => `function 0 body is 12 bytes; limit maxFunctionBodyBytes is ${l}`,
  );
});

void test('the meter’s two scratch locals must fit the engine’s 50000-local limit', () => {
  const withLocals = (count: number): Uint8Array => {
    const body = [0x01, ...leb(count), 0x7f, 0x0b];
    return Uint8Array.from([
      ...HEADER,
      ...section(1, vec([[0x60, 0, 0]])),
      ...section(3, vec([[0]])),
      ...section(10, vec([[...leb(body.length), ...body]])),
    ]);
  };
  const generous = limits({ maxLocalsPerFunction: 50_000 });
  const atLimit = prepare(withLocals(49_998), { limits: generous });
  assert.doesNotThrow(() => new WebAssembly.Module(atLimit.bytes));
  assertRejects(
    () => prepare(withLocals(49_999), { limits: generous }),
    'invalid_module',
    "function 0 has 49999 params and locals; with the 2 the meter adds this exceeds the engine's limit of 50000",
  );
});

void test('a body that would outgrow the engine’s function size once metered is refused', () => {
  // 400k empty loops: 1.2 MB of code; each loop header gains a charge-and-check sequence.
  const loops = 400_000;
  const code = new Uint8Array(loops * 3);
  for (let i = 0; i < loops; i++) code.set([0x03, 0x40, 0x0b], i * 3);
  const bytes = moduleWithCode([...code]);
  assertRejects(
    () => prepare(bytes),
    'invalid_module',
    /^function 0 grows to \d+ bytes once metered; the engine's limit is 7654321$/,
  );
});
