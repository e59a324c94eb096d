import { createHash } from 'node:crypto';

/**
 * The guest's clocks: virtual, derived from the invocation seed and the fuel consumed, so the
 * same module + request + seed reads the same times on every node and every run, and no guest
 * can time the host (no side channel through the real clock).
 *
 *   reading = origin(clock, seed) + elapsed
 *   elapsed = fuelUsed × NS_PER_FUEL + reads × CLOCK_READ_STEP_NS (+ time slept in poll_oneoff)
 *
 * Time therefore moves with the work the guest has done, and strictly forward between two reads.
 */

export const CLOCK_ID = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 } as const;

/** Realtime origins lie in the year from this instant (2024-01-01T00:00:00Z), in ns since the Unix epoch. */
export const REALTIME_EPOCH_NS = 1_704_067_200_000_000_000n;
/** Width of the window realtime origins are drawn from: one year. */
export const REALTIME_WINDOW_NS = 365n * 86_400n * 1_000_000_000n;
/** Width of the window monotonic origins are drawn from (about 18 minutes of uptime). */
export const MONOTONIC_WINDOW_NS = 1n << 40n;
/** Virtual nanoseconds per fuel unit (a fuel unit is about one wasm instruction). */
export const NS_PER_FUEL = 1n;
/** Virtual time every `clock_time_get` adds, so consecutive reads always differ. */
export const CLOCK_READ_STEP_NS = 1_000n;
/** What `clock_res_get` reports for every clock: the read step. */
export const CLOCK_RESOLUTION_NS = CLOCK_READ_STEP_NS;

const U64_MAX = (1n << 64n) - 1n;
const CLOCK_DOMAIN = Buffer.from('gojinn-clock-v1');

export class VirtualClock {
  readonly #seed: Uint8Array;
  #realtimeOrigin = -1n;
  #monotonicOrigin = -1n;
  #reads = 0n;
  #sleptNs = 0n;

  constructor(seed: Uint8Array) {
    this.#seed = seed;
  }

  /** True for the four preview1 clock ids. */
  static isClock(id: number): boolean {
    return id >= CLOCK_ID.REALTIME && id <= CLOCK_ID.THREAD_CPUTIME;
  }

  /** True for clocks `poll_oneoff` can wait on (the cpu-time clocks do not move while asleep). */
  static isWaitable(id: number): boolean {
    return id === CLOCK_ID.REALTIME || id === CLOCK_ID.MONOTONIC;
  }

  /** The value `clock_time_get` returns; advances the read counter. `id` must satisfy isClock. */
  read(id: number, fuelUsed: bigint): bigint {
    const value = this.peek(id, fuelUsed);
    this.#reads += 1n;
    return value;
  }

  /** The clock's current value without counting a read (used by poll_oneoff's deadlines). */
  peek(id: number, fuelUsed: bigint): bigint {
    const cpu = fuelUsed * NS_PER_FUEL + this.#reads * CLOCK_READ_STEP_NS;
    let value: bigint;
    if (id === CLOCK_ID.REALTIME) value = this.#origins().realtime + cpu + this.#sleptNs;
    else if (id === CLOCK_ID.MONOTONIC) value = this.#origins().monotonic + cpu + this.#sleptNs;
    else value = cpu;
    return value > U64_MAX ? U64_MAX : value;
  }

  /** Moves realtime and monotonic forward by `ns` (a virtual sleep: nothing waits). */
  sleep(ns: bigint): void {
    this.#sleptNs += ns;
  }

  #origins(): { realtime: bigint; monotonic: bigint } {
    if (this.#realtimeOrigin < 0n) {
      // Derived lazily: most invocations never read a clock, and hashing is their only cost.
      const digest = createHash('sha256').update(CLOCK_DOMAIN).update(this.#seed).digest();
      this.#realtimeOrigin = REALTIME_EPOCH_NS + (digest.readBigUInt64LE(0) % REALTIME_WINDOW_NS);
      this.#monotonicOrigin = digest.readBigUInt64LE(8) % MONOTONIC_WINDOW_NS;
    }
    return { realtime: this.#realtimeOrigin, monotonic: this.#monotonicOrigin };
  }
}
