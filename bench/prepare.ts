/**
 * Time to prepare a module (validate + rewrite + `new WebAssembly.Module` of the result) for
 * synthetic ~1 MB and ~5 MB modules generated here, next to the baseline: compiling the
 * original module as it is. Median of several runs after a warm-up run.
 *
 *   node bench/prepare.ts [--runs 5]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_MODULE_LIMITS } from '../packages/sandbox/src/limits.ts';
import { prepareWasm } from '../packages/sandbox/src/wasm/index.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);
const TARGETS = [1 << 20, 5 << 20];

function leb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
  return out;
}

/**
 * One straight-line-heavy statement group, like compiled code: locals, arithmetic, a load and
 * a store, an if/else, a conditional exit and a call to `callee`.
 */
function statement(callee: number): number[] {
  return [
    ...[0x20, 0, 0x20, 1, 0x6a, 0x21, 2], // l2 = p0 + p1
    ...[0x20, 2, 0x41, 7, 0x6c, 0x20, 3, 0x73, 0x21, 3], // l3 = l2 * 7 ^ l3
    ...[0x20, 0, 0x41, 0xff, 0x01, 0x71, 0x28, 0x02, 0x04, 0x20, 3, 0x6a, 0x21, 3], // l3 += load(p0 & 255, 4)
    ...[0x20, 0, 0x41, 0xff, 0x01, 0x71, 0x20, 3, 0x36, 0x02, 0x08], // store(p0 & 255, 8) = l3
    ...[0x20, 3, 0x41, 1, 0x71, 0x04, 0x40], // if (l3 & 1)
    ...[0x20, 1, 0x41, 1, 0x6b, 0x21, 1], //   p1 -= 1
    ...[0x05, 0x20, 0, 0x41, 3, 0x74, 0x21, 0, 0x0b], // else p0 <<= 3
    ...[0x20, 1, 0x41, 0xe4, 0x00, 0x49, 0x0d, 1], // br_if exit (p1 < 100)
    ...[0x20, 0, 0x20, 1, 0x10, ...leb(callee), 0x1a], // drop callee(p0, p1)
  ];
}

/** A module of `functionCount` functions `(i32, i32) -> i32`, each with a loop of `statements`. */
function syntheticModule(targetBytes: number): { bytes: Uint8Array; functions: number } {
  const statementsPerFunction = 20;
  const sample = functionBody(0, statementsPerFunction);
  const functions = Math.max(1, Math.round(targetBytes / (sample.length + 3)));
  const bodies: number[] = [];
  for (let i = 0; i < functions; i++) {
    const body = functionBody(i === 0 ? 0 : i - 1, statementsPerFunction);
    bodies.push(...leb(body.length), ...body);
  }
  const section = (id: number, payload: number[]): number[] => [id, ...leb(payload.length), ...payload];
  const functionSection = [...leb(functions), ...new Array<number>(functions).fill(0)];
  const bytes = Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]),
    ...section(3, functionSection),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [1, ...leb(3), 0x72, 0x75, 0x6e, 0x00, ...leb(functions - 1)]),
    ...section(10, [...leb(functions), ...bodies]),
  ]);
  return { bytes, functions };
}

function functionBody(callee: number, statements: number): number[] {
  const inner: number[] = [];
  for (let i = 0; i < statements; i++) inner.push(...statement(callee));
  return [
    ...[1, 2, 0x7f], // two i32 locals
    ...[0x02, 0x40, 0x03, 0x40], // block, loop
    ...inner,
    ...[0x20, 1, 0x0d, 0], // br_if loop (p1 != 0)
    ...[0x0b, 0x0b], // end loop, end block
    ...[0x20, 3, 0x0b],
  ];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const timed = (f: () => void): number => {
  const start = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - start) / 1e6;
};

console.log(`prepare time, median of ${RUNS} runs after one warm-up run`);
for (const target of TARGETS) {
  const { bytes, functions } = syntheticModule(target);
  const options = { limits: DEFAULT_MODULE_LIMITS, memoryCeilingPages: 16 };
  const prepared = prepareWasm(bytes, options);
  new WebAssembly.Module(prepared.bytes);
  new WebAssembly.Module(bytes);
  const baseline: number[] = [];
  const validate: number[] = [];
  const rewrite: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    baseline.push(timed(() => new WebAssembly.Module(bytes)));
    validate.push(timed(() => WebAssembly.validate(bytes)));
    rewrite.push(timed(() => prepareWasm(bytes, options)));
    total.push(timed(() => new WebAssembly.Module(prepareWasm(bytes, options).bytes)));
  }
  const mb = (n: number): string => (n / (1 << 20)).toFixed(2);
  console.log(
    `\n${mb(bytes.length)} MB module, ${functions} functions (prepared: ${mb(prepared.bytes.length)} MB)`,
  );
  console.log(`  baseline: compile original        ${median(baseline).toFixed(1)} ms`);
  console.log(`  WebAssembly.validate alone         ${median(validate).toFixed(1)} ms`);
  console.log(`  prepareWasm (parse+validate+rewrite) ${median(rewrite).toFixed(1)} ms`);
  console.log(`  prepareWasm + compile result       ${median(total).toFixed(1)} ms`);
  console.log(`  ratio (prepare + compile) / baseline ${(median(total) / median(baseline)).toFixed(2)}x`);
}
