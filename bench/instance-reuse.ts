/**
 * What instance reuse buys, fresh vs reused in the same run:
 *   1. the hello guest in-thread through `Sandbox.invokeInThread` (p50/p99), blocks of each
 *      mode interleaved so a shared machine's load falls on both alike; beside it the bare
 *      `new WebAssembly.Instance` of the prepared module (what a fresh invocation pays first);
 *   2. invocations/s through the worker pool (saturated), reuse on and off, twice each;
 *   3. the in-thread cost by initial memory size, up to maxReusableMemoryBytes and one page over.
 *
 *   node bench/instance-reuse.ts [--runs 20000] [--total 40000] [--workers 2] [--concurrency 512]
 *
 * Targets (issue 2): p50 ≤ 60 µs in-thread, ≥ 15,000 invocations/s through the pool on 2
 * cores. Prints figures; asserts nothing (the machine is shared).
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import wabtInit from 'wabt';
import {
  DEFAULT_INSTANCE_REUSE_LIMITS,
  Sandbox,
  WASM_PAGE_BYTES,
  linkPlanFor,
  threadInstancePool,
  type InvocationOutcome,
  type PreparedModule,
} from '@gojinn/sandbox';
import { readExample } from '../test/support/guests.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20000' },
    total: { type: 'string', default: '40000' },
    workers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '512' },
  },
});
const RUNS = Number(values.runs);
const TOTAL = Number(values.total);
const WORKERS = Number(values.workers);
const CONCURRENCY = Number(values.concurrency);
const BLOCK = 1_000;
const SEED = '0'.repeat(64);
const REQUEST = { uri: '/?name=bench', trace_id: '0'.repeat(32) };

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function summary(latenciesUs: Float64Array): string {
  const sorted = latenciesUs.slice().sort();
  return `p50 ${quantile(sorted, 0.5).toFixed(1).padStart(6)} µs  p99 ${quantile(sorted, 0.99).toFixed(1).padStart(7)} µs`;
}

function check(outcome: InvocationOutcome): void {
  if (!outcome.ok) throw new Error(`invocation failed: ${JSON.stringify(outcome.error)}`);
}

/** Runs each mode's `once` in interleaved blocks until each has `runs` timed samples (µs). */
function interleaved(modes: Record<string, () => void>, runs: number): Record<string, Float64Array> {
  const names = Object.keys(modes);
  const samples = Object.fromEntries(names.map((name) => [name, new Float64Array(runs)]));
  for (const name of names) for (let i = 0; i < 2_000; i++) modes[name]!();
  for (let done = 0; done < runs; done += BLOCK) {
    for (const name of names) {
      const once = modes[name]!;
      const out = samples[name]!;
      for (let i = done; i < Math.min(done + BLOCK, runs); i++) {
        const t0 = performance.now();
        once();
        out[i] = (performance.now() - t0) * 1000;
      }
    }
  }
  return samples;
}

const hello = readExample('hello');
const reusing = new Sandbox({ pool: { size: WORKERS } });
const freshOnly = new Sandbox({ pool: { size: WORKERS }, reuseInstances: false });
const onModule = reusing.prepare(hello);
const offModule = freshOnly.prepare(hello);
check(reusing.invokeInThread(onModule, REQUEST, { seed: SEED }));
check(freshOnly.invokeInThread(offModule, REQUEST, { seed: SEED }));
console.log(
  `hello (examples/hello); ${availableParallelism()} cores; reuse limits ${JSON.stringify(DEFAULT_INSTANCE_REUSE_LIMITS)}`,
);

// 1. In-thread latency.
{
  const importObject = linkPlanFor(onModule.module).importObject;
  const samples = interleaved(
    {
      'bare new WebAssembly.Instance (prepared)': () =>
        new WebAssembly.Instance(onModule.module, importObject),
      'invokeInThread, fresh instance': () => freshOnly.invokeInThread(offModule, REQUEST, { seed: SEED }),
      'invokeInThread, reused instance': () => reusing.invokeInThread(onModule, REQUEST, { seed: SEED }),
    },
    RUNS,
  );
  console.log(`\nin-thread, ${RUNS} runs each, interleaved in blocks of ${BLOCK}:`);
  for (const [name, latencies] of Object.entries(samples))
    console.log(`  ${name.padEnd(42)} ${summary(latencies)}`);
  console.log(`  thread pool after: ${JSON.stringify(threadInstancePool.stats())}`);
}

// 2. Pool throughput.
async function saturate(sandbox: Sandbox, prepared: PreparedModule, total: number) {
  let issued = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  async function lane(): Promise<void> {
    while (issued < total) {
      issued++;
      check(await sandbox.invoke(prepared, REQUEST, { seed: SEED }));
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, total) }, lane));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { perSecond: total / seconds, cpuUs: (used.user + used.system) / total };
}

{
  console.log(`\npool, ${WORKERS} workers, ${CONCURRENCY} in flight, ${TOTAL} invocations per measurement:`);
  await saturate(reusing, onModule, 4_000);
  await saturate(freshOnly, offModule, 4_000);
  for (let round = 1; round <= 2; round++) {
    for (const [label, sandbox, prepared] of [
      ['reuse on ', reusing, onModule],
      ['reuse off', freshOnly, offModule],
    ] as const) {
      const { perSecond, cpuUs } = await saturate(sandbox, prepared, TOTAL);
      console.log(
        `  round ${round} ${label}  ${Math.round(perSecond).toString().padStart(6)} inv/s  cpu/inv ${cpuUs.toFixed(0).padStart(4)} µs (all threads)`,
      );
    }
  }
  await reusing.close();
  await freshOnly.close();
}

// 3. By initial memory size (a guest touching 16 KiB), up to the reuse limit and one page over.
{
  const wabt = await wabtInit();
  const limitPages = DEFAULT_INSTANCE_REUSE_LIMITS.maxReusableMemoryBytes / WASM_PAGE_BYTES;
  console.log(`\nin-thread by initial memory (reused up to ${limitPages} pages), ${RUNS / 4} runs each:`);
  for (const pages of [1, 16, limitPages, limitPages + 1]) {
    const parsed = wabt.parseWat(
      'sized.wat',
      `(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") ${pages})
        (data (i32.const 16) "{\\"status\\":200,\\"headers\\":{},\\"body\\":\\"\\"}")
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 37))
          (memory.fill (i32.const 1024) (i32.const 7) (i32.const 16384))
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`,
    );
    const bytes = parsed.toBinary({}).buffer;
    parsed.destroy();
    const on = new Sandbox();
    const off = new Sandbox({ reuseInstances: false });
    const [a, b] = [on.prepare(bytes), off.prepare(bytes)];
    const samples = interleaved(
      {
        fresh: () => check(off.invokeInThread(b, {}, { seed: SEED })),
        reuse: () => check(on.invokeInThread(a, {}, { seed: SEED })),
      },
      RUNS / 4,
    );
    console.log(
      `  ${String(pages).padStart(3)} pages  fresh ${summary(samples.fresh!)}   reuse on ${summary(samples.reuse!)}`,
    );
  }
}
