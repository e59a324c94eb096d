/**
 * Latency of the hello guest through the public sandbox API, in-thread: `Sandbox.invokeInThread`
 * (link, instance, fuel + memory ceiling, start, _start, response parsing) with a fresh instance
 * per call and with instance reuse (reset to the initial state), beside a baseline measured in
 * the same run — a bare `new WebAssembly.Instance` of the ORIGINAL (unmetered) module with a
 * minimal JS WASI and a call of `_start`.
 *
 *   node bench/sandbox-latency.ts [--runs 20000]
 *
 * Target (issue 2): p50 ≤ 60 µs. Prints p50/p99 and the ratio; asserts nothing (the machine is shared).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Sandbox, buildRequest, encodeRequest } from '@gojinn/sandbox';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20000' } } });
const RUNS = Number(values.runs);
const WARMUP = 2_000;

const bytes = readFileSync(new URL('../examples/hello/build/hello.wasm', import.meta.url));
const stdin = encodeRequest(buildRequest({ uri: '/?name=bench', trace_id: '0'.repeat(32) }));

/** The least a WASI host can do for this guest: stdin from a buffer, stdout into a list, exit. */
function bareWasi(getMemory: () => WebAssembly.Memory) {
  let offset = 0;
  const view = () => new DataView(getMemory().buffer);
  const iovecs = (ptr: number, count: number, each: (at: number, len: number) => number): number => {
    let total = 0;
    for (let i = 0; i < count; i++) {
      const base = view().getUint32(ptr + i * 8, true);
      const len = view().getUint32(ptr + i * 8 + 4, true);
      const moved = each(base, len);
      total += moved;
      if (moved < len) break;
    }
    return total;
  };
  const out: Uint8Array[] = [];
  const stub = () => 52; // ENOSYS
  return {
    out,
    imports: new Proxy(
      {
        fd_read: (_fd: number, ptr: number, count: number, nread: number) => {
          const read = iovecs(ptr, count, (at, len) => {
            const chunk = stdin.subarray(offset, offset + len);
            new Uint8Array(getMemory().buffer, at, chunk.length).set(chunk);
            offset += chunk.length;
            return chunk.length;
          });
          view().setUint32(nread, read, true);
          return 0;
        },
        fd_write: (_fd: number, ptr: number, count: number, nwritten: number) => {
          const written = iovecs(ptr, count, (at, len) => {
            out.push(new Uint8Array(getMemory().buffer, at, len).slice());
            return len;
          });
          view().setUint32(nwritten, written, true);
          return 0;
        },
        proc_exit: (code: number) => {
          throw new Error(`exit ${code}`);
        },
      } as Record<string, (...args: number[]) => number>,
      { get: (target, name: string) => target[name] ?? stub },
    ),
  };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

function measure(label: string, once: () => void): { p50: number; p99: number } {
  for (let i = 0; i < WARMUP; i++) once();
  const times = new Float64Array(RUNS);
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    once();
    times[i] = (performance.now() - start) * 1000;
  }
  times.sort();
  const result = { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
  console.log(
    `${label.padEnd(52)} p50 ${result.p50.toFixed(1).padStart(6)} µs   p99 ${result.p99.toFixed(1).padStart(6)} µs`,
  );
  return result;
}

const original = new WebAssembly.Module(bytes);
const bare = measure('baseline: new WebAssembly.Instance + _start (unmetered)', () => {
  const bound: { memory?: WebAssembly.Memory } = {};
  const wasi = bareWasi(() => bound.memory as WebAssembly.Memory);
  const instance = new WebAssembly.Instance(original, { wasi_snapshot_preview1: wasi.imports });
  bound.memory = instance.exports.memory as WebAssembly.Memory;
  (instance.exports._start as () => void)();
  if (wasi.out.length === 0) throw new Error('no output');
});

const seed = '1'.repeat(64);
const results: Record<string, { p50: number; p99: number }> = {};
for (const [label, reuseInstances] of [
  ['Sandbox.invokeInThread, fresh instance each call', false],
  ['Sandbox.invokeInThread, instance reused (reset)', true],
] as const) {
  const sandbox = new Sandbox({ reuseInstances });
  const prepared = sandbox.prepare(bytes);
  const check = sandbox.invokeInThread(prepared, stdin, { seed });
  if (!check.ok) throw new Error(`hello failed: ${check.error?.code}`);
  results[label] = measure(label, () => {
    const outcome = sandbox.invokeInThread(prepared, stdin, { seed });
    if (!outcome.ok) throw new Error('failed');
  });
  await sandbox.close();
}
for (const [label, result] of Object.entries(results)) {
  console.log(
    `${label}: p50 ${(result.p50 / bare.p50).toFixed(2)}× the bare instance  (target: p50 ≤ 60 µs)`,
  );
}
