/**
 * Fetch by hash on loopback: `fetchModule` (1 MiB chunks, one stream per chunk, SHA-256 check)
 * from one provider over a warm connection — one chunk at a time and pipelined — beside the same number of raw bytes written over
 * a bare libp2p stream on the same two nodes (no framing, no hash) — the transport's ceiling —
 * and as one bare stream per 1 MiB chunk, one after another (what a stream per chunk costs).
 * Rounds alternate so both see the same machine load; prints median ms and MiB/s per size.
 *
 * Then the serving node's cost with a real registry on a temp store: the per-chunk source the
 * daemon had (registry.get — whole read + hash — for every chunk's size and read) against the
 * daemon's RegistryModuleSource, cold (emptied before each fetch: one whole read) and warm
 * (kept from the last fetch), beside the same bytes served from memory (the floor). Both nodes
 * run in this process, so the CPU figure (process.cpuUsage, every thread) includes the
 * client's identical share; the difference between the rows is the server's. Also printed:
 * whole-module reads (registry.get calls) per fetch.
 *
 *   node bench/fetch.ts [--rounds 7] [--sizes 204800,3145728,16777216] [--serving-rounds 5]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { multiaddr } from '@multiformats/multiaddr';
import type { Stream } from '@libp2p/interface';
import { createMeshNode } from '../packages/mesh/src/node.ts';
import type { MeshNode } from '../packages/mesh/src/node.ts';
import {
  createFetchProtocol,
  fetchModule,
  FETCH_PIPELINE_DEPTH,
  MAX_FETCH_CHUNK_BYTES,
} from '../packages/mesh/src/fetch/index.ts';
import type { ModuleSource } from '../packages/mesh/src/fetch/index.ts';
import {
  encodeManifest,
  keyPairFromSeed,
  moduleDigest,
  signManifest,
} from '../packages/manifest/src/index.ts';
import { ModuleRegistry } from '../packages/registry/src/index.ts';
import { openStore } from '../packages/store/src/index.ts';
import { moduleImporting, padToSize } from '../packages/registry/test/fixtures.ts';
import { RegistryModuleSource } from '../daemon/src/node/registry-module-source.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    sizes: { type: 'string', default: '204800,3145728,16777216' },
    'serving-rounds': { type: 'string', default: '5' },
  },
});
const SERVING_ROUNDS = Number(values['serving-rounds']);
const ROUNDS = Number(values.rounds);
const SIZES = values.sizes.split(',').map(Number);
const RAW_PROTOCOL = '/gojinn-bench/raw-bytes/1.0.0';
/** The raw sender writes in pieces of this size: the size of a fetch chunk, as fetch writes them. */
const RAW_PIECE_BYTES = 1_048_576;

const dirs: string[] = [];
async function node(): Promise<MeshNode> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-bench-fetch-'));
  dirs.push(dir);
  return createMeshNode({ dataDir: dir, localNetwork: true, rateLimitExempt: ['/ip4/127.0.0.1/ipcidr/32'] });
}

const modules = new Map<string, Uint8Array>();
const memorySource: ModuleSource = {
  size: (sha256) => Promise.resolve(modules.get(sha256)?.byteLength),
  read: (sha256, offset, length) => Promise.resolve(modules.get(sha256)!.subarray(offset, offset + length)),
};
/** The fetch server reads whichever source is being measured. */
let serving: ModuleSource = memorySource;
const source: ModuleSource = {
  size: (sha256) => serving.size(sha256),
  read: (sha256, offset, length, signal) => serving.read(sha256, offset, length, signal),
};

