import { GojinnError } from '@gojinn/errors';
import { GuestFault, GuestHalt, WASI_BYTE_FUEL, type WasiContext } from '../wasi/index.ts';
import type { HostCallContext, HostImports } from './types.ts';

/** Fuel charged for every `gojinn` host call before the host function runs (as for a WASI call). */
export const HOST_CALL_FUEL = 50n;

/** Names of `gojinn.log` levels 0–3, as they appear in stderr; other levels print as numbers. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

const LINE = new TextEncoder();

/**
 * The context of one invocation's host calls: guest memory, fuel and determinism, as host
 * functions see them (HostCallContext), and the dispatch of each `gojinn` call to the
 * embedder's function. Created only for modules that import `gojinn` functions.
 */
export class HostCallFrame implements HostCallContext {
  readonly #wasi: WasiContext;
  readonly #host: HostImports | undefined;
  #deterministic = true;
  #open = true;

  constructor(wasi: WasiContext, host: HostImports | undefined) {
    this.#wasi = wasi;
    this.#host = host;
  }

  /** False once a host function called markNonDeterministic. */
  get deterministic(): boolean {
    return this.#deterministic;
  }

  /** Ends the frame with its invocation: a host function that kept the context cannot touch the guest later. */
  close(): void {
    this.#open = false;
  }

  read(ptr: number, len: number): Uint8Array {
    this.#checkOpen();
    const memory = this.#wasi.memory;
    memory.refresh();
    try {
      return memory.copy(ptr, len);
    } catch (error) {
      throw this.#outOfBounds(error, 'read', ptr, len);
    }
  }

  write(ptr: number, bytes: Uint8Array): void {
    this.#checkOpen();
    const memory = this.#wasi.memory;
    memory.refresh();
    try {
      memory.write(ptr, bytes);
    } catch (error) {
      throw this.#outOfBounds(error, 'write', ptr, bytes.byteLength);
    }
  }

  chargeFuel(units: bigint): void {
    this.#checkOpen();
    if (units > 0n) this.#wasi.charge(units);
  }

  markNonDeterministic(_reason: string): void {
    this.#checkOpen();
    this.#deterministic = false;
  }

  /**
   * Runs `gojinn.<name>` for the guest. A GojinnError from the host function stops the guest with
   * that error; any other throw stops it as `internal` (its text may carry host details).
   */
  call(name: string, args: number[]): number {
    const wasi = this.#wasi;
    wasi.memory.refresh();
    wasi.charge(HOST_CALL_FUEL);
    try {
      const fn = this.#host?.[name];
      if (typeof fn === 'function') {
        const result: unknown = fn(this, ...args);
        // Fail closed on a host function that returned anything but an i32 (e.g. a Promise
        // from an async function by mistake, which wasm would silently read as 0).
        if (typeof result !== 'number' || !Number.isInteger(result)) {
          throw new Error(`gojinn.${name} returned ${typeof result}, not an i32`);
        }
        return result;
      }
      if (name === 'log') return this.#log(args[0] ?? 0, args[1] ?? 0, args[2] ?? 0);
      throw new Error(`gojinn.${name} was linked without an implementation`);
    } catch (error) {
      if (error instanceof GuestHalt) throw error;
      const reason =
        error instanceof GojinnError
          ? error
          : new GojinnError('internal', 'internal error', { cause: error });
      return wasi.stop({ kind: 'host_error', error: reason });
    }
  }

  /** The built-in `gojinn.log(level, ptr, len)`: one line on the invocation's stderr (bounded like stderr). */
  #log(level: number, ptr: number, len: number): number {
    const memory = this.#wasi.memory;
    let message: Uint8Array;
    try {
      message = memory.view(ptr, len);
    } catch (error) {
      throw this.#outOfBounds(error, 'read', ptr, len);
    }
    this.chargeFuel(BigInt(message.byteLength) * WASI_BYTE_FUEL);
    this.#wasi.writeStderr(LINE.encode(`${LOG_LEVELS[level] ?? `level ${level}`}: `));
    this.#wasi.writeStderr(message);
    this.#wasi.writeStderr(LINE.encode('\n'));
    return 0;
  }

  #checkOpen(): void {
    if (!this.#open) throw new GojinnError('internal', 'host call context used after its invocation ended');
  }

  #outOfBounds(error: unknown, access: string, ptr: number, len: number): unknown {
    if (!(error instanceof GuestFault)) return error;
    const end = (ptr >>> 0) + (len >>> 0);
    return new GojinnError(
      'trap',
      `host call ${access} of guest memory [${ptr >>> 0}, ${end}) is out of bounds (memory is ${this.#wasi.memory.byteLength} bytes)`,
    );
  }
}
