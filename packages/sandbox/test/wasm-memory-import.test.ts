/**
 * The rewriter's `importMemory`: the guest's memory definition becomes an import of
 * gojinn:runtime.memory with the same limits (the maximum clamped), carried again in the
 * gojinn:memory custom section; nothing else about the module changes (function indices, data
 * segments, exports, memory instructions, ModuleInfo).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { importsWithMemory, linkPlanFor } from '../src/runtime/index.ts';
import {
  RUNTIME_IMPORT_MODULE,
  RUNTIME_MEMORY_IMPORT,
  RUNTIME_MEMORY_SECTION,
  readMemoryShape,
} from '../src/wasm/index.ts';
import { ByteWriter } from '../src/wasm/writer.ts';
import { fn, meterOf, prepare, wat, type Exports } from './wasm-helpers.ts';

const FUEL = 1_000_000n;

/** Instantiates prepared bytes that import their memory, with `memory` and `imports`. */
function instantiateImporting(
  bytes: Uint8Array,
  memory: WebAssembly.Memory,
  imports: WebAssembly.Imports = {},
): Exports {
  const module = new WebAssembly.Module(bytes);
  const exports = new WebAssembly.Instance(module, {
    ...imports,
    [RUNTIME_IMPORT_MODULE]: { [RUNTIME_MEMORY_IMPORT]: memory },
  }).exports as Exports;
  meterOf(exports).fuel.value = FUEL;
  return exports;
}

function instantiateDefining(bytes: Uint8Array, imports: WebAssembly.Imports = {}): Exports {
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports as Exports;
  meterOf(exports).fuel.value = FUEL;
  return exports;
}

/** `bytes` with a custom section appended. */
function withCustomSection(bytes: Uint8Array, name: string, payload: Uint8Array): Uint8Array {
  const body = new ByteWriter();
  body.name(name);
  body.bytes(payload);
  const out = new ByteWriter();
  out.bytes(bytes);
  out.u8(0);
  out.u32(body.length);
  out.bytes(body.view());
  return out.toBytes();
}

const CALLS = wat(`(module
  (import "env" "first" (func $first (result i32)))
  (import "env" "second" (func $second (result i32)))
  (memory (export "memory") 2 6)
  (data (i32.const 40) "data segment")
  (func (export "which") (result i32) (i32.add (call $first) (i32.mul (call $second) (i32.const 10))))
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))`);
const ENV = { env: { first: () => 1, second: () => 2 } };

void test('the memory becomes the last import, with the same initial pages and the clamped maximum', () => {
  const prepared = prepare(CALLS, { importMemory: true, memoryCeilingPages: 4 });
  const module = new WebAssembly.Module(prepared.bytes);
  assert.deepEqual(WebAssembly.Module.imports(module), [
    { module: 'env', name: 'first', kind: 'function' },
    { module: 'env', name: 'second', kind: 'function' },
    { module: RUNTIME_IMPORT_MODULE, name: RUNTIME_MEMORY_IMPORT, kind: 'memory' },
  ]);
  assert.deepEqual(readMemoryShape(module), { initialPages: 2, maxPages: 4 });
  assert.equal(
    WebAssembly.Module.exports(module).find((e) => e.name === 'memory')?.kind,
    'memory',
    'the guest still exports its memory',
  );
  // ModuleInfo is the guest's: the runtime's import is not one of its imports.
  const { preparedSizeBytes, ...info } = prepared.info;
  const { preparedSizeBytes: definingSize, ...definingInfo } = prepare(CALLS, { memoryCeilingPages: 4 }).info;
  assert.deepEqual(info, definingInfo);
  assert.equal(preparedSizeBytes, new Uint8Array(prepared.bytes).byteLength);
  assert.ok(preparedSizeBytes > definingSize, 'the import and the section add a few bytes');
  assert.deepEqual(prepared.info.memory, { initialPages: 2, maxPages: 4 });
});

void test('function indices, data segments and the exported memory are those of the defining form', () => {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 4 });
  const importing = instantiateImporting(
    prepare(CALLS, { importMemory: true, memoryCeilingPages: 4 }).bytes,
    memory,
    ENV,
  );
  const defining = instantiateDefining(prepare(CALLS, { memoryCeilingPages: 4 }).bytes, ENV);
  assert.equal(fn(importing, 'which')(), 21, 'calls still reach first and second');
  assert.equal(fn(importing, 'which')(), fn(defining, 'which')());
  assert.equal(importing.memory, memory, 'the exported memory is the one provided');
  const text = Buffer.from('data segment');
  assert.deepEqual(Buffer.from(memory.buffer, 40, text.length), text);
  for (const at of [0, 39, 40, 51, 52, 131071]) {
    assert.equal(fn(importing, 'peek')(at), fn(defining, 'peek')(at), `byte ${at}`);
  }
});

void test('a module without an import section gets one; a module without memory gets nothing', () => {
  const lone = wat('(module (memory (export "memory") 1 1) (func (export "size") (result i32) memory.size))');
  const prepared = prepare(lone, { importMemory: true });
  const module = new WebAssembly.Module(prepared.bytes);
  assert.deepEqual(WebAssembly.Module.imports(module), [
    { module: RUNTIME_IMPORT_MODULE, name: RUNTIME_MEMORY_IMPORT, kind: 'memory' },
  ]);
  assert.deepEqual(readMemoryShape(module), { initialPages: 1, maxPages: 1 });
  const exports = instantiateImporting(prepared.bytes, new WebAssembly.Memory({ initial: 1, maximum: 1 }));
  assert.equal(fn(exports, 'size')(), 1);

  const memoryless = wat('(module (func (export "f")))');
  assert.deepEqual(prepare(memoryless, { importMemory: true }).bytes, prepare(memoryless).bytes);
});

