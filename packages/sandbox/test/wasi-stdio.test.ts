import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ERRNO, GuestHalt, MAX_IOVECS, WASI_BYTE_FUEL, WASI_CALL_FUEL } from '../src/wasi/index.ts';
import { wasiHarness } from './fixtures/wasi-harness.ts';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

void describe('fd_write', () => {
  void test('writes the iovecs of one call to stdout in order and reports the byte count', () => {
    const h = wasiHarness();
    h.write(100, 'hello, ');
    h.write(200, 'world');
    h.iovecs(0, [
      [100, 7],
      [200, 5],
    ]);
    assert.equal(h.call('fd_write', 1, 0, 2, 16), ERRNO.SUCCESS);
    assert.equal(h.u32(16), 12);
    assert.equal(text(h.ctx.stdout.view()), 'hello, world');
    assert.equal(h.ctx.stderr.length, 0);
  });

  void test('goes to stderr for fd 2 and keeps stdout and stderr apart', () => {
    const h = wasiHarness();
    h.write(100, 'out');
    h.write(200, 'err');
    h.iovecs(0, [[100, 3]]);
    h.iovecs(8, [[200, 3]]);
    assert.equal(h.call('fd_write', 1, 0, 1, 32), ERRNO.SUCCESS);
    assert.equal(h.call('fd_write', 2, 8, 1, 32), ERRNO.SUCCESS);
    assert.equal(text(h.ctx.stdout.view()), 'out');
    assert.equal(text(h.ctx.stderr.view()), 'err');
  });

  void test('accepts zero iovecs and zero-length iovecs (nothing written, count 0)', () => {
    const h = wasiHarness();
    h.setU32(16, 99);
    assert.equal(h.call('fd_write', 1, 0, 0, 16), ERRNO.SUCCESS);
    assert.equal(h.u32(16), 0);
    h.iovecs(0, [
      [100, 0],
      [65536, 0], // a zero-length buffer exactly at the end of memory is in bounds
    ]);
    assert.equal(h.call('fd_write', 1, 0, 2, 16), ERRNO.SUCCESS);
    assert.equal(h.u32(16), 0);
    assert.equal(h.ctx.stdout.length, 0);
  });

  void test('writes overlapping iovecs twice, as writev does', () => {
    const h = wasiHarness();
    h.write(100, 'ab');
    h.iovecs(0, [
      [100, 2],
      [100, 2],
      [101, 1],
    ]);
    assert.equal(h.call('fd_write', 1, 0, 3, 32), ERRNO.SUCCESS);
    assert.equal(text(h.ctx.stdout.view()), 'ababb');
  });

  void test(`accepts exactly MAX_IOVECS (${MAX_IOVECS}) iovecs and refuses one more with EINVAL`, () => {
    const h = wasiHarness({ maxStdoutBytes: 4096 });
    h.write(60000, 'x');
    const entries = Array.from({ length: MAX_IOVECS + 1 }, () => [60000, 1] as const);
    h.iovecs(0, entries);
    assert.equal(h.call('fd_write', 1, 0, MAX_IOVECS + 1, 50000), ERRNO.INVAL);
    assert.equal(h.ctx.stdout.length, 0);
    assert.equal(h.call('fd_write', 1, 0, MAX_IOVECS, 50000), ERRNO.SUCCESS);
    assert.equal(h.u32(50000), MAX_IOVECS);
    assert.equal(h.ctx.stdout.length, MAX_IOVECS);
  });

  void test('refuses fd 0, closed descriptors and fd 3 and above with EBADF, writing nothing', () => {
    const h = wasiHarness();
    h.write(100, 'x');
    h.iovecs(0, [[100, 1]]);
    for (const fd of [0, 3, 4, 42, 0x7fffffff, -1]) {
      assert.equal(h.call('fd_write', fd, 0, 1, 16), ERRNO.BADF, `fd ${fd}`);
    }
    assert.equal(h.call('fd_close', 1), ERRNO.SUCCESS);
    assert.equal(h.call('fd_write', 1, 0, 1, 16), ERRNO.BADF);
    assert.equal(h.ctx.stdout.length, 0);
    assert.equal(h.call('fd_write', 2, 0, 1, 16), ERRNO.SUCCESS, 'closing stdout leaves stderr open');
  });

  void test('stdout exactly at maxStdoutBytes succeeds; one byte more stops the guest with output_limit', () => {
    const h = wasiHarness({ maxStdoutBytes: 10 });
    h.write(100, '0123456789A');
    h.iovecs(0, [[100, 6]]);
    h.iovecs(8, [[106, 4]]);
    h.iovecs(16, [[110, 1]]);
    assert.equal(h.call('fd_write', 1, 0, 1, 32), ERRNO.SUCCESS);
    assert.equal(h.call('fd_write', 1, 8, 1, 32), ERRNO.SUCCESS);
    assert.equal(h.ctx.stdout.length, 10);
    assert.throws(
      () => h.call('fd_write', 1, 16, 1, 32),
      (e: unknown) => e instanceof GuestHalt && e.reason.kind === 'output_limit',
    );
    assert.deepEqual(h.ctx.halt, { kind: 'output_limit' });
    assert.equal(text(h.ctx.stdout.view()), '0123456789', 'nothing of the failed write is kept');
  });

  void test('a single write larger than the whole stdout limit fails without copying anything', () => {
    const h = wasiHarness({ maxStdoutBytes: 10 });
    h.iovecs(0, [[100, 11]]);
    assert.throws(() => h.call('fd_write', 1, 0, 1, 32), GuestHalt);
    assert.equal(h.ctx.stdout.length, 0);
  });

  void test('stderr keeps exactly maxStderrBytes, drops the rest, flags truncation, and reports the full count', () => {
    const h = wasiHarness({ maxStderrBytes: 8 });
    h.write(100, 'abcdefgh');
    h.write(200, 'ijk');
    h.iovecs(0, [[100, 8]]);
    assert.equal(h.call('fd_write', 2, 0, 1, 32), ERRNO.SUCCESS);
    assert.equal(h.ctx.stderrTruncated, false, 'exactly at the limit is not truncated');
    h.iovecs(0, [[200, 3]]);
    assert.equal(h.call('fd_write', 2, 0, 1, 32), ERRNO.SUCCESS);
    assert.equal(h.u32(32), 3, 'the guest is told everything was written, so it does not retry');
    assert.equal(text(h.ctx.stderr.view()), 'abcdefgh');
    assert.equal(h.ctx.stderrTruncated, true);
    assert.equal(h.ctx.halt, null, 'stderr overflow never stops the guest');
  });

  void test('charges the base fee plus one unit per byte moved (iovec records and data)', () => {
    const h = wasiHarness({ fuel: 10_000n });
    h.write(100, 'hello');
    h.iovecs(0, [[100, 5]]);
    h.call('fd_write', 1, 0, 1, 16);
    assert.equal(h.fuel.used(), WASI_CALL_FUEL + (8n + 5n) * WASI_BYTE_FUEL);
  });
});

