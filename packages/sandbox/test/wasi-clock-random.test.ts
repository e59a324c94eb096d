import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  CLOCK_READ_STEP_NS,
  CLOCK_RESOLUTION_NS,
  ERRNO,
  MAX_POLL_SUBSCRIPTIONS,
  MONOTONIC_WINDOW_NS,
  NS_PER_FUEL,
  REALTIME_EPOCH_NS,
  REALTIME_WINDOW_NS,
} from '../src/wasi/index.ts';
import { wasiHarness, type WasiHarness } from './fixtures/wasi-harness.ts';
import { TEST_SEED } from './fixtures/wat-guest.ts';

const OTHER_SEED = 'ff'.repeat(32);
const REALTIME = 0;
const MONOTONIC = 1;
const PROCESS_CPUTIME = 2;

function readClock(h: WasiHarness, id: number): bigint {
  assert.equal(h.call('clock_time_get', id, 1n, 100), ERRNO.SUCCESS);
  return h.u64(100);
}

function randomBytesOf(h: WasiHarness, length: number, at = 1000): Buffer {
  assert.equal(h.call('random_get', at, length), ERRNO.SUCCESS);
  return Buffer.from(h.read(at, length));
}

void describe('virtual clocks', () => {
  void test('the same seed reads the same times; another seed reads other times', () => {
    const a = wasiHarness();
    const b = wasiHarness();
    const c = wasiHarness({ seed: OTHER_SEED });
    const readAll = (h: WasiHarness) =>
      [REALTIME, MONOTONIC, PROCESS_CPUTIME, REALTIME].map((id) => readClock(h, id));
    const first = readAll(a);
    assert.deepEqual(readAll(b), first);
    const other = readAll(c);
    assert.notEqual(other[0], first[0]);
    assert.notEqual(other[1], first[1]);
  });

  void test('realtime starts in the documented year from 2024-01-01; monotonic in its window', () => {
    for (const seed of [TEST_SEED, OTHER_SEED, '00'.repeat(32)]) {
      const h = wasiHarness({ seed });
      const realtime = readClock(h, REALTIME);
      assert.ok(
        realtime >= REALTIME_EPOCH_NS && realtime < REALTIME_EPOCH_NS + REALTIME_WINDOW_NS + 10n ** 9n,
      );
      assert.ok(readClock(h, MONOTONIC) < MONOTONIC_WINDOW_NS + 10n ** 9n);
    }
  });

  void test('time moves with fuel and a fixed step per read, strictly forward', () => {
    const h = wasiHarness();
    const first = readClock(h, MONOTONIC);
    const fuelAfterFirst = h.fuel.used();
    assert.ok(h.fuel.tryCharge(12_345n), 'the guest does some work');
    const second = readClock(h, MONOTONIC);
    // Between the reads: the guest's work, the second call's own fees, and one read step.
    const fuelBetween = h.fuel.used() - fuelAfterFirst;
    assert.equal(second - first, fuelBetween * NS_PER_FUEL + CLOCK_READ_STEP_NS);
    let previous = second;
    for (let i = 0; i < 50; i++) {
      const next = readClock(h, MONOTONIC);
      assert.ok(next > previous);
      previous = next;
    }
  });

  void test('clock_res_get reports the read step for all four clocks; unknown clock ids are EINVAL', () => {
    const h = wasiHarness();
    for (const id of [0, 1, 2, 3]) {
      assert.equal(h.call('clock_res_get', id, 200), ERRNO.SUCCESS);
      assert.equal(h.u64(200), CLOCK_RESOLUTION_NS);
    }
    for (const id of [4, 99, -1]) {
      assert.equal(h.call('clock_res_get', id, 200), ERRNO.INVAL);
      assert.equal(h.call('clock_time_get', id, 0n, 200), ERRNO.INVAL);
    }
  });
});

