/**
 * Install time for a 1 MiB module through ModuleRegistry.install (parse + verify the signed
 * manifest, revocation and rollback lookups, sha-256, import listing, one atomic durable
 * batch), beside its two halves (verifyModule alone; the store's atomic install alone) and
 * the baseline, a bare `level` put of the same bytes — all in the same run, rounds
 * interleaved so every variant sees the same machine load. Prints p50 and p90 per variant.
 *
 *   node bench/install.ts [--runs 30] [--kib 1024]
 *
 * The module is the wasm header plus one custom section of random bytes: it exercises
 * hashing and storage at full size; a module with 1 MiB of code would add import-listing
 * (validation) time on top.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  TrustPolicy,
  encodeManifest,
  keyPairFromSeed,
  moduleDigest,
  parseManifest,
  readModuleImports,
  signManifest,
  verifyModule,
} from '@gojinn/manifest';
import { ModuleRegistry } from '@gojinn/registry';
import { openStore } from '@gojinn/store';
import { Level } from 'level';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '30' }, kib: { type: 'string', default: '1024' } },
});
const RUNS = Number(values.runs);
const SIZE = Number(values.kib) * 1024;
const WARM_UP_RUNS = 3;

const publisher = keyPairFromSeed(new Uint8Array(32).fill(7));
const trust = new TrustPolicy({ publishers: [publisher.publicKey] });

/** A valid module of exactly SIZE bytes: header, then one custom section named "b" of random bytes. */
function moduleOfSize(size: number): Uint8Array {
  for (let lebBytes = 1; lebBytes <= 5; lebBytes += 1) {
    const contentLength = size - 8 - 1 - lebBytes;
    const leb: number[] = [];
    let rest = contentLength;
    do {
      leb.push((rest & 0x7f) | (rest > 0x7f ? 0x80 : 0));
      rest >>>= 7;
    } while (rest !== 0);
    if (leb.length !== lebBytes) continue;
    const header = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, ...leb, 1, 0x62);
    return new Uint8Array(Buffer.concat([header, randomBytes(contentLength - 2)]));
  }
  throw new RangeError(`cannot build a module of ${size} bytes`);
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Pause before each timed operation, so LevelDB's background flush of the previous write does not land inside it. */
const SETTLE_MS = 30;

async function timed(action: () => Promise<unknown>): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const started = performance.now();
  await action();
  return performance.now() - started;
}

const root = await mkdtemp(join(tmpdir(), 'gojinn-bench-install-'));
try {
  const store = await openStore(join(root, 'registry'));
  const registry = new ModuleRegistry({ store, trust });
  const storeOnly = await openStore(join(root, 'store'));
  const bare = new Level<string, Uint8Array>(join(root, 'bare'), { valueEncoding: 'view' });
  await bare.open();

  const samples: Record<string, number[]> = {
    'registry.install (verify + store, sync)': [],
    'verifyModule alone (no cache, no store)': [],
    'store.install alone (sync)': [],
    'bare level put (sync)': [],
    'bare level put (no sync)': [],
  };
  for (let run = 0; run < WARM_UP_RUNS + RUNS; run += 1) {
    const bytes = moduleOfSize(SIZE);
    const version = `1.0.${run}`;
    const manifestBytes = encodeManifest(
      signManifest({ name: 'bench', version, ...moduleDigest(bytes), capabilities: {} }, publisher.secretKey),
    );
    const times = [
      await timed(() => registry.install(bytes, manifestBytes)),
      await timed(async () => verifyModule(parseManifest(manifestBytes), bytes, trust, readModuleImports)),
      await timed(() =>
        storeOnly.install({
          key: { name: 'bench', publisher: publisher.publicKey, version },
          moduleBytes: bytes,
          manifestBytes,
          capabilities: [],
          state: { active: version, highest: version },
        }),
      ),
      await timed(() => bare.put(`sync-${run}`, bytes, { sync: true } as never)),
      await timed(() => bare.put(`async-${run}`, bytes)),
    ];
    if (run < WARM_UP_RUNS) continue;
    Object.values(samples).forEach((list, i) => list.push(times[i] ?? NaN));
  }
  await Promise.all([store.close(), storeOnly.close(), bare.close()]);

  const baseline = percentile(samples['bare level put (sync)'] ?? [], 50);
  process.stdout.write(
    `install of a ${SIZE / 1024} KiB module, ${RUNS} runs (after ${WARM_UP_RUNS} warm-up), same run:\n`,
  );
  for (const [name, list] of Object.entries(samples)) {
    const p50 = percentile(list, 50);
    process.stdout.write(
      `  ${name.padEnd(42)} p50 ${p50.toFixed(2).padStart(7)} ms   p90 ${percentile(list, 90).toFixed(2).padStart(7)} ms   ` +
        `${(p50 / baseline).toFixed(2)}× bare sync put\n`,
    );
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
