/**
 * Recursion bombs of every frame shape the default limits allow, and the depth at which the
 * deterministic stack budget stops each one. Used by wasm-stack.test.ts on the main thread, in
 * a worker and in child processes pinned to one V8 tier; run directly it prints JSON.
 *
 * Each bomb keeps its locals live across the recursive call (set before, read after), so
 * TurboFan must spill them too and cannot shrink the frame below Liftoff's.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { DEFAULT_MODULE_LIMITS } from '../src/limits.ts';
import { METER_EXPORTS } from '../src/meter-abi.ts';
import { prepareWasm } from '../src/wasm/index.ts';

export interface BombShape {
  name: string;
  /** Value type of the params and locals. */
  type: 'i32' | 'i64' | 'f64' | 'v128';
  params: number;
  locals: number;
  /** Extra values held on the operand stack across the recursive call. */
  operands: number;
}

const MAX_LOCALS = DEFAULT_MODULE_LIMITS.maxLocalsPerFunction;
/** V8 accepts at most 1000 params per function. */
const MAX_PARAMS = 1000;

export const BOMB_SHAPES: readonly BombShape[] = [
  { name: 'one i32 local', type: 'i32', params: 0, locals: 1, operands: 0 },
  { name: `${MAX_LOCALS} i32 locals`, type: 'i32', params: 0, locals: MAX_LOCALS, operands: 0 },
  { name: `${MAX_LOCALS} i64 locals`, type: 'i64', params: 0, locals: MAX_LOCALS, operands: 0 },
  { name: `${MAX_LOCALS} f64 locals`, type: 'f64', params: 0, locals: MAX_LOCALS, operands: 0 },
  { name: `${MAX_LOCALS} v128 locals`, type: 'v128', params: 0, locals: MAX_LOCALS, operands: 0 },
  {
    name: `${MAX_PARAMS} i64 params + ${MAX_LOCALS - MAX_PARAMS} locals`,
    type: 'i64',
    params: MAX_PARAMS,
    locals: MAX_LOCALS - MAX_PARAMS,
    operands: 0,
  },
  {
    name: `${MAX_PARAMS} v128 params + ${MAX_LOCALS - MAX_PARAMS} locals`,
    type: 'v128',
    params: MAX_PARAMS,
    locals: MAX_LOCALS - MAX_PARAMS,
    operands: 0,
  },
  { name: '2000 i64 operands held across the call', type: 'i64', params: 0, locals: 1, operands: 2000 },
];

/** A value TurboFan cannot constant-fold: derived from the depth global, distinct per local. */
const OPAQUE: Record<BombShape['type'], (k: number) => string> = {
  i32: (k) => `global.get $depth i32.const ${k} i32.add`,
  i64: (k) => `global.get $depth i64.extend_i32_s i64.const ${k} i64.add`,
  f64: (k) => `global.get $depth f64.convert_i32_s f64.const ${k} f64.add`,
  v128: (k) => `global.get $depth i32x4.splat v128.const i32x4 ${k} 0 0 0 i32x4.add`,
};
const ZERO: Record<BombShape['type'], string> = {
  i32: 'i32.const 1',
  i64: 'i64.const 1',
  f64: 'f64.const 1',
  v128: 'v128.const i64x2 1 1',
};
const XOR: Record<BombShape['type'], string> = {
  i32: 'i32.xor',
  i64: 'i64.xor',
  f64: 'f64.add',
  v128: 'v128.xor',
};

