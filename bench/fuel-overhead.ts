/**
 * Fuel-metering overhead on a compute-heavy kernel: sha256 of 1 MiB, using the AssemblyScript
 * guest's `bench(kibibytes)` export (examples/sha256, built by `npm run build:guests`).
 * Runs the original module and the prepared (metered) one, each warmed up first, alternating
 * rounds so both see the same machine load; prints the median times and the ratio.
 *
 *   node bench/fuel-overhead.ts [--rounds 15] [--kib 1024]
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_MODULE_LIMITS } from '../packages/sandbox/src/limits.ts';
import { METER_EXPORTS } from '../packages/sandbox/src/meter-abi.ts';
import { prepareWasm } from '../packages/sandbox/src/wasm/index.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '15' }, kib: { type: 'string', default: '1024' } },
});
const ROUNDS = Number(values.rounds);
const KIB = Number(values.kib);
const WARM_UP_RUNS = 20;
const WASM_PATH = new URL('../examples/sha256/build/sha256.wasm', import.meta.url);

if (!existsSync(WASM_PATH)) {
  process.stderr.write(`missing ${WASM_PATH.pathname}: run \`npm run build:guests\` first\n`);
  process.exit(1);
}
const original = new Uint8Array(readFileSync(WASM_PATH));
const prepared = prepareWasm(original, { limits: DEFAULT_MODULE_LIMITS, memoryCeilingPages: 1024 });

/** Stubs for the WASI imports: `bench` makes no WASI call, so any call is a bug. */
function stubImports(module: WebAssembly.Module): WebAssembly.Imports {
  const imports: Record<string, Record<string, () => never>> = {};
  for (const { module: name, name: field } of WebAssembly.Module.imports(module)) {
    (imports[name] ??= {})[field] = () => {
      throw new Error(`unexpected import call ${name}.${field}`);
    };
  }
  return imports;
}

interface Kernel {
  run(): number;
}

function kernel(bytes: Uint8Array, metered: boolean): Kernel {
  const module = new WebAssembly.Module(bytes);
  const exports = new WebAssembly.Instance(module, stubImports(module)).exports;
  const bench = exports.bench as (kib: number) => number;
  if (!metered) return { run: () => bench(KIB) };
  const fuel = exports[METER_EXPORTS.fuel] as WebAssembly.Global;
  return {
    run: () => {
      fuel.value = 1n << 62n;
      return bench(KIB);
    },
  };
}

const base = kernel(original, false);
const metered = kernel(prepared.bytes, true);
const expected = base.run();
if (metered.run() !== expected) throw new Error('metered module computed a different digest');
for (let i = 0; i < WARM_UP_RUNS; i++) {
  base.run();
  metered.run();
}

const time = (k: Kernel): number => {
  const start = process.hrtime.bigint();
  k.run();
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const baseTimes: number[] = [];
const meteredTimes: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  baseTimes.push(time(base));
  meteredTimes.push(time(metered));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Fuel one run consumes, for the record.
const fuelGlobal = new WebAssembly.Instance(
  new WebAssembly.Module(prepared.bytes),
  stubImports(new WebAssembly.Module(prepared.bytes)),
).exports;
(fuelGlobal[METER_EXPORTS.fuel] as WebAssembly.Global).value = 1n << 62n;
(fuelGlobal.bench as (kib: number) => number)(KIB);
const used = (1n << 62n) - ((fuelGlobal[METER_EXPORTS.fuel] as WebAssembly.Global).value as bigint);

const b = median(baseTimes);
const m = median(meteredTimes);
// The fastest run of each is the least disturbed by other load on the machine.
const bMin = Math.min(...baseTimes);
const mMin = Math.min(...meteredTimes);
console.log(
  `sha256 of ${KIB} KiB (examples/sha256 bench), median (and fastest) of ${ROUNDS} alternating rounds after ${WARM_UP_RUNS} warm-up runs`,
);
console.log(`  module size       original ${original.length} B, prepared ${prepared.bytes.length} B`);
console.log(`  baseline (plain)  ${b.toFixed(2)} ms`);
console.log(`  metered           ${m.toFixed(2)} ms`);
console.log(`  ratio             ${(m / b).toFixed(3)}x   (target <= 1.25x)`);
console.log(
  `  fastest runs      plain ${bMin.toFixed(2)} ms, metered ${mMin.toFixed(2)} ms, ratio ${(mMin / bMin).toFixed(3)}x`,
);
console.log(`  fuel per run      ${used} units`);
