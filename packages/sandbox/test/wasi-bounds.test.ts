import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { WASI_FUNCTIONS, type WasiFunctionName } from '@gojinn/abi';
import { ERRNO, GuestHalt, NS_PER_FUEL, WASI_CALL_FUEL, WASI_SIGNATURES } from '../src/wasi/index.ts';
import { wasiHarness } from './fixtures/wasi-harness.ts';

const PAGE = 65536;
/** Pointers every check must refuse in a one-page memory: past the end, straddling it, and "negative" i32s. */
const BAD_POINTERS = [PAGE, PAGE - 3, 0x7fffffff, -1, -8, 0x80000000 | 0];

void describe('every pointer the shim dereferences is bounds-checked: EFAULT, never a host exception', () => {
  void test('fd_write: iovec array, iovec buffers and the result pointer', () => {
    const h = wasiHarness();
    h.iovecs(0, [[100, 4]]);
    for (const bad of BAD_POINTERS) {
      assert.equal(h.call('fd_write', 1, bad, 1, 16), ERRNO.FAULT, `iovs ${bad}`);
      assert.equal(h.call('fd_write', 1, 0, 1, bad), ERRNO.FAULT, `nwritten ${bad}`);
    }
    h.iovecs(0, [
      [100, 4],
      [PAGE - 2, 3], // straddles the end
    ]);
    assert.equal(h.call('fd_write', 1, 0, 2, 16), ERRNO.FAULT);
    h.iovecs(0, [[0xffff_fffc, 8]]); // wraps past 2^32
    assert.equal(h.call('fd_write', 1, 0, 1, 16), ERRNO.FAULT);
    // A huge count whose array would run off the end is refused before any entry is read.
    assert.equal(h.call('fd_write', 1, PAGE - 8, 2, 16), ERRNO.FAULT);
    assert.equal(
      h.ctx.stdout.length,
      0,
      'a faulting call writes nothing, not even the valid iovecs before the bad one',
    );
  });

  void test('an iovec array placed so that its offsets wrap around 2^32 is refused', () => {
    const h = wasiHarness();
    // iovs = 0xfffffff8 as a signed i32: entries 0 and 1 would be at 2^32-8 and (wrapping) 0.
    assert.equal(h.call('fd_write', 1, -8, 2, 16), ERRNO.FAULT);
    assert.equal(h.call('fd_read', 0, -8, 2, 16), ERRNO.FAULT);
  });

  void test('fd_read: a faulting destination leaves stdin unread', () => {
    const h = wasiHarness({ stdin: 'abc' });
    h.iovecs(0, [
      [100, 1],
      [PAGE, 1],
    ]);
    assert.equal(h.call('fd_read', 0, 0, 2, 16), ERRNO.FAULT);
    assert.equal(h.ctx.stdinRemaining, 3);
    h.iovecs(0, [[100, 3]]);
    assert.equal(h.call('fd_read', 0, 0, 1, PAGE - 2), ERRNO.FAULT);
    assert.equal(h.ctx.stdinRemaining, 3);
  });

  void test('args, environ, clocks, random, fdstat, filestat and poll_oneoff fault on out-of-bounds pointers', () => {
    const h = wasiHarness();
    for (const bad of BAD_POINTERS) {
      assert.equal(h.call('args_sizes_get', bad, 8), ERRNO.FAULT);
      assert.equal(h.call('args_sizes_get', 8, bad), ERRNO.FAULT);
      assert.equal(h.call('args_get', bad, 100), ERRNO.FAULT);
      assert.equal(h.call('args_get', 100, bad), ERRNO.FAULT);
      assert.equal(h.call('environ_sizes_get', bad, 8), ERRNO.FAULT);
      assert.equal(h.call('clock_time_get', 0, 0n, bad), ERRNO.FAULT);
      assert.equal(h.call('clock_res_get', 1, bad), ERRNO.FAULT);
      assert.equal(h.call('random_get', bad, 4), ERRNO.FAULT);
      assert.equal(h.call('fd_fdstat_get', 1, bad), ERRNO.FAULT);
      assert.equal(h.call('fd_filestat_get', 1, bad), ERRNO.FAULT);
      assert.equal(h.call('poll_oneoff', bad, 1000, 1, 2000), ERRNO.FAULT);
      assert.equal(h.call('poll_oneoff', 0, bad, 1, 2000), ERRNO.FAULT);
      assert.equal(h.call('poll_oneoff', 0, 1000, 1, bad), ERRNO.FAULT);
    }
    assert.equal(h.call('random_get', PAGE - 4, 5), ERRNO.FAULT, 'one byte past the end');
    assert.equal(h.call('random_get', PAGE - 4, 4), ERRNO.SUCCESS, 'exactly to the end');
    assert.equal(h.call('random_get', PAGE, 0), ERRNO.SUCCESS, 'an empty range at the end');
    assert.equal(h.call('args_get', 100, PAGE - 5), ERRNO.FAULT, '"gojinn-guest\\0" does not fit');
  });

  void test('a faulting clock read does not advance the clock', () => {
    const reference = wasiHarness();
    assert.equal(reference.call('clock_time_get', 1, 0n, 100), ERRNO.SUCCESS);
    const h = wasiHarness();
    assert.equal(h.call('clock_time_get', 1, 0n, PAGE), ERRNO.FAULT);
    assert.equal(h.call('clock_time_get', 1, 0n, 100), ERRNO.SUCCESS);
    // The faulting call paid its base fee (time follows fuel) but counted no read step.
    assert.equal(h.u64(100) - reference.u64(100), WASI_CALL_FUEL * NS_PER_FUEL);
  });

  void test('bounds follow memory as it grows during the invocation', () => {
    const h = wasiHarness();
    h.iovecs(0, [[PAGE + 10, 4]]);
    assert.equal(h.call('fd_write', 1, 0, 1, 16), ERRNO.FAULT);
    assert.equal(h.grow(1), 1);
    h.write(PAGE + 10, 'more');
    assert.equal(h.call('fd_write', 1, 0, 1, 16), ERRNO.SUCCESS);
    assert.equal(Buffer.from(h.ctx.stdout.view()).toString(), 'more');
    assert.equal(h.call('random_get', 2 * PAGE - 16, 16), ERRNO.SUCCESS);
    assert.equal(h.call('random_get', 2 * PAGE - 16, 17), ERRNO.FAULT);
  });

  void test('property: random pointer and length arguments never escape as a host exception', () => {
    const pointer = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.constantFrom(0, PAGE - 1, PAGE, PAGE + 1, -1),
    );
    const pointerTaking = WASI_FUNCTIONS.filter((name) => name !== 'proc_exit');
    fc.assert(
      fc.property(
        fc.constantFrom(...pointerTaking),
        fc.array(pointer, { minLength: 9, maxLength: 9 }),
        (name, raw) => {
          const h = wasiHarness({ stdin: 'abc', fuel: 10n ** 12n });
          const args = WASI_SIGNATURES[name as WasiFunctionName].params.map((type, i) =>
            type === 'i64' ? BigInt.asUintN(64, BigInt(raw[i] ?? 0)) : (raw[i] ?? 0),
          );
          let errno: number;
          try {
            errno = h.call(name, ...args);
          } catch (error) {
            // Only an orderly halt may unwind: stdout over its limit.
            assert.ok(error instanceof GuestHalt, `${name}(${args.join(', ')}) threw ${String(error)}`);
            return;
          }
          assert.ok(Number.isInteger(errno) && errno >= 0 && errno <= 76, `${name} returned ${errno}`);
        },
      ),
      { numRuns: 500 },
    );
  });
});