/** WAT of a bomb: `$depth` counts entries; every local is set before and read after the call. */
export function bombWat(shape: BombShape): string {
  const { type, params, locals, operands } = shape;
  const total = params + locals;
  const lines: string[] = [];
  lines.push('(module');
  lines.push('  (global $depth (export "depth") (mut i32) (i32.const 0))');
  lines.push(`  (global $sink (mut ${type}) (${ZERO[type]}))`);
  const paramList = params > 0 ? `(param ${Array<string>(params).fill(type).join(' ')})` : '';
  const localList = locals > 0 ? `(local ${Array<string>(locals).fill(type).join(' ')})` : '';
  lines.push(`  (func $bomb ${paramList} ${localList}`);
  lines.push('    global.get $depth i32.const 1 i32.add global.set $depth');
  for (let i = params; i < total; i++) lines.push(`    ${OPAQUE[type](i)} local.set ${i}`);
  for (let i = 0; i < operands; i++) lines.push(`    ${OPAQUE[type](i)}`);
  for (let i = 0; i < params; i++) lines.push(`    local.get ${i}`);
  lines.push('    call $bomb');
  // Fold the held operands into one value and keep it.
  for (let i = 1; i < operands; i++) lines.push(`    ${XOR[type]}`);
  if (operands > 0) lines.push('    global.set $sink');
  lines.push('    global.get $sink');
  for (let i = 0; i < total; i++) lines.push(`    local.get ${i} ${XOR[type]}`);
  lines.push('    global.set $sink)');
  lines.push(`  (func (export "run") ${Array<string>(params).fill(ZERO[type]).join(' ')} call $bomb))`);
  return lines.join('\n');
}

export interface BombResult {
  name: string;
  /** Frames entered before the budget tripped, per run. */
  depths: number[];
  /** What stopped each run: 'budget' (meter trap with the stack global < 0) or what else happened. */
  stops: string[];
}

/** Prepares `wasm` (a bomb assembled by the caller) and runs it `runs` times. */
export function runBomb(name: string, wasm: Uint8Array, runs: number): BombResult {
  const prepared = prepareWasm(wasm, { limits: DEFAULT_MODULE_LIMITS, memoryCeilingPages: 1 });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(prepared.bytes)).exports;
  const depth = exports.depth as WebAssembly.Global;
  const fuel = exports[METER_EXPORTS.fuel] as WebAssembly.Global;
  const stack = exports[METER_EXPORTS.stack] as WebAssembly.Global;
  const budget = stack.value as number;
  const run = exports.run as () => void;
  const result: BombResult = { name, depths: [], stops: [] };
  for (let i = 0; i < runs; i++) {
    depth.value = 0;
    fuel.value = 1n << 60n;
    stack.value = budget;
    let stop = 'returned';
    try {
      run();
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError && (stack.value as number) < 0) stop = 'budget';
      else stop = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    result.depths.push(depth.value as number);
    result.stops.push(stop);
  }
  return result;
}

/** Assembles every bomb (needs wabt), for callers that cannot load wabt themselves. */
export async function assembleBombs(): Promise<{ name: string; wasm: Uint8Array }[]> {
  const wabt = await (await import('wabt')).default();
  return BOMB_SHAPES.map((shape) => {
    const module = wabt.parseWat(`${shape.name}.wat`, bombWat(shape), { simd: true, multi_value: true });
    try {
      return { name: shape.name, wasm: module.toBinary({}).buffer };
    } finally {
      module.destroy();
    }
  });
}

/** Entry point for child processes and workers: run every bomb `runs` times, report JSON. */
async function probe(runs: number, only: ReadonlySet<string> | null): Promise<BombResult[]> {
  const bombs = await assembleBombs();
  return bombs
    .filter(({ name }) => only === null || only.has(name))
    .map(({ name, wasm }) => runBomb(name, wasm, runs));
}

const PROBE_RUNS = Number(process.env.GOJINN_STACK_PROBE_RUNS ?? '3');
/** Optional comma-separated subset of shape names (TurboFan compiles of 10000-local functions take seconds). */
const PROBE_ONLY = process.env.GOJINN_STACK_PROBE_ONLY
  ? new Set(process.env.GOJINN_STACK_PROBE_ONLY.split(','))
  : null;
if (!isMainThread && parentPort) {
  parentPort.postMessage(await probe(PROBE_RUNS, PROBE_ONLY));
} else if (process.argv[1] === import.meta.filename) {
  process.stdout.write(JSON.stringify(await probe(PROBE_RUNS, PROBE_ONLY)));
}
