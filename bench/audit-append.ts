/**
 * Audit log append cost: entry version 2 (unsigned entries, one seal per append batch) beside
 * the version 1 path it replaced (every entry signed on its own, `entryVersion: 1`), from the
 * same run. Each variant appends invocation-shaped entries (~430 bytes) to its own fresh store
 * with the daemon's defaults (sync: true, maxBatchEntries 256), with 1 append in flight (each
 * its own batch) and with 64 in flight (a window: each completion starts the next, as a busy
 * gateway does). Reported per append: main-thread CPU (process.threadCpuUsage: what the
 * gateway's event loop pays), whole-process CPU (process.cpuUsage: LevelDB's threads too) and
 * wall time; then entries per seal, and verifyAuditLog's main-thread CPU per entry. Rounds
 * are interleaved so every variant sees the same machine load; each figure is the median.
 *
 *   node bench/audit-append.ts [--rounds 3] [--appends 2000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { keyPairFromSeed } from '@gojinn/manifest';
import { openStore } from '@gojinn/store';
import { AuditLog, verifyAuditLog } from '../daemon/src/audit/index.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, appends: { type: 'string', default: '2000' } },
});
const ROUNDS = Number(values.rounds);
const APPENDS = Number(values.appends);
/** One append at a time pays an fsync each: fewer of them keep the run short. */
const SERIAL_APPENDS = Math.max(1, Math.floor(APPENDS / 4));

const NODE_KEY = keyPairFromSeed(new Uint8Array(32).fill(3));

interface Variant {
  name: string;
  entryVersion: 1 | 2;
  inFlight: number;
}

interface Figures {
  mainUs: number;
  processUs: number;
  wallUs: number;
  perSeal: number;
  verifyUs: number;
}

const VARIANTS: Variant[] = [
  { name: 'v1 per-entry signature, 1 in flight', entryVersion: 1, inFlight: 1 },
  { name: 'v2 sealed per batch,    1 in flight', entryVersion: 2, inFlight: 1 },
  { name: 'v1 per-entry signature, 64 in flight', entryVersion: 1, inFlight: 64 },
  { name: 'v2 sealed per batch,    64 in flight', entryVersion: 2, inFlight: 64 },
];

function invocation(i: number) {
  return {
    name: 'hello-world-function',
    traceId: `00-${i.toString(16).padStart(32, '0')}-${'ab'.repeat(8)}-01`,
    outcome: 'ok',
    durationMs: 0.412,
    fuelUsed: String(123_456 + i),
    route: 'GET /hello-world-function/some/path',
    status: 200,
    remote: '127.0.0.1',
    apiKey: 'key-0123456789abcdef',
    peer: '12D3KooWGzBA3h5gJYwZoQF9ZhvYz6ZbqYzJpsVf1bWm7R9bZkQx',
  };
}

async function runOnce(variant: Variant): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-bench-audit-'));
  const store = await openStore(dir);
  try {
    const log = await AuditLog.open(store.extension('audit'), {
      signingKey: NODE_KEY,
      entryVersion: variant.entryVersion,
    });
    const total = variant.inFlight === 1 ? SERIAL_APPENDS : APPENDS;
    let started = 0;
    const worker = async (): Promise<void> => {
      while (started < total) {
        const i = started++;
        await log.append('invocation', invocation(i));
      }
    };
    const wallFrom = performance.now();
    const processFrom = process.cpuUsage();
    const mainFrom = process.threadCpuUsage();
    await Promise.all(Array.from({ length: variant.inFlight }, worker));
    const main = process.threadCpuUsage(mainFrom);
    const proc = process.cpuUsage(processFrom);
    const wall = performance.now() - wallFrom;
    const verifyFrom = process.threadCpuUsage();
    const report = await verifyAuditLog(store.extension('audit'), { publicKey: NODE_KEY.publicKey });
    const verifyCpu = process.threadCpuUsage(verifyFrom);
    if (!report.ok || report.entriesVerified !== total)
      throw new Error(`bench log broken: ${JSON.stringify(report)}`);
    return {
      mainUs: (main.user + main.system) / total,
      processUs: (proc.user + proc.system) / total,
      wallUs: (wall * 1000) / total,
      perSeal: report.sealsVerified === 0 ? 1 : total / report.sealsVerified,
      verifyUs: (verifyCpu.user + verifyCpu.system) / total,
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const results = new Map<string, Figures[]>(VARIANTS.map((v) => [v.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const variant of VARIANTS) results.get(variant.name)?.push(await runOnce(variant));
}

console.log(
  `audit append, ${APPENDS} appends at 64 in flight / ${SERIAL_APPENDS} at 1, sync: true, median of ${ROUNDS} rounds`,
);
console.log(
  'variant                               main CPU µs/append  process CPU µs/append  wall µs/append  entries/seal  verify CPU µs/entry',
);
for (const variant of VARIANTS) {
  const runs = results.get(variant.name) ?? [];
  const pick = (key: keyof Figures) => median(runs.map((r) => r[key]));
  console.log(
    `${variant.name.padEnd(38)}${pick('mainUs').toFixed(1).padStart(18)}${pick('processUs').toFixed(1).padStart(23)}` +
      `${pick('wallUs').toFixed(1).padStart(16)}${(variant.entryVersion === 1 ? '—' : pick('perSeal').toFixed(1)).padStart(14)}` +
      `${pick('verifyUs').toFixed(1).padStart(21)}`,
  );
}
