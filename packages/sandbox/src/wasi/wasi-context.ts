import type { FuelMeter } from './fuel-meter.ts';
import { GuestMemory } from './guest-memory.ts';
import { GuestHalt, type HaltReason } from './halt.ts';
import { OutputBuffer } from './output-buffer.ts';
import { SeededRandom } from './seeded-random.ts';
import { VirtualClock } from './virtual-clock.ts';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;

export interface WasiContextInit {
  /** The guest's exported memory. */
  memory: WebAssembly.Memory;
  /** The invocation's fuel (already set to the limit). */
  fuel: FuelMeter;
  /** The request bytes the guest reads on fd 0. */
  stdin: Uint8Array;
  /** 32 seed bytes: origin of the virtual clocks and key of the random stream. */
  seed: Uint8Array;
  /** argv[0]. */
  programName: string;
  maxStdoutBytes: number;
  maxStderrBytes: number;
}

/**
 * Everything the WASI shim knows about one invocation: the guest's memory and fuel, the three
 * standard streams, the virtual clock and random stream, and why the guest was stopped. One per
 * invocation, created after instantiation and dropped with the instance.
 */
export class WasiContext {
  readonly memory: GuestMemory;
  readonly fuel: FuelMeter;
  readonly stdout: OutputBuffer;
  readonly stderr: OutputBuffer;
  readonly clock: VirtualClock;
  readonly random: SeededRandom;
  readonly programName: string;
  /** True once stderr dropped bytes past its limit. */
  stderrTruncated = false;
  #stdin: Uint8Array;
  #stdinOffset = 0;
  /** Bit n set ⇔ fd n (0, 1, 2) is open; fd_close clears it. */
  #openStdio = 0b111;
  #halt: HaltReason | null = null;

  constructor(init: WasiContextInit) {
    this.memory = new GuestMemory(init.memory);
    this.fuel = init.fuel;
    this.#stdin = init.stdin;
    this.stdout = new OutputBuffer(init.maxStdoutBytes);
    this.stderr = new OutputBuffer(init.maxStderrBytes);
    this.clock = new VirtualClock(init.seed);
    this.random = new SeededRandom(init.seed);
    this.programName = init.programName;
  }

  /** The first reason the guest was stopped, or null if nothing stopped it. */
  get halt(): HaltReason | null {
    return this.#halt;
  }

  /** Records `reason` (unless an earlier one is recorded) and unwinds the guest. */
  stop(reason: HaltReason): never {
    this.#halt ??= reason;
    throw new GuestHalt(reason);
  }

  /** Charges fuel for host work; stops the guest when the budget is gone. */
  charge(units: bigint): void {
    if (!this.fuel.tryCharge(units)) this.stop({ kind: 'fuel_exhausted' });
  }

  /** Appends to stderr what fits under its limit; the rest is dropped and the stream marked truncated. */
  writeStderr(chunk: Uint8Array): void {
    if (this.stderr.append(chunk) < chunk.byteLength) this.stderrTruncated = true;
  }

  isOpen(fd: number): boolean {
    return fd >= 0 && fd <= STDERR && (this.#openStdio & (1 << fd)) !== 0;
  }

  close(fd: number): void {
    this.#openStdio &= ~(1 << fd);
  }

  get stdinRemaining(): number {
    return this.#stdin.byteLength - this.#stdinOffset;
  }

  /** Copies the next stdin bytes into `target`; returns how many (0 at end of input). */
  readStdin(target: Uint8Array): number {
    const count = Math.min(target.byteLength, this.stdinRemaining);
    target.set(this.#stdin.subarray(this.#stdinOffset, this.#stdinOffset + count));
    this.#stdinOffset += count;
    return count;
  }
}