void describe('fd_read', () => {
  void test('reads stdin in pieces: partial reads, several iovecs, then 0 at end of input', () => {
    const h = wasiHarness({ stdin: 'abcdefghij' });
    h.iovecs(0, [[100, 4]]);
    assert.equal(h.call('fd_read', 0, 0, 1, 16), ERRNO.SUCCESS);
    assert.equal(h.u32(16), 4);
    assert.equal(h.read(100, 4).toString(), 'abcd');
    h.iovecs(0, [
      [200, 2],
      [300, 0],
      [400, 3],
    ]);
    assert.equal(h.call('fd_read', 0, 0, 3, 16), ERRNO.SUCCESS);
    assert.equal(h.u32(16), 5);
    assert.equal(h.read(200, 2).toString() + h.read(400, 3).toString(), 'efghi');
    h.iovecs(0, [[500, 100]]);
    assert.equal(h.call('fd_read', 0, 0, 1, 16), ERRNO.SUCCESS);
    assert.equal(h.u32(16), 1);
    assert.equal(h.read(500, 1).toString(), 'j');
    assert.equal(h.call('fd_read', 0, 0, 1, 16), ERRNO.SUCCESS);
    assert.equal(h.u32(16), 0, 'end of input');
  });

  void test('does not touch memory past the bytes it read', () => {
    const h = wasiHarness({ stdin: 'ab' });
    h.write(100, 'XXXXXXXX');
    h.iovecs(0, [[100, 8]]);
    assert.equal(h.call('fd_read', 0, 0, 1, 16), ERRNO.SUCCESS);
    assert.equal(h.read(100, 8).toString(), 'abXXXXXX');
  });

  void test('reads nothing from an empty stdin', () => {
    const h = wasiHarness();
    h.iovecs(0, [[100, 8]]);
    h.setU32(16, 7);
    assert.equal(h.call('fd_read', 0, 0, 1, 16), ERRNO.SUCCESS);
    assert.equal(h.u32(16), 0);
  });

  void test('refuses fd 1, fd 2, fd 3+ and a closed stdin with EBADF', () => {
    const h = wasiHarness({ stdin: 'secret-free' });
    h.iovecs(0, [[100, 8]]);
    for (const fd of [1, 2, 3, 9, -5]) assert.equal(h.call('fd_read', fd, 0, 1, 16), ERRNO.BADF, `fd ${fd}`);
    assert.equal(h.call('fd_close', 0), ERRNO.SUCCESS);
    assert.equal(h.call('fd_read', 0, 0, 1, 16), ERRNO.BADF);
    assert.equal(h.call('fd_close', 0), ERRNO.BADF, 'closing twice');
  });

  void test(`refuses more than MAX_IOVECS iovecs with EINVAL`, () => {
    const h = wasiHarness({ stdin: 'x' });
    assert.equal(h.call('fd_read', 0, 0, MAX_IOVECS + 1, 16), ERRNO.INVAL);
  });
});