const server = await node();
const client = await node();
try {
  await createFetchProtocol({ source }).handle(server.libp2p);
  // The baseline: the server writes the requested number of raw bytes (a 4-byte count) and closes.
  await server.libp2p.handle(RAW_PROTOCOL, async (stream: Stream) => {
    let total = 0;
    for await (const chunk of stream) {
      total = Buffer.from(chunk.subarray()).readUInt32BE(0);
      break;
    }
    const piece = new Uint8Array(RAW_PIECE_BYTES);
    for (let sent = 0; sent < total; sent += RAW_PIECE_BYTES) {
      if (!stream.send(piece.subarray(0, Math.min(RAW_PIECE_BYTES, total - sent)))) await stream.onDrain();
    }
    await stream.close();
  });
  await client.libp2p.dial(multiaddr(server.libp2p.getMultiaddrs()[0]!.toString()));

  async function rawStream(size: number): Promise<void> {
    const stream = await client.libp2p.dialProtocol(server.peerId, RAW_PROTOCOL);
    const request = Buffer.alloc(4);
    request.writeUInt32BE(size);
    stream.send(request);
    // Close our side, as fetch does: a half-open stream would stay counted on the connection.
    await stream.close();
    let received = 0;
    for await (const chunk of stream) received += chunk.byteLength;
    if (received !== size) throw new Error(`raw: ${received} of ${size} bytes`);
  }

  async function raw(size: number): Promise<number> {
    const start = performance.now();
    await rawStream(size);
    return performance.now() - start;
  }

  /** The same bytes as raw streams of one fetch chunk each, one after another: the per-stream cost. */
  async function rawChunked(size: number): Promise<number> {
    const start = performance.now();
    for (let offset = 0; offset < size; offset += MAX_FETCH_CHUNK_BYTES) {
      await rawStream(Math.min(MAX_FETCH_CHUNK_BYTES, size - offset));
    }
    return performance.now() - start;
  }

  async function fetched(
    size: number,
    bytes: Uint8Array,
    sha256: string,
    pipelineDepth: number,
  ): Promise<number> {
    const start = performance.now();
    const got = await fetchModule(client.libp2p, {
      sha256,
      size,
      maxBytes: size,
      providers: [server.peerId],
      useDht: false,
      pipelineDepth,
    });
    const elapsed = performance.now() - start;
    if (!Buffer.from(got).equals(bytes)) throw new Error('fetch returned other bytes');
    return elapsed;
  }

  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mibs = (size: number, ms: number): string => (size / 1_048_576 / (ms / 1000)).toFixed(1);
  console.log(`fetch bench: ${ROUNDS} rounds per size (order rotated), one provider, warm connection`);
  for (const size of SIZES) {
    const bytes = new Uint8Array(randomBytes(size));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    modules.set(sha256, bytes);
    await raw(size); // warm-up
    await fetched(size, bytes, sha256, 1);
    await fetched(size, bytes, sha256, FETCH_PIPELINE_DEPTH);
    const times: Record<string, number[]> = { raw: [], rawChunked: [], depth1: [], pipelined: [] };
    const runs: [string, () => Promise<number>][] = [
      ['raw', () => raw(size)],
      ['rawChunked', () => rawChunked(size)],
      ['depth1', () => fetched(size, bytes, sha256, 1)],
      ['pipelined', () => fetched(size, bytes, sha256, FETCH_PIPELINE_DEPTH)],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round so no variant always runs first.
      for (let i = 0; i < runs.length; i++) {
        const [name, run] = runs[(round + i) % runs.length]!;
        times[name]!.push(await run());
      }
    }
    const r = median(times.raw!);
    const line = [`${String(size).padStart(9)} B  raw stream ${r.toFixed(1)} ms (${mibs(size, r)} MiB/s)`];
    for (const [name, label] of [
      ['rawChunked', 'raw 1 MiB streams'],
      ['depth1', 'fetchModule depth 1'],
      ['pipelined', `fetchModule depth ${FETCH_PIPELINE_DEPTH}`],
    ] as const) {
      const f = median(times[name]!);
      line.push(`${label} ${f.toFixed(1)} ms (${mibs(size, f)} MiB/s, ×${(f / r).toFixed(2)})`);
    }
    console.log(line.join('  '));
  }

  // The serving node's cost, from a real registry.
  const storeDir = await mkdtemp(join(tmpdir(), 'gojinn-bench-fetch-store-'));
  dirs.push(storeDir);
  const store = await openStore(storeDir);
  try {
    const key = keyPairFromSeed(new Uint8Array(32).fill(7));
    const registry = new ModuleRegistry({ store, trust: { publishers: [key.publicKey] } });
    let wholeReads = 0;
    const counted = {
      get: (hash: string) => {
        wholeReads++;
        return registry.get(hash);
      },
      servedRecord: (hash: string) => registry.servedRecord(hash),
    };
    /** The daemon's source before RegistryModuleSource: registry.get for every size and read. */
    const perChunk: ModuleSource = {
      size: async (sha256) => (await counted.get(sha256)).moduleBytes.byteLength,
      read: async (sha256, offset, length) =>
        (await counted.get(sha256)).moduleBytes.subarray(offset, offset + length),
    };
    const cached = new RegistryModuleSource({ registry: counted });
    const variants: [string, ModuleSource, boolean][] = [
      ['in memory (floor)', memorySource, false],
      ['registry.get per chunk', perChunk, false],
      ['RegistryModuleSource cold', cached, true],
      ['RegistryModuleSource warm', cached, false],
    ];
    console.log(
      `serving from a real registry: ${SERVING_ROUNDS} rounds per size (order rotated), fetchModule depth ${FETCH_PIPELINE_DEPTH}; ` +
        'medians per fetch; CPU is the whole process (both nodes)',
    );
    for (const [index, size] of SIZES.entries()) {
      const bytes = padToSize(await moduleImporting([], `bench-${index}`), size);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const manifest = signManifest(
        { name: `bench-${index}`, version: '1.0.0', ...moduleDigest(bytes), capabilities: {} },
        key.secretKey,
      );
      await registry.install(bytes, encodeManifest(manifest));
      modules.set(sha256, bytes);
      const results = new Map<string, { ms: number[]; cpu: number[]; reads: number[] }>();
      const measure = async (name: string, from: ModuleSource, cold: boolean): Promise<void> => {
        serving = from;
        if (cold) cached.clear();
        const readsBefore = wholeReads;
        const cpuBefore = process.cpuUsage();
        const ms = await fetched(size, bytes, sha256, FETCH_PIPELINE_DEPTH);
        const cpu = process.cpuUsage(cpuBefore);
        const result = results.get(name) ?? { ms: [], cpu: [], reads: [] };
        result.ms.push(ms);
        result.cpu.push((cpu.user + cpu.system) / 1000);
        result.reads.push(wholeReads - readsBefore);
        results.set(name, result);
      };
      for (const [, from, cold] of variants) {
        serving = from;
        if (cold) cached.clear();
        await fetched(size, bytes, sha256, FETCH_PIPELINE_DEPTH); // warm-up
      }
      for (let round = 0; round < SERVING_ROUNDS; round++) {
        for (let i = 0; i < variants.length; i++) {
          const [name, from, cold] = variants[(round + i) % variants.length]!;
          await measure(name, from, cold);
        }
      }
      const line = [`${String(size).padStart(9)} B`];
      for (const [name] of variants) {
        const result = results.get(name)!;
        line.push(
          `${name} ${median(result.ms).toFixed(1)} ms, CPU ${median(result.cpu).toFixed(1)} ms, ` +
            `${median(result.reads)} whole reads`,
        );
      }
      console.log(line.join('  |  '));
    }
    serving = memorySource;
    cached.clear();
  } finally {
    await store.close();
  }
} finally {
  await Promise.allSettled([server.stop(), client.stop()]);
  await Promise.allSettled(dirs.map((d) => rm(d, { recursive: true, force: true })));
}