void describe('random_get', () => {
  void test('is the documented AES-256-CTR stream keyed by sha256("gojinn-random-v1" ‖ seed)', () => {
    const h = wasiHarness();
    const key = createHash('sha256')
      .update('gojinn-random-v1')
      .update(Buffer.from(TEST_SEED, 'hex'))
      .digest();
    const expected = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(100));
    assert.deepEqual(randomBytesOf(h, 100), expected);
  });

  void test('is one continuous stream across calls, identical for the same seed', () => {
    // Longer than one 64 KiB keystream chunk, so the chunk boundary is inside the stream.
    const single = wasiHarness();
    assert.equal(single.grow(1), 1);
    const oneCall = randomBytesOf(single, 70_000, 100);
    const h = wasiHarness();
    assert.equal(h.grow(1), 1);
    const pieces = Buffer.concat([randomBytesOf(h, 3), randomBytesOf(h, 0), randomBytesOf(h, 69_997, 100)]);
    assert.deepEqual(pieces, oneCall);
  });

  void test('differs for a different seed', () => {
    assert.notDeepEqual(
      randomBytesOf(wasiHarness(), 32),
      randomBytesOf(wasiHarness({ seed: OTHER_SEED }), 32),
    );
  });
});

const SUB = 48;
const EVENT = 32;

function clockSub(
  h: WasiHarness,
  at: number,
  userdata: bigint,
  id: number,
  timeout: bigint,
  abstime = false,
): void {
  h.write(at, new Uint8Array(SUB));
  const view = new DataView(h.memory.buffer);
  view.setBigUint64(at, userdata, true);
  view.setUint8(at + 8, 0);
  view.setUint32(at + 16, id, true);
  view.setBigUint64(at + 24, timeout, true);
  view.setUint16(at + 40, abstime ? 1 : 0, true);
}

function fdSub(h: WasiHarness, at: number, userdata: bigint, type: 1 | 2, fd: number): void {
  h.write(at, new Uint8Array(SUB));
  const view = new DataView(h.memory.buffer);
  view.setBigUint64(at, userdata, true);
  view.setUint8(at + 8, type);
  view.setUint32(at + 16, fd, true);
}

function events(h: WasiHarness, out: number, count: number) {
  const view = new DataView(h.memory.buffer);
  return Array.from({ length: count }, (_, i) => ({
    userdata: view.getBigUint64(out + i * EVENT, true),
    error: view.getUint16(out + i * EVENT + 8, true),
    type: view.getUint8(out + i * EVENT + 10),
    nbytes: view.getBigUint64(out + i * EVENT + 16, true),
    flags: view.getUint16(out + i * EVENT + 24, true),
  }));
}

