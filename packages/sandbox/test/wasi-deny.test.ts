import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { WASI_FUNCTIONS } from '@gojinn/abi';
import { runInvocation } from '../src/runtime/index.ts';
import { ERRNO, WASI_SIGNATURES, createPreview1Imports } from '../src/wasi/index.ts';
import { wasiHarness } from './fixtures/wasi-harness.ts';
import { WRITE_HELPER, compileGuest, meterGlobals, specFor, watString } from './fixtures/wat-guest.ts';

const PATH_FUNCTIONS = WASI_FUNCTIONS.filter((name) => name.startsWith('path_'));
const SOCK_FUNCTIONS = WASI_FUNCTIONS.filter((name) => name.startsWith('sock_'));

void describe('the shim is complete', () => {
  void test('all 46 preview1 functions exist, so any toolchain links', () => {
    const imports = createPreview1Imports({ current: null });
    assert.equal(WASI_FUNCTIONS.length, 46);
    assert.deepEqual(Object.keys(imports).sort(), [...WASI_FUNCTIONS].sort());
    for (const name of WASI_FUNCTIONS) assert.equal(typeof imports[name], 'function', name);
  });
});

void describe('no files, no sockets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gojinn-wasi-deny-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const secret = `TOP-SECRET-${randomBytes(8).toString('hex')}`;
  const secretPath = join(dir, 'secret.txt');
  writeFileSync(secretPath, secret);

  void test('every path_* function is ENOTCAPABLE on every descriptor, without reading its arguments', () => {
    const h = wasiHarness();
    h.write(100, secretPath);
    h.setU32(4000, 0xdeadbeef);
    for (const fd of [0, 1, 2, 3, 4, 5]) {
      assert.equal(
        h.call('path_open', fd, 1, 100, secretPath.length, 0, 0xffff_ffff_ffff_ffffn, 0n, 0, 4000),
        ERRNO.NOTCAPABLE,
      );
    }
    assert.equal(h.u32(4000), 0xdeadbeef, 'no descriptor was written back');
    // Pointers far out of bounds still give ENOTCAPABLE, not EFAULT: the path is never read.
    assert.equal(h.call('path_open', 3, 0, -1, -1, 0, 0n, 0n, 0, -1), ERRNO.NOTCAPABLE);
    assert.equal(PATH_FUNCTIONS.length, 10);
    for (const name of PATH_FUNCTIONS) {
      for (const fd of [0, 3]) {
        const args = WASI_SIGNATURES[name].params.map((type, i) =>
          type === 'i64' ? 0n : i === 0 ? fd : 100,
        );
        assert.equal(h.call(name, ...args), ERRNO.NOTCAPABLE, name);
      }
    }
  });

  void test('every sock_* function is ENOTCAPABLE, stdio included', () => {
    const h = wasiHarness({ stdin: 'request bytes' });
    h.iovecs(0, [[100, 64]]);
    assert.equal(SOCK_FUNCTIONS.length, 4);
    for (const fd of [0, 1, 2, 3]) {
      assert.equal(h.call('sock_accept', fd, 0, 200), ERRNO.NOTCAPABLE);
      assert.equal(h.call('sock_recv', fd, 0, 1, 0, 200, 204), ERRNO.NOTCAPABLE);
      assert.equal(h.call('sock_send', fd, 0, 1, 0, 200), ERRNO.NOTCAPABLE);
      assert.equal(h.call('sock_shutdown', fd, 2), ERRNO.NOTCAPABLE);
    }
    assert.equal(h.ctx.stdinRemaining, 'request bytes'.length, 'sock_recv on fd 0 did not consume stdin');
  });

  void test('there are no preopened directories: fd_prestat_get and fd_prestat_dir_name are EBADF for every fd', () => {
    const h = wasiHarness();
    for (const fd of [0, 1, 2, 3, 4, 100]) {
      assert.equal(h.call('fd_prestat_get', fd, 100), ERRNO.BADF);
      assert.equal(h.call('fd_prestat_dir_name', fd, 100, 64), ERRNO.BADF);
    }
  });

  void test('a guest that tries to open and read a real file on disk gets nothing of it', () => {
    const path = Buffer.from(secretPath);
    const prefix = Buffer.from('{"status":200,"body":"');
    // Tries path_open through descriptors 0..15 with the absolute path, then fd_read and sock_recv on
    // stdin, on whatever descriptor path_open might have returned and on descriptors 3..15;
    // everything read goes into the body.
    const wat = `(module
      (import "wasi_snapshot_preview1" "path_open"
        (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "sock_recv" (func $sock_recv (param i32 i32 i32 i32 i32 i32) (result i32)))
      ${WRITE_HELPER}
      (memory (export "memory") 1)
      ${meterGlobals()}
      (data (i32.const 1024) "${watString(prefix)}")
      (data (i32.const 1100) "\\22}")
      (data (i32.const 2048) "${watString(path)}")
      (func $drain (param $fd i32) (local $n i32)
        (i32.store (i32.const 16) (i32.const 8192))
        (i32.store (i32.const 20) (i32.const 4096))
        (if (i32.eqz (call $fd_read (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 24)))
          (then (drop (call $write (i32.const 1) (i32.const 8192) (i32.load (i32.const 24))))))
        (if (i32.eqz (call $sock_recv (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 0) (i32.const 24) (i32.const 28)))
          (then (drop (call $write (i32.const 1) (i32.const 8192) (i32.load (i32.const 24)))))))
      (func (export "_start") (local $fd i32)
        (drop (call $write (i32.const 1) (i32.const 1024) (i32.const ${prefix.byteLength})))
        (i32.store (i32.const 3000) (i32.const 3))
        (local.set $fd (i32.const 0))
        (loop $open
          (drop (call $path_open (local.get $fd) (i32.const 1) (i32.const 2048) (i32.const ${path.byteLength})
            (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 3000)))
          (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
          (br_if $open (i32.lt_u (local.get $fd) (i32.const 16))))
        (call $drain (i32.const 0))
        (call $drain (i32.load (i32.const 3000)))
        (local.set $fd (i32.const 3))
        (loop $read
          (call $drain (local.get $fd))
          (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
          (br_if $read (i32.lt_u (local.get $fd) (i32.const 16))))
        (drop (call $write (i32.const 1) (i32.const 1100) (i32.const 2)))))`;
    const guest = compileGuest(wat);
    // stdin is drained the same way: the positive control that reading and echoing works.
    const outcome = runInvocation(guest.module, guest.info, specFor({ stdin: 'visible' }));
    assert.equal(outcome.error, undefined);
    assert.deepEqual(outcome.response, { status: 200, headers: {}, body: 'visible' });
    assert.ok(!Buffer.from(outcome.stderr).toString().includes(secret));
  });
});

