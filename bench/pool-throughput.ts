/**
 * Worker-pool throughput and latency for the hello guest, beside the same invocation run
 * in-thread (`runInvocation` on the main thread: the floor the pool adds its cost to).
 *
 *   node bench/pool-throughput.ts [--workers 2] [--total 100000] [--concurrency 512] [--depths 1,4,8,16]
 *
 * Prints, in one run: in-thread invocations/s and p50/p99; the pool saturated (`--concurrency`
 * invocations kept in flight; p50/p99 include queueing) for each pipeline depth; one at a
 * time through the pool (round-trip latency); CPU per invocation (all threads, and the main
 * thread alone), steadier than invocations/s on a shared machine; RSS before the pool, with
 * the pool ready and idle, and after `--total` invocations. --expose-gc steadies the RSS.
 * Uses examples/hello/build/hello.wasm (`npm run build:guests`) when present, else a WAT hello.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import wabtInit from 'wabt';
import { DEFAULT_INVOCATION_LIMITS, DEFAULT_MODULE_LIMITS } from '../packages/sandbox/src/limits.ts';
import { WorkerPool } from '../packages/sandbox/src/pool/worker-pool.ts';
import type { PooledModule } from '../packages/sandbox/src/pool/worker-slot.ts';
import { buildRequest, encodeRequest, runInvocation } from '../packages/sandbox/src/runtime/index.ts';
import type { InvocationSpec, RuntimeModuleInfo } from '../packages/sandbox/src/runtime/types.ts';
import { prepareWasm } from '../packages/sandbox/src/wasm/index.ts';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    total: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '512' },
    depths: { type: 'string', default: '1,4,8,16' },
    'sweep-total': { type: 'string', default: '20000' },
  },
});
const WORKERS = Number(values.workers);
const TOTAL = Number(values.total);
const CONCURRENCY = Number(values.concurrency);
const DEPTHS = values.depths.split(',').map(Number);
const SWEEP_TOTAL = Number(values['sweep-total']);
const DEFAULT_DEPTH = 8;
const SEQUENTIAL_RUNS = 2_000;
const IN_THREAD_RUNS = 20_000;

const HELLO_PATH = new URL('../examples/hello/build/hello.wasm', import.meta.url);

/** A minimal WASI command that writes a fixed response: used when the AssemblyScript build is absent. */
const WAT_HELLO = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "{\\"status\\":200,\\"headers\\":{},\\"body\\":\\"hello\\"}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 44))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