void describe('poll_oneoff', () => {
  void test('a relative clock subscription sleeps virtually: the clock jumps by the timeout, nothing blocks', () => {
    const h = wasiHarness();
    const before = readClock(h, MONOTONIC);
    const fuelBefore = h.fuel.used();
    const hour = 3600n * 10n ** 9n;
    clockSub(h, 2000, 7n, MONOTONIC, hour);
    const started = performance.now();
    assert.equal(h.call('poll_oneoff', 2000, 4000, 1, 6000), ERRNO.SUCCESS);
    assert.ok(performance.now() - started < 60_000, 'an hour-long sleep returns at once');
    assert.equal(h.u32(6000), 1);
    assert.deepEqual(events(h, 4000, 1), [{ userdata: 7n, error: 0, type: 0, nbytes: 0n, flags: 0 }]);
    const after = readClock(h, MONOTONIC);
    const fuelBetween = h.fuel.used() - fuelBefore;
    assert.equal(after - before, hour + fuelBetween * NS_PER_FUEL + CLOCK_READ_STEP_NS);
  });

  void test('the earliest of several clocks fires; an absolute deadline in the past fires at once', () => {
    const h = wasiHarness();
    clockSub(h, 2000, 1n, MONOTONIC, 5_000n);
    clockSub(h, 2000 + SUB, 2n, REALTIME, 1_000n);
    clockSub(h, 2000 + 2 * SUB, 3n, MONOTONIC, 1_000n);
    assert.equal(h.call('poll_oneoff', 2000, 4000, 3, 6000), ERRNO.SUCCESS);
    assert.deepEqual(
      events(h, 4000, h.u32(6000)).map((e) => e.userdata),
      [2n, 3n],
    );
    clockSub(h, 2000, 9n, REALTIME, 1n, true);
    const before = readClock(h, REALTIME);
    assert.equal(h.call('poll_oneoff', 2000, 4000, 1, 6000), ERRNO.SUCCESS);
    assert.equal(h.u32(6000), 1);
    assert.ok(readClock(h, REALTIME) - before < 10_000n, 'no sleep for a deadline already past');
  });

  void test('ready descriptors return at once with their byte counts, and clocks do not advance', () => {
    const h = wasiHarness({ stdin: 'abcdef', maxStdoutBytes: 100 });
    fdSub(h, 2000, 1n, 1, 0);
    fdSub(h, 2000 + SUB, 2n, 2, 1);
    clockSub(h, 2000 + 2 * SUB, 3n, MONOTONIC, 10n ** 12n);
    fdSub(h, 2000 + 3 * SUB, 4n, 1, 5);
    const before = readClock(h, MONOTONIC);
    assert.equal(h.call('poll_oneoff', 2000, 4000, 4, 6000), ERRNO.SUCCESS);
    assert.deepEqual(events(h, 4000, h.u32(6000)), [
      { userdata: 1n, error: 0, type: 1, nbytes: 6n, flags: 0 },
      { userdata: 2n, error: 0, type: 2, nbytes: 100n, flags: 0 },
      { userdata: 4n, error: ERRNO.BADF, type: 1, nbytes: 0n, flags: 0 },
    ]);
    assert.ok(readClock(h, MONOTONIC) - before < 10n ** 6n);
  });

  void test('stdin at end of input polls readable with the hang-up flag', () => {
    const h = wasiHarness();
    fdSub(h, 2000, 1n, 1, 0);
    assert.equal(h.call('poll_oneoff', 2000, 4000, 1, 6000), ERRNO.SUCCESS);
    assert.deepEqual(events(h, 4000, 1), [{ userdata: 1n, error: 0, type: 1, nbytes: 0n, flags: 1 }]);
  });

  void test('cpu-time and unknown clocks give error events; zero, too many or unknown subscriptions are EINVAL', () => {
    const h = wasiHarness();
    clockSub(h, 2000, 1n, PROCESS_CPUTIME, 10n);
    clockSub(h, 2000 + SUB, 2n, 42, 10n);
    assert.equal(h.call('poll_oneoff', 2000, 4000, 2, 6000), ERRNO.SUCCESS);
    assert.deepEqual(
      events(h, 4000, h.u32(6000)).map((e) => e.error),
      [ERRNO.NOTSUP, ERRNO.INVAL],
    );
    assert.equal(h.call('poll_oneoff', 2000, 4000, 0, 6000), ERRNO.INVAL);
    assert.equal(h.call('poll_oneoff', 0, 0, MAX_POLL_SUBSCRIPTIONS + 1, 6000), ERRNO.INVAL);
    h.write(2000, new Uint8Array(SUB));
    h.write(2008, new Uint8Array([3]));
    assert.equal(h.call('poll_oneoff', 2000, 4000, 1, 6000), ERRNO.INVAL);
  });

  void test(`accepts exactly MAX_POLL_SUBSCRIPTIONS (${MAX_POLL_SUBSCRIPTIONS}) subscriptions`, () => {
    const h = wasiHarness();
    for (let i = 0; i < MAX_POLL_SUBSCRIPTIONS; i++)
      clockSub(h, i * SUB, BigInt(i), MONOTONIC, BigInt(i + 1));
    // Events overwrite the subscriptions in place: the shim reads them all before writing any.
    assert.equal(h.call('poll_oneoff', 0, 0, MAX_POLL_SUBSCRIPTIONS, 60_000), ERRNO.SUCCESS);
    assert.equal(h.u32(60_000), 1);
    assert.equal(events(h, 0, 1)[0]?.userdata, 0n);
  });
});