void describe('arguments and environment', () => {
  void test('argv is exactly one argument, "gojinn-guest" unless the invocation names the program', () => {
    const h = wasiHarness();
    assert.equal(h.call('args_sizes_get', 100, 104), ERRNO.SUCCESS);
    assert.equal(h.u32(100), 1);
    assert.equal(h.u32(104), 'gojinn-guest'.length + 1);
    assert.equal(h.call('args_get', 200, 300), ERRNO.SUCCESS);
    assert.equal(h.u32(200), 300, 'argv[0] points into the buffer');
    assert.equal(h.read(300, 13).toString('latin1'), 'gojinn-guest\0');

    const named = wasiHarness({ programName: 'hello-wörld' });
    assert.equal(named.call('args_sizes_get', 100, 104), ERRNO.SUCCESS);
    assert.equal(named.u32(104), Buffer.byteLength('hello-wörld') + 1, 'size in UTF-8 bytes, with the NUL');
    assert.equal(named.call('args_get', 200, 300), ERRNO.SUCCESS);
    assert.equal(named.read(300, named.u32(104)).toString('utf8'), 'hello-wörld\0');
  });

  void test('the environment is empty', () => {
    const h = wasiHarness();
    h.setU32(100, 7);
    h.setU32(104, 7);
    assert.equal(h.call('environ_sizes_get', 100, 104), ERRNO.SUCCESS);
    assert.equal(h.u32(100), 0);
    assert.equal(h.u32(104), 0);
    h.setU32(200, 0xabcdef);
    assert.equal(h.call('environ_get', 200, 300), ERRNO.SUCCESS);
    assert.equal(h.u32(200), 0xabcdef, 'nothing written');
  });

  void test('proc_raise is ENOSYS and sched_yield succeeds', () => {
    const h = wasiHarness();
    assert.equal(h.call('proc_raise', 6), ERRNO.NOSYS);
    assert.equal(h.call('sched_yield'), ERRNO.SUCCESS);
    assert.equal(h.ctx.halt, null);
  });
});