async function helloBytes(): Promise<{ bytes: Uint8Array; source: string }> {
  if (existsSync(HELLO_PATH))
    return { bytes: new Uint8Array(readFileSync(HELLO_PATH)), source: 'examples/hello' };
  const wabt = await wabtInit();
  const parsed = wabt.parseWat('hello.wat', WAT_HELLO);
  const bytes = parsed.toBinary({}).buffer;
  parsed.destroy();
  return { bytes, source: 'WAT hello (examples not built)' };
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function fmt(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(0).padStart(5)} µs` : `${ms.toFixed(2).padStart(5)} ms`;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

interface Measurement {
  count: number;
  seconds: number;
  latencies: Float64Array;
  /** CPU µs per invocation: every thread of the process, and the main thread. */
  cpuUs: number;
  mainCpuUs: number;
}

/** Runs `body`, which fills `latencies` (ms) for `count` invocations, and measures time and CPU. */
async function measure(
  count: number,
  body: (latencies: Float64Array) => Promise<void> | void,
): Promise<Measurement> {
  const latencies = new Float64Array(count);
  const cpu = process.cpuUsage();
  const mainCpu = process.threadCpuUsage();
  const started = performance.now();
  await body(latencies);
  const seconds = (performance.now() - started) / 1000;
  const all = process.cpuUsage(cpu);
  const main = process.threadCpuUsage(mainCpu);
  return {
    count,
    seconds,
    latencies,
    cpuUs: (all.user + all.system) / count,
    mainCpuUs: (main.user + main.system) / count,
  };
}

function report(label: string, m: Measurement): void {
  const sorted = m.latencies.slice().sort();
  const perSecond = String(Math.round(m.count / m.seconds)).padStart(6);
  const cpu = `cpu/inv ${m.cpuUs.toFixed(0).padStart(4)} µs (main ${m.mainCpuUs.toFixed(0)})`;
  console.log(
    `${label.padEnd(42)} ${perSecond} inv/s  p50 ${fmt(quantile(sorted, 0.5))}  p99 ${fmt(quantile(sorted, 0.99))}  ${cpu}`,
  );
}

const { bytes, source } = await helloBytes();
const prepared = prepareWasm(bytes, {
  limits: DEFAULT_MODULE_LIMITS,
  memoryCeilingPages: DEFAULT_INVOCATION_LIMITS.memoryBytes / 65536,
});
const hello: PooledModule = {
  hash: createHash('sha256').update(bytes).digest('hex'),
  module: new WebAssembly.Module(prepared.bytes),
  info: prepared.info,
};
const spec: InvocationSpec = {
  moduleHash: hello.hash,
  stdin: encodeRequest(buildRequest({ uri: '/hello?name=bench', trace_id: '0'.repeat(32) })),
  limits: DEFAULT_INVOCATION_LIMITS,
  seed: '0'.repeat(64),
  granted: [],
};

console.log(`guest: ${source}; ${WORKERS} workers; ${availableParallelism()} cores`);

// Baseline: the same invocation on this thread, no pool.
{
  const info = prepared.info as RuntimeModuleInfo;
  const first = runInvocation(hello.module, info, spec);
  if (!first.ok) throw new Error(`hello failed in-thread: ${JSON.stringify(first.error)}`);
  for (let i = 0; i < 2_000; i++) runInvocation(hello.module, info, spec);
  const baseline = await measure(IN_THREAD_RUNS, (latencies) => {
    for (let i = 0; i < IN_THREAD_RUNS; i++) {
      const t0 = performance.now();
      runInvocation(hello.module, info, spec);
      latencies[i] = performance.now() - t0;
    }
  });
  report('in-thread (baseline, 1 thread)', baseline);
}

/** Keeps `concurrency` invocations in flight until `total` have completed. */
function saturate(pool: WorkerPool, total: number, concurrency: number): Promise<Measurement> {
  return measure(total, async (latencies) => {
    let issued = 0;
    let failed = 0;
    async function lane(): Promise<void> {
      while (issued < total) {
        const index = issued++;
        const t0 = performance.now();
        const outcome = await pool.run(hello, spec);
        latencies[index] = performance.now() - t0;
        if (!outcome.ok) failed++;
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
    if (failed > 0) throw new Error(`${failed} invocations failed`);
  });
}

{
  globalThis.gc?.();
  const beforeRss = process.memoryUsage.rss();
  const pool = new WorkerPool({ size: WORKERS, pipelineDepth: DEFAULT_DEPTH, maxQueue: CONCURRENCY });
  await pool.ready();
  const idleRss = process.memoryUsage.rss();
  await saturate(pool, 2_000, CONCURRENCY);
  const sequential = await measure(SEQUENTIAL_RUNS, async (latencies) => {
    for (let i = 0; i < SEQUENTIAL_RUNS; i++) {
      const t0 = performance.now();
      await pool.run(hello, spec);
      latencies[i] = performance.now() - t0;
    }
  });
  report('pool one at a time (round trip)', sequential);
  report(
    `pool saturated, pipelineDepth ${DEFAULT_DEPTH} (default)`,
    await saturate(pool, TOTAL, CONCURRENCY),
  );
  globalThis.gc?.();
  const afterRss = process.memoryUsage.rss();
  console.log(
    `RSS: before the pool ${mib(beforeRss)}; pool ready, idle ${mib(idleRss)}; after ${TOTAL + 2_000 + SEQUENTIAL_RUNS} invocations ${mib(afterRss)}`,
  );
  console.log(`worker restarts: ${pool.workerRestarts}`);
  await pool.close();
}

// Other pipeline depths, for comparison (after the RSS figures, which they would inflate).
for (const depth of DEPTHS) {
  if (depth === DEFAULT_DEPTH) continue; // measured above with the full total
  const pool = new WorkerPool({ size: WORKERS, pipelineDepth: depth, maxQueue: CONCURRENCY });
  await pool.ready();
  await saturate(pool, 2_000, CONCURRENCY);
  report(`pool saturated, pipelineDepth ${depth}`, await saturate(pool, SWEEP_TOTAL, CONCURRENCY));
  await pool.close();
}
