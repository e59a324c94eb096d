/** Imported WASI and gojinn functions must have exactly the host's signature (invalid_module otherwise). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import { DEFAULT_MODULE_LIMITS } from '../src/limits.ts';
import { prepareWasm } from '../src/wasm/index.ts';
import { wat } from './wasm-helpers.ts';

function prepare(imports: string): unknown {
  try {
    return prepareWasm(wat(`(module ${imports} (memory (export "memory") 1) (func (export "_start")))`), {
      limits: DEFAULT_MODULE_LIMITS,
      memoryCeilingPages: 16,
    });
  } catch (error) {
    return error;
  }
}

void test('the right signatures are accepted', () => {
  const ok = prepare(`
    (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
    (import "gojinn" "log" (func (param i32 i32 i32) (result i32)))
    (import "gojinn" "kv_get" (func (param i32 i32 i32 i32) (result i32)))`);
  assert.ok(!(ok instanceof Error), String(ok));
});

for (const [label, imports, expected] of [
  [
    'WASI function with too few params',
    '(import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))',
    /import "wasi_snapshot_preview1"\."fd_write" has type \(i32\) -> \(i32\); the host provides \(i32, i32, i32, i32\) -> \(i32\)/,
  ],
  [
    'WASI function with i32 where the host takes i64',
    '(import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i32 i32) (result i32)))',
    /clock_time_get/,
  ],
  [
    'WASI function with a result the host does not return',
    '(import "wasi_snapshot_preview1" "proc_exit" (func (param i32) (result i32)))',
    /proc_exit.*\(i32\) -> \(i32\); the host provides \(i32\) -> \(\)/,
  ],
  [
    'gojinn function with a float param',
    '(import "gojinn" "kv_get" (func (param f64 i32 i32 i32) (result i32)))',
    /f64/,
  ],
] as const) {
  void test(`refused: ${label}`, () => {
    const error = prepare(imports);
    assert.ok(error instanceof GojinnError, String(error));
    assert.equal(error.code, 'invalid_module');
    assert.match(error.message, expected);
  });
}

void test('unknown names are left to the linker (capability_denied there)', () => {
  const ok = prepare('(import "env" "foo" (func (param f64))) (import "gojinn" "no_such" (func))');
  assert.ok(!(ok instanceof Error), String(ok));
});
