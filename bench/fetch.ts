/**
 * Fetch by hash on loopback: `fetchModule` (1 MiB chunks, one stream per chunk, SHA-256 check)
 * from one provider over a warm connection — one chunk at a time and pipelined — beside the same number of raw bytes written over
 * a bare libp2p stream on the same two nodes (no framing, no hash) — the transport's ceiling —
 * and as one bare stream per 1 MiB chunk, one after another (what a stream per chunk costs).
 * Rounds alternate so both see the same machine load; prints median ms and MiB/s per size.
 *
 *   node bench/fetch.ts [--rounds 7] [--sizes 204800,3145728,16777216]
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

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    sizes: { type: 'string', default: '204800,3145728,16777216' },
  },
});
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
const source: ModuleSource = {
  size: (sha256) => Promise.resolve(modules.get(sha256)?.byteLength),
  read: (sha256, offset, length) => Promise.resolve(modules.get(sha256)!.subarray(offset, offset + length)),
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
} finally {
  await Promise.allSettled([server.stop(), client.stop()]);
  await Promise.allSettled(dirs.map((d) => rm(d, { recursive: true, force: true })));
}