void describe('descriptor queries on stdio', () => {
  void test('fd_fdstat_get describes 0–2 as unknown-type streams with read or write rights and no seek', () => {
    const h = wasiHarness();
    for (const fd of [0, 1, 2]) {
      h.write(100, new Uint8Array(24).fill(0xee));
      assert.equal(h.call('fd_fdstat_get', fd, 100), ERRNO.SUCCESS);
      const stat = h.read(100, 24);
      assert.equal(stat[0], 0, 'filetype UNKNOWN');
      assert.equal(stat.readUInt16LE(2), 0, 'no fdflags');
      const rights = stat.readBigUInt64LE(8);
      assert.equal((rights >> 1n) & 1n, fd === 0 ? 1n : 0n, 'FD_READ');
      assert.equal((rights >> 6n) & 1n, fd === 0 ? 0n : 1n, 'FD_WRITE');
      assert.equal((rights >> 2n) & 1n, 0n, 'no FD_SEEK');
      assert.equal((rights >> 5n) & 1n, 0n, 'no FD_TELL');
      assert.equal(stat.readBigUInt64LE(16), 0n, 'no inheriting rights');
      assert.equal(stat[1], 0, 'padding zeroed');
    }
    assert.equal(h.call('fd_fdstat_get', 3, 100), ERRNO.BADF);
  });

  void test('fd_filestat_get reports zeros (no device, inode, size or times) for 0–2, EBADF otherwise', () => {
    const h = wasiHarness({ stdin: 'some request' });
    h.write(100, new Uint8Array(64).fill(0xee));
    assert.equal(h.call('fd_filestat_get', 0, 100), ERRNO.SUCCESS);
    assert.deepEqual([...h.read(100, 64)], new Array(64).fill(0));
    assert.equal(h.call('fd_filestat_get', 7, 100), ERRNO.BADF);
  });

  void test('seek, tell, pread, pwrite, advise and allocate on a stream are ESPIPE; EBADF past fd 2', () => {
    const h = wasiHarness();
    for (const fd of [0, 1, 2]) {
      assert.equal(h.call('fd_seek', fd, 0n, 0, 100), ERRNO.SPIPE);
      assert.equal(h.call('fd_tell', fd, 100), ERRNO.SPIPE);
      assert.equal(h.call('fd_pread', fd, 0, 0, 0n, 100), ERRNO.SPIPE);
      assert.equal(h.call('fd_pwrite', fd, 0, 0, 0n, 100), ERRNO.SPIPE);
      assert.equal(h.call('fd_advise', fd, 0n, 0n, 0), ERRNO.SPIPE);
      assert.equal(h.call('fd_allocate', fd, 0n, 1n), ERRNO.SPIPE);
    }
    for (const name of ['fd_tell', 'fd_close', 'fd_sync', 'fd_datasync'] as const) {
      assert.equal(h.call(name, 3, 100), ERRNO.BADF, name);
    }
    assert.equal(h.call('fd_seek', 3, 0n, 0, 100), ERRNO.BADF);
  });

  void test('the remaining fd_* functions answer as documented for stdio', () => {
    const h = wasiHarness();
    assert.equal(h.call('fd_sync', 1), ERRNO.INVAL);
    assert.equal(h.call('fd_datasync', 1), ERRNO.INVAL);
    assert.equal(h.call('fd_fdstat_set_flags', 1, 0), ERRNO.SUCCESS);
    assert.equal(h.call('fd_fdstat_set_flags', 1, 1), ERRNO.NOTSUP);
    assert.equal(h.call('fd_fdstat_set_rights', 1, 0n, 0n), ERRNO.NOTSUP);
    assert.equal(h.call('fd_filestat_set_size', 1, 0n), ERRNO.NOTCAPABLE);
    assert.equal(h.call('fd_filestat_set_times', 1, 0n, 0n, 0), ERRNO.NOTCAPABLE);
    assert.equal(h.call('fd_readdir', 0, 100, 64, 0n, 200), ERRNO.NOTDIR);
    assert.equal(h.call('fd_renumber', 1, 2), ERRNO.NOTSUP);
    assert.equal(h.call('fd_renumber', 1, 5), ERRNO.BADF);
    assert.equal(h.call('fd_fdstat_set_flags', 9, 0), ERRNO.BADF);
  });
});
