import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Capability } from '@gojinn/abi';
import { runInvocation, type HostImports, type InvocationOutcome } from '../src/runtime/index.ts';
import { WRITE_HELPER, compileGuest, meterGlobals, specFor, watString } from './fixtures/wat-guest.ts';

const OK_RESPONSE = '{"status":200,"body":"ok"}';

/** A guest importing `imports` (WAT import lines) that responds OK_RESPONSE; `start` may call them. */
function importing(imports: string, body = '', extra = ''): string {
  return `(module
  ${imports}
  ${WRITE_HELPER}
  (memory (export "memory") 1)
  ${meterGlobals()}
  (data (i32.const 1024) "${watString(Buffer.from(OK_RESPONSE))}")
  ${extra}
  (func (export "_start")
    ${body}
    (drop (call $write (i32.const 1) (i32.const 1024) (i32.const ${OK_RESPONSE.length})))))`;
}

const kvGet = '(import "gojinn" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i32)))';
const secretGet = '(import "gojinn" "secret_get" (func $secret_get (param i32 i32 i32 i32) (result i32)))';

function run(wat: string, granted: readonly Capability[] = [], host?: HostImports): InvocationOutcome {
  const compiled = compileGuest(wat);
  return runInvocation(compiled.module, compiled.info, specFor({ granted }), host);
}

function assertDenied(outcome: InvocationOutcome, message: string): void {
  assert.equal(outcome.ok, false);
  assert.deepEqual(outcome.error, { code: 'capability_denied', message });
  assert.equal(outcome.fuelUsed, 0n);
}

void describe('capability checks at link time', () => {
  void test('a gojinn import whose capability is not granted is denied, naming the import and the capability', () => {
    assertDenied(
      run(importing(kvGet)),
      'import gojinn.kv_get needs capability kv.read, which is not granted',
    );
    assertDenied(
      run(importing(kvGet), ['kv.write', 'net.http']),
      'import gojinn.kv_get needs capability kv.read, which is not granted',
    );
  });

  void test('granted but not offered by the embedder is denied too', () => {
    assertDenied(
      run(importing(kvGet), ['kv.read']),
      'import gojinn.kv_get needs capability kv.read, which is granted but not provided to this invocation',
    );
    assertDenied(
      run(importing(kvGet), ['kv.read'], { kv_set: () => 0 }),
      'import gojinn.kv_get needs capability kv.read, which is granted but not provided to this invocation',
    );
  });

  void test('granted and provided: the guest links, runs and its calls reach the host function', () => {
    let calls = 0;
    const outcome = run(
      importing(kvGet, '(drop (call $kv_get (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))'),
      ['kv.read'],
      {
        kv_get: () => {
          calls++;
          return 0;
        },
      },
    );
    assert.equal(outcome.error, undefined);
    assert.equal(calls, 1);
  });

  void test('the first refused import is reported, in module order', () => {
    assertDenied(
      run(importing(`${secretGet} ${kvGet}`), ['kv.read'], { kv_get: () => 0 }),
      'import gojinn.secret_get needs capability secrets.read, which is not granted',
    );
  });

  void test('imports Gojinn does not provide are denied whatever is granted', () => {
    const all: Capability[] = ['kv.read', 'kv.write', 'db.query', 'net.http', 'secrets.read', 'debug.enable'];
    assertDenied(
      run(importing('(import "env" "foo" (func))'), all),
      'import env.foo is not a Gojinn host function',
    );
    assertDenied(
      run(importing('(import "gojinn" "open_file" (func))'), all),
      'import gojinn.open_file is not a Gojinn host function',
    );
    assertDenied(
      run(importing('(import "gojinn" "__proto__" (func))'), all),
      'import gojinn.__proto__ is not a Gojinn host function',
    );
    assertDenied(
      run(importing('(import "wasi_snapshot_preview1" "fd_mmap" (func))'), all),
      'import wasi_snapshot_preview1.fd_mmap is not a WASI preview1 function',
    );
    assertDenied(
      run(importing('(import "wasi_unstable" "fd_write" (func))'), all),
      'import wasi_unstable.fd_write is not a Gojinn host function',
    );
  });

  void test('non-function imports are invalid_module', () => {
    for (const [imp, kind] of [
      ['(import "env" "g" (global i32))', 'global'],
      ['(import "env" "t" (table 1 funcref))', 'table'],
      ['(import "gojinn" "log" (global i32))', 'global'],
    ] as const) {
      const outcome = run(importing(imp));
      assert.deepEqual(outcome.error, {
        code: 'invalid_module',
        message: `import ${imp.split('"')[1]}.${imp.split('"')[3]} is a ${kind}; a guest may import only functions`,
      });
    }
    const importedMemory = `(module (import "env" "memory" (memory 1)) ${meterGlobals()} (func (export "_start")))`;
    const compiled = compileGuest(importedMemory);
    const outcome = runInvocation(compiled.module, { memory: { initialPages: 1 } }, specFor());
    assert.equal(outcome.error?.code, 'invalid_module');
  });

  void test('a module that cannot link is never instantiated: its start section does not run', () => {
    // If the runtime instantiated before refusing, this start function would call into the shim
    // outside an invocation and the outcome would be `internal`, not the refusal.
    const wat = importing(
      `${secretGet} (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))`,
      '',
      '(func $early (call $proc_exit (i32.const 9))) (start $early)',
    );
    assertDenied(run(wat), 'import gojinn.secret_get needs capability secrets.read, which is not granted');
  });

  void test('gojinn.log links without any grant and without the embedder providing it', () => {
    const wat = importing(
      '(import "gojinn" "log" (func $log (param i32 i32 i32) (result i32)))',
      '(drop (call $log (i32.const 1) (i32.const 2048) (i32.const 5)))',
      '(data (i32.const 2048) "hello")',
    );
    const outcome = run(wat);
    assert.equal(outcome.error, undefined);
    assert.equal(Buffer.from(outcome.stderr).toString(), 'info: hello\n');
  });

  void test('the verdict is per invocation: the same compiled module is denied, then granted', () => {
    const compiled = compileGuest(importing(kvGet));
    const denied = runInvocation(compiled.module, compiled.info, specFor({ granted: [] }), {
      kv_get: () => 0,
    });
    assert.equal(denied.error?.code, 'capability_denied');
    const granted = runInvocation(compiled.module, compiled.info, specFor({ granted: ['kv.read'] }), {
      kv_get: () => 0,
    });
    assert.equal(granted.ok, true);
    const deniedAgain = runInvocation(compiled.module, compiled.info, specFor({ granted: [] }), {
      kv_get: () => 0,
    });
    assert.equal(deniedAgain.error?.code, 'capability_denied');
  });
});
