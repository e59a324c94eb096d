/**
 * Shared helpers for the wasm-*.test.ts files: assemble WAT with wabt, hand-craft binaries the
 * text format cannot express, prepare with test defaults, and instantiate with the meter set.
 */
import assert from 'node:assert/strict';
import { GojinnError, type ErrorCode } from '@gojinn/errors';
import wabtInit from 'wabt';
import { DEFAULT_MODULE_LIMITS, type ModuleLimits } from '../src/limits.ts';
import { METER_EXPORTS } from '../src/meter-abi.ts';
import { prepareWasm, type PreparedWasm, type PrepareOptions } from '../src/wasm/index.ts';

const wabt = await wabtInit();

/** Every feature wabt knows, so fixtures of rejected proposals assemble too. */
const ALL_FEATURES = {
  exceptions: true,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: true,
  multi_value: true,
  tail_call: true,
  bulk_memory: true,
  reference_types: true,
  memory64: true,
  multi_memory: true,
  extended_const: true,
  relaxed_simd: true,
  gc: true,
};

export function wat(text: string): Uint8Array {
  const module = wabt.parseWat('fixture.wat', text, ALL_FEATURES);
  try {
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

export const TEST_CEILING_PAGES = 16;

export function options(overrides: Partial<PrepareOptions> = {}): PrepareOptions {
  return { limits: DEFAULT_MODULE_LIMITS, memoryCeilingPages: TEST_CEILING_PAGES, ...overrides };
}

export function limits(overrides: Partial<ModuleLimits>): ModuleLimits {
  return { ...DEFAULT_MODULE_LIMITS, ...overrides };
}

export function prepare(bytes: Uint8Array, overrides: Partial<PrepareOptions> = {}): PreparedWasm {
  return prepareWasm(bytes, options(overrides));
}

/** Asserts `fn` throws a GojinnError with this code and a message equal to / matching `message`. */
export function assertRejects(fn: () => unknown, code: ErrorCode, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof GojinnError, `expected a GojinnError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

export type Exports = Record<string, unknown>;

/** The meter globals of an instance, with typed access. */
export interface Meter {
  fuel: WebAssembly.Global;
  stack: WebAssembly.Global;
  memoryLimitPages: WebAssembly.Global;
  memoryDenied: WebAssembly.Global;
}

export function meterOf(exports: Exports): Meter {
  const get = (name: string): WebAssembly.Global => {
    const value = exports[name];
    assert.ok(value instanceof WebAssembly.Global, `missing meter export ${name}`);
    return value;
  };
  return {
    fuel: get(METER_EXPORTS.fuel),
    stack: get(METER_EXPORTS.stack),
    memoryLimitPages: get(METER_EXPORTS.memoryLimitPages),
    memoryDenied: get(METER_EXPORTS.memoryDenied),
  };
}

export function instantiate(bytes: Uint8Array, imports: WebAssembly.Imports = {}): Exports {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports as Exports;
}

/** Instantiates a prepared module with `fuel` units set. */
export function instantiateMetered(
  prepared: PreparedWasm,
  fuel: bigint,
  imports: WebAssembly.Imports = {},
): { exports: Exports; meter: Meter } {
  const exports = instantiate(prepared.bytes, imports);
  const meter = meterOf(exports);
  meter.fuel.value = fuel;
  return { exports, meter };
}

export function fn(exports: Exports, name: string): (...args: unknown[]) => unknown {
  const value = exports[name];
  assert.equal(typeof value, 'function', `missing export ${name}`);
  return value as (...args: unknown[]) => unknown;
}

/** Runs `call` and returns the trap it raised (asserting there was one, and that it is a wasm trap). */
export function trapOf(call: () => unknown): WebAssembly.RuntimeError {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof WebAssembly.RuntimeError, `expected a wasm trap, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a trap');
}

// ---- Hand-crafted binaries --------------------------------------------------------------

export function leb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
  return out;
}

export function section(id: number, payload: number[]): number[] {
  return [id, ...leb(payload.length), ...payload];
}

export function vec(items: number[][]): number[] {
  return [...leb(items.length), ...items.flat()];
}

export const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/**
 * A module with one function `() -> ()` whose instructions are `code` (the final `end` is
 * added), plus any extra sections placed by id order.
 */
export function moduleWithCode(code: number[], extra: { id: number; payload: number[] }[] = []): Uint8Array {
  const sections: number[][] = [];
  const add = (id: number, payload: number[]): void => {
    sections.push(section(id, payload));
  };
  const byId = (id: number): void => {
    for (const s of extra) if (s.id === id) add(s.id, s.payload);
  };
  add(1, vec([[0x60, 0x00, 0x00]]));
  add(3, vec([[0x00]]));
  for (const id of [4, 5, 13, 6, 7, 8, 9, 12]) byId(id);
  const body = [0x00, ...code, 0x0b];
  add(10, vec([[...leb(body.length), ...body]]));
  byId(11);
  return Uint8Array.from([...HEADER, ...sections.flat()]);
}