void test('memory instructions behave the same on the imported memory', () => {
  const program = wat(`(module
    (memory (export "memory") 1 3)
    (data $passive "passive bytes")
    (func (export "run") (result i64)
      (local $acc i64)
      (i64.store (i32.const 8) (i64.const 0x1122334455667788))
      (memory.fill (i32.const 100) (i32.const 0x5a) (i32.const 50))
      (memory.copy (i32.const 200) (i32.const 8) (i32.const 8))
      (memory.init $passive (i32.const 300) (i32.const 0) (i32.const 13))
      (data.drop $passive)
      (local.set $acc (i64.load (i32.const 200)))
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (i32.load8_u (i32.const 149)))))
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (i32.load (i32.const 300)))))
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_s (memory.grow (i32.const 2)))))
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_s (memory.grow (i32.const 1)))))
      (i64.add (local.get $acc) (i64.extend_i32_u (memory.size)))))`);
  const importing = instantiateImporting(
    prepare(program, { importMemory: true }).bytes,
    new WebAssembly.Memory({ initial: 1, maximum: 3 }),
  );
  const defining = instantiateDefining(prepare(program).bytes);
  const result = fn(importing, 'run')();
  assert.equal(result, fn(defining, 'run')());
  assert.deepEqual(
    new Uint8Array((importing.memory as WebAssembly.Memory).buffer),
    new Uint8Array((defining.memory as WebAssembly.Memory).buffer),
  );
});

void test('a guest cannot supply the gojinn:memory section: its own is dropped', () => {
  const forged = new ByteWriter();
  forged.u32(1);
  forged.u32(65536);
  const bytes = withCustomSection(
    wat('(module (memory (export "memory") 1 2))'),
    RUNTIME_MEMORY_SECTION,
    forged.toBytes(),
  );
  assert.equal(
    WebAssembly.Module.customSections(new WebAssembly.Module(bytes), RUNTIME_MEMORY_SECTION).length,
    1,
  );
  const defining = new WebAssembly.Module(prepare(bytes).bytes);
  assert.equal(WebAssembly.Module.customSections(defining, RUNTIME_MEMORY_SECTION).length, 0);
  const importing = new WebAssembly.Module(prepare(bytes, { importMemory: true }).bytes);
  assert.equal(WebAssembly.Module.customSections(importing, RUNTIME_MEMORY_SECTION).length, 1);
  assert.deepEqual(readMemoryShape(importing), { initialPages: 1, maxPages: 2 });
});

void test('the shared import object gives every instantiation its own new memory', () => {
  const prepared = prepare(CALLS, { importMemory: true, memoryCeilingPages: 4 });
  const module = new WebAssembly.Module(prepared.bytes);
  const plan = linkPlanFor(module);
  assert.deepEqual(plan.memoryShape, { initialPages: 2, maxPages: 4 });
  const imports = { ...plan.importObject, ...ENV };
  const a = new WebAssembly.Instance(module, imports).exports.memory as WebAssembly.Memory;
  const b = new WebAssembly.Instance(module, imports).exports.memory as WebAssembly.Memory;
  assert.notEqual(a, b);
  assert.equal(a.buffer.byteLength, 2 * 65536);
  assert.equal(a.grow(2), 2);
  assert.throws(() => a.grow(1), RangeError, 'the maximum is the clamped one');
  // importsWithMemory: a new object each time, the plan's own left untouched.
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 4 });
  const once = importsWithMemory(plan, memory);
  assert.notEqual(once, plan.importObject);
  assert.equal(once[RUNTIME_IMPORT_MODULE]?.[RUNTIME_MEMORY_IMPORT], memory);
  assert.notEqual(plan.importObject[RUNTIME_IMPORT_MODULE]?.[RUNTIME_MEMORY_IMPORT], memory);
});

void test('readMemoryShape refuses a missing, repeated or malformed section', () => {
  const importing = (extra: (bytes: Uint8Array) => Uint8Array): WebAssembly.Module =>
    new WebAssembly.Module(
      extra(wat('(module (import "gojinn:runtime" "memory" (memory 1 2)) (export "memory" (memory 0)))')),
    );
  const shape = (initial: number, max: number, trailing = false): Uint8Array => {
    const w = new ByteWriter();
    w.u32(initial);
    w.u32(max);
    if (trailing) w.u8(0);
    return w.toBytes();
  };
  assert.throws(() => readMemoryShape(importing((b) => b)), {
    code: 'invalid_module',
    message:
      'module imports gojinn:runtime.memory but has 0 "gojinn:memory" sections giving its limits; exactly one is required',
  });
  const twice = importing((b) =>
    withCustomSection(
      withCustomSection(b, RUNTIME_MEMORY_SECTION, shape(1, 2)),
      RUNTIME_MEMORY_SECTION,
      shape(1, 2),
    ),
  );
  assert.throws(() => readMemoryShape(twice), { code: 'invalid_module', message: /has 2 "gojinn:memory"/ });
  for (const bad of [shape(2, 1), shape(1, 65537), shape(1, 2, true), Uint8Array.of(0x80)]) {
    assert.throws(
      () => readMemoryShape(importing((b) => withCustomSection(b, RUNTIME_MEMORY_SECTION, bad))),
      {
        code: 'invalid_module',
      },
    );
  }
  assert.deepEqual(
    readMemoryShape(importing((b) => withCustomSection(b, RUNTIME_MEMORY_SECTION, shape(1, 65536)))),
    { initialPages: 1, maxPages: 65536 },
    'at the limit',
  );
});
