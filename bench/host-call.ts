/**
 * Host-call cost from a guest: kv.get round trip (guest → worker host import → main-thread
 * dispatcher → kv handler → level → back into guest memory) and KV ops/s from one guest, beside
 * the baseline of a direct `level` get (and put) on the main thread, all in the same run.
 *
 *   node bench/host-call.ts [--gets 2000] [--invocations 10] [--sets 200]
 *
 * The round trip is timed on the main thread: the gap between two consecutive kv_get calls of
 * one invocation is one full round trip (reply to the worker, wake-up, the guest's loop step,
 * the next request back). Guest-side ops/s is calls / invocation wall time. The store is a real
 * one in a temp directory; sets are fsynced (the default: acknowledged writes are durable).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import wabtInit from 'wabt';
import { HostCallDispatcher } from '../packages/capabilities/src/dispatcher.ts';
import { HOST_IMPORTS_URL } from '../packages/capabilities/src/index.ts';
import { createKvHandlers } from '../packages/capabilities/src/kv/kv-handler.ts';
import { DEFAULT_KV_LIMITS } from '../packages/capabilities/src/kv/kv-limits.ts';
import { KvStore } from '../packages/capabilities/src/kv/kv-store.ts';
import { Sandbox, type HostHandler, type PreparedModule } from '../packages/sandbox/src/index.ts';
import { openStore } from '../packages/store/src/index.ts';

const { values } = parseArgs({
  options: {
    gets: { type: 'string', default: '2000' },
    invocations: { type: 'string', default: '10' },
    sets: { type: 'string', default: '200' },
  },
});
const GETS = Number(values.gets);
const INVOCATIONS = Number(values.invocations);
const SETS = Number(values.sets);

const KEY = 'bench/warm-key';
const VALUE = new TextEncoder().encode('0123456789abcdef'.repeat(4)); // 64 bytes
const MODULE = { name: 'bench', publisher: 'ed25519:bench', hash: '0'.repeat(64) };
const RIGHTS = { 'kv.read': { prefixes: ['bench/'] }, 'kv.write': { prefixes: ['bench/'] } };

/** Calls `fn` N times (N = the first 4 bytes of stdin) with the key at 1024 as its request. */
function loopGuest(fn: 'kv_get' | 'kv_set', request: Uint8Array): string {
  const data = [...request].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
  return `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "gojinn" "${fn}" (func $call (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "${data}")
  (data (i32.const 512) "{\\"status\\":200}")
  (func (export "_start") (local $n i32)
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 4))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (local.set $n (i32.load (i32.const 64)))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (if (i32.lt_s (call $call (i32.const 1024) (i32.const ${request.byteLength}) (i32.const 4096) (i32.const 4096)) (i32.const 0))
        (then unreachable))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (i32.store (i32.const 0) (i32.const 512)) (i32.store (i32.const 4) (i32.const 14))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
}

async function assemble(text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat('bench.wat', text);
  try {
    module.resolveNames();
    module.validate();
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function us(ms: number): string {
  return `${(ms * 1000).toFixed(1)} µs`;
}

function rate(count: number, ms: number): string {
  return `${Math.round((count / ms) * 1000).toLocaleString('en-US')}/s`;
}

const encoder = new TextEncoder();
const setRequest = new Uint8Array([...u32(KEY.length), ...encoder.encode(KEY), ...VALUE]);

const dir = await mkdtemp(join(tmpdir(), 'gojinn-bench-host-call-'));
const store = await openStore(join(dir, 'node'));
const sandbox = new Sandbox({ pool: { size: 1, hostImportsUrl: HOST_IMPORTS_URL } });
try {
  const kv = new KvStore(store.extension('kv'));
  const dispatcher = new HostCallDispatcher({ handlers: createKvHandlers(kv), log: () => {} });
  await kv.set(MODULE, encoder.encode(KEY), VALUE, DEFAULT_KV_LIMITS);
  const getter = sandbox.prepare(await assemble(loopGuest('kv_get', encoder.encode(KEY))));
  const setter = sandbox.prepare(await assemble(loopGuest('kv_set', setRequest)));

  /** One invocation making `calls` calls; returns its wall time and the gaps between calls (ms). */
  async function run(prepared: PreparedModule, calls: number): Promise<{ ms: number; gaps: number[] }> {
    const host = dispatcher.forInvocation({
      module: MODULE,
      rights: RIGHTS,
      traceId: '0'.repeat(32),
      deadline: Date.now() + 60_000,
    });
    const arrivals: number[] = [];
    const handler: HostHandler = (method, payload, context) => {
      arrivals.push(performance.now());
      return host.handler(method, payload, context);
    };
    const started = performance.now();
    const outcome = await sandbox.invoke(prepared, u32(calls), {
      granted: host.granted,
      hostHandler: handler,
      limits: { timeoutMs: 60_000 },
    });
    const ms = performance.now() - started;
    if (!outcome.ok) throw new Error(`bench guest failed: ${JSON.stringify(outcome.error)}`);
    return { ms, gaps: arrivals.slice(1).map((t, i) => t - (arrivals[i] as number)) };
  }

  await run(getter, 200); // warm: worker start, module in the worker's cache, JIT
  const gaps: number[] = [];
  let getMs = 0;
  for (let i = 0; i < INVOCATIONS; i++) {
    const result = await run(getter, GETS);
    gaps.push(...result.gaps);
    getMs += result.ms;
  }
  const emptyMs: number[] = [];
  for (let i = 0; i < INVOCATIONS; i++) emptyMs.push((await run(getter, 0)).ms);

  // Baselines on the main thread: the same key through level directly, and through KvStore.
  const db = store.extension('kv');
  const storedKey = `e/${encodeURIComponent(MODULE.publisher)}/${encodeURIComponent(MODULE.name)}/${Buffer.from(KEY).toString('hex')}`;
  if ((await db.get(storedKey)) === undefined) throw new Error('baseline key layout differs from kv-keys.ts');
  const direct: number[] = [];
  const viaStore: number[] = [];
  const total = GETS * INVOCATIONS;
  for (let i = 0; i < total; i++) {
    let t = performance.now();
    await db.get(storedKey);
    direct.push(performance.now() - t);
    t = performance.now();
    await kv.get(MODULE, encoder.encode(KEY));
    viaStore.push(performance.now() - t);
  }
  const directTotal = direct.reduce((a, b) => a + b, 0);

  await run(setter, 10);
  const setRun = await run(setter, SETS);
  const puts: number[] = [];
  for (let i = 0; i < SETS; i++) {
    const t = performance.now();
    await db.put(`bench-put/${i}`, VALUE, { sync: true } as object);
    puts.push(performance.now() - t);
  }
  const putTotal = puts.reduce((a, b) => a + b, 0);

  const emptyP50 = percentile(emptyMs, 50);
  console.log(
    `host-call bench: ${INVOCATIONS} invocations × ${GETS} kv_get of a warm ${VALUE.byteLength}-byte value; pool of 1 worker`,
  );
  console.log('');
  console.log('| measure | p50 | p90 | p99 |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| kv_get round trip from a guest (main-side gap between calls) | ${us(percentile(gaps, 50))} | ${us(percentile(gaps, 90))} | ${us(percentile(gaps, 99))} |`,
  );
  console.log(
    `| KvStore.get on the main thread | ${us(percentile(viaStore, 50))} | ${us(percentile(viaStore, 90))} | ${us(percentile(viaStore, 99))} |`,
  );
  console.log(
    `| baseline: level get on the main thread | ${us(percentile(direct, 50))} | ${us(percentile(direct, 90))} | ${us(percentile(direct, 99))} |`,
  );
  console.log('');
  console.log('| throughput | ops/s |');
  console.log('| --- | --- |');
  console.log(
    `| kv_get from one guest (calls / invocation time, incl. ${us(emptyP50)} per empty invocation) | ${rate(total, getMs)} |`,
  );
  console.log(`| baseline: sequential level get on the main thread | ${rate(total, directTotal)} |`);
  console.log(`| kv_set from one guest (fsynced batch of entry + usage) | ${rate(SETS, setRun.ms)} |`);
  console.log(`| baseline: sequential level put, sync, main thread | ${rate(SETS, putTotal)} |`);
} finally {
  await sandbox.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
