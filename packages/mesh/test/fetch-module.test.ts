import { test } from 'node:test';
import assert from 'node:assert/strict';
import { multiaddr } from '@multiformats/multiaddr';
import { GojinnError } from '@gojinn/errors';
import type { ErrorCode } from '@gojinn/errors';
import type { PeerId } from '@libp2p/interface';
import {
  announceModule,
  fetchModule,
  FETCH_PIPELINE_DEPTH,
  FETCH_PROTOCOL_ID,
  MAX_FETCH_CHUNK_BYTES,
  PeerLatencyCache,
} from '../src/fetch/index.ts';
import type { BadProvider, FetchProgress } from '../src/fetch/index.ts';
import { framedStream } from '../src/framing.ts';
import { TestMesh, addrOf, waitFor } from './support/nodes.ts';
import { waitForDhtPeers } from './support/fetch-dht.ts';
import { MemoryModuleSource, ReadGate, assertBytes, randomModule } from './support/fetch-sources.ts';
import { provider } from './support/fetch-providers.ts';

const MIB = MAX_FETCH_CHUNK_BYTES;

function fails(code: ErrorCode, pattern?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof GojinnError, `expected a GojinnError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  };
}

const ids = (peers: readonly PeerId[]): string[] => peers.map((p) => p.toString());

/** The ranges a provider read, by offset (pipelined requests may reach it in either order). */
function ranges(source: MemoryModuleSource): [number, number][] {
  return source.reads.map((r): [number, number] => [r.offset, r.length]).sort((x, y) => x[0] - y[0]);
}
const offsets = (source: MemoryModuleSource): number[] => ranges(source).map(([offset]) => offset);

void test('fetches 3 MiB + 5 bytes in four chunks in order, with a progress event per chunk', async () => {
  const mesh = new TestMesh();
  try {
    const client = await mesh.node();
    const module = randomModule(3 * MIB + 5);
    const a = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    const progress: FetchProgress[] = [];
    const bytes = await fetchModule(client.libp2p, {
      sha256: module.sha256,
      size: module.bytes.byteLength,
      maxBytes: 4 * MIB,
      providers: [a.node.peerId],
      useDht: false,
      onProgress: (p) => progress.push(p),
    });
    assertBytes(bytes, module.bytes);
    assert.deepEqual(ranges(a.source), [
      [0, MIB],
      [MIB, MIB],
      [2 * MIB, MIB],
      [3 * MIB, 5],
    ]);
    assert.deepEqual(
      progress.map((p) => [p.received, p.total, p.peer.toString()]),
      [MIB, 2 * MIB, 3 * MIB, 3 * MIB + 5].map((r) => [r, 3 * MIB + 5, a.node.peerId.toString()]),
    );
  } finally {
    await mesh.close();
  }
});

void test('a module at maxBytes is fetched; one byte over is refused before any request', async () => {
  const mesh = new TestMesh();
  try {
    const client = await mesh.node();
    const module = randomModule(1000);
    const a = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    const base = { sha256: module.sha256, providers: [a.node.peerId], useDht: false };
    await assert.rejects(
      fetchModule(client.libp2p, { ...base, size: 1000, maxBytes: 999 }),
      fails('bad_request', /1000 bytes exceeds this node's module size limit \(maxBytes 999\)/),
    );
    assert.equal(a.source.reads.length, 0, 'nothing was asked of the provider');
    assertBytes(await fetchModule(client.libp2p, { ...base, size: 1000, maxBytes: 1000 }), module.bytes);
    for (const bad of [
      { ...base, sha256: 'x', size: 1, maxBytes: 10 },
      { ...base, size: 0, maxBytes: 10 },
      { ...base, size: 1.5, maxBytes: 10 },
      { ...base, size: 10, maxBytes: 0 },
    ]) {
      await assert.rejects(fetchModule(client.libp2p, bad), fails('bad_request'));
    }
  } finally {
    await mesh.close();
  }
});

void test('a provider killed mid-fetch: the fetch continues from the same offset on another provider', async () => {
  const mesh = new TestMesh();
  try {
    const client = await mesh.node();
    const module = randomModule(3 * MIB);
    const a = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    const b = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    // Whichever provider is asked for the second chunk first dies while reading it, once the
    // first chunk has reached the client (the second is requested before: fetches pipeline).
    let killed: PeerId | undefined;
    const progress: FetchProgress[] = [];
    for (const p of [a, b]) {
      p.source.beforeRead = async (read) => {
        if (read.offset < MIB || killed !== undefined) return;
        killed = p.node.peerId;
        await waitFor(() => progress.length === 1, 'the first chunk at the client');
        await mesh.stop(p.node);
        throw new Error('the node stopped');
      };
    }
    const badProviders: BadProvider[] = [];
    const bytes = await fetchModule(client.libp2p, {
      sha256: module.sha256,
      size: module.bytes.byteLength,
      maxBytes: 4 * MIB,
      providers: [a.node.peerId, b.node.peerId],
      useDht: false,
      onProgress: (p) => progress.push(p),
      onBadProvider: (bad) => badProviders.push(bad),
    });
    assertBytes(bytes, module.bytes);
    assert.ok(killed !== undefined, 'a provider was killed');
    const [dead, live] = killed.equals(a.node.peerId) ? [a, b] : [b, a];
    // The survivor was asked from 1 MiB on: the first chunk was kept, not fetched again.
    assert.deepEqual(offsets(live.source), [MIB, 2 * MIB]);
    // It may also have been asked for the third chunk while dying; it never delivered it.
    assert.deepEqual(offsets(dead.source).slice(0, 2), [0, MIB]);
    assert.deepEqual(
      progress.map((p) => [p.received, p.peer.toString()]),
      [
        [MIB, dead.node.peerId.toString()],
        [2 * MIB, live.node.peerId.toString()],
        [3 * MIB, live.node.peerId.toString()],
      ],
    );
    assert.deepEqual(badProviders, [], 'a provider that went away is not a liar');
  } finally {
    await mesh.close();
  }
});

void test('a lying provider (right length, wrong bytes): module hash mismatch, nothing returned, the liar reported', async () => {
  const mesh = new TestMesh();
  try {
    const client = await mesh.node();
    const module = randomModule(MIB + 100);
    const forged = randomModule(MIB + 100);
    const liar = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, forged.bytes));
    const badProviders: BadProvider[] = [];
    await assert.rejects(
      fetchModule(client.libp2p, {
        sha256: module.sha256,
        size: module.bytes.byteLength,
        maxBytes: 2 * MIB,
        providers: [liar.node.peerId],
        useDht: false,
        onBadProvider: (bad) => badProviders.push(bad),
      }),
      fails(
        'signature_invalid',
        new RegExp(`^module hash mismatch: manifest says ${module.sha256}, bytes hash to ${forged.sha256}`),
      ),
    );
    assert.deepEqual(
      badProviders.map((b) => [b.peer.toString(), b.reason]),
      [[liar.node.peerId.toString(), 'hash_mismatch']],
    );
  } finally {
    await mesh.close();
  }
});

void test('a provider serving a short module is dropped as wrong_length and the DHT provider finishes from the same offset', async () => {
  const mesh = new TestMesh();
  try {
    const client = await mesh.node();
    const module = randomModule(2 * MIB);
    const short = await provider(
      mesh,
      [client],
      new MemoryModuleSource().add(module.sha256, module.bytes.subarray(0, 2 * MIB - 1)),
    );
    const honest = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    // The DHT learns its peers once identify has run; announce after that.
    await waitForDhtPeers(honest.node, 1);
    await waitForDhtPeers(client, 2);
    await announceModule(honest.node.libp2p, module.sha256, { signal: AbortSignal.timeout(10_000) });
    const badProviders: BadProvider[] = [];
    const bytes = await fetchModule(client.libp2p, {
      sha256: module.sha256,
      size: module.bytes.byteLength,
      maxBytes: 2 * MIB,
      providers: [short.node.peerId],
      onBadProvider: (bad) => badProviders.push(bad),
    });
    assertBytes(bytes, module.bytes);
    assert.deepEqual(ranges(short.source), [
      [0, MIB],
      [MIB, MIB - 1],
    ]);
    assert.deepEqual(offsets(honest.source), [MIB]);
    assert.deepEqual(
      badProviders.map((b) => [b.peer.toString(), b.reason]),
      [[short.node.peerId.toString(), 'wrong_length']],
    );
  } finally {
    await mesh.close();
  }
});

void test('all providers down ⇒ peer_unreachable naming them; none at all ⇒ not_found', async () => {
  const mesh = new TestMesh();
  try {
    const client = await mesh.node();
    const module = randomModule(1000);
    const a = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    const b = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    await mesh.stop(a.node);
    await mesh.stop(b.node);
    const request = { sha256: module.sha256, size: 1000, maxBytes: 1000, useDht: false };
    await assert.rejects(
      fetchModule(client.libp2p, { ...request, providers: [a.node.peerId, b.node.peerId] }),
      (error: unknown) => {
        assert.ok(
          fails('peer_unreachable', /no provider delivered module .* \(0 of 1000 bytes received\)/)(error),
        );
        const message = (error as Error).message;
        for (const p of [a, b]) assert.ok(message.includes(p.node.peerId.toString()), message);
        return true;
      },
    );
    // A provider without the module counts as one that failed.
    const empty = await provider(mesh, [client]);
    await assert.rejects(
      fetchModule(client.libp2p, { ...request, providers: [empty.node.peerId] }),
      fails('peer_unreachable', /not_found/),
    );
    // Nobody given, and the DHT (connected to `empty` only) knows no provider.
    await assert.rejects(
      fetchModule(client.libp2p, { ...request, useDht: true, dhtTimeoutMs: 3000 }),
      fails('not_found', /no provider of module/),
    );
    // This node itself is never a provider.
    await assert.rejects(
      fetchModule(client.libp2p, { ...request, providers: [client.peerId] }),
      fails('not_found'),
    );
  } finally {
    await mesh.close();
  }
});

void test('providers are tried fastest first by the cached ping RTT', async () => {
  const mesh = new TestMesh();
  try {
    const client = await mesh.node();
    const module = randomModule(1000);
    const a = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    const b = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    const latency = new PeerLatencyCache();
    // Measurements recorded by hand: the cache is what orders, and it is not pinged again.
    latency.set(a.node.peerId, 50);
    latency.set(b.node.peerId, 1);
    const request = { sha256: module.sha256, size: 1000, maxBytes: 1000, useDht: false, latency };
    const order = [a.node.peerId, b.node.peerId];
    await fetchModule(client.libp2p, { ...request, providers: order });
    assert.equal(b.source.reads.length, 1);
    assert.equal(a.source.reads.length, 0);
    latency.set(b.node.peerId, 100);
    await fetchModule(client.libp2p, { ...request, providers: order });
    assert.equal(a.source.reads.length, 1);
    // Unknown peers are pinged: both answer, and get real RTTs.
    const fresh = new PeerLatencyCache();
    assert.deepEqual(ids(await fresh.order(client.libp2p, order)).sort(), ids(order).sort());
    for (const peer of order)
      assert.ok(Number.isFinite(fresh.get(peer)), `measured ${String(fresh.get(peer))}`);
    // A peer that does not answer goes last.
    const gone = await mesh.node();
    await client.libp2p.dial(multiaddr(addrOf(gone)));
    await mesh.stop(gone);
    const withGone = await fresh.order(client.libp2p, [gone.peerId, a.node.peerId]);
    assert.deepEqual(ids(withGone), ids([a.node.peerId, gone.peerId]));
    assert.equal(fresh.get(gone.peerId), Number.POSITIVE_INFINITY);
  } finally {
    await mesh.close();
  }
});

void test('the caller’s signal cancels a fetch with its reason', async () => {
  const mesh = new TestMesh();
  try {
    const client = await mesh.node();
    const module = randomModule(2 * MIB);
    const a = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    const controller = new AbortController();
    a.source.beforeRead = async () => {
      controller.abort(new Error('caller gave up'));
      await new Promise((r) => setTimeout(r, 50));
    };
    await assert.rejects(
      fetchModule(client.libp2p, {
        sha256: module.sha256,
        size: 2 * MIB,
        maxBytes: 2 * MIB,
        providers: [a.node.peerId],
        useDht: false,
        signal: controller.signal,
      }),
      /caller gave up/,
    );
  } finally {
    await mesh.close();
  }
});

void test(`at most FETCH_PIPELINE_DEPTH (${FETCH_PIPELINE_DEPTH}) chunk requests are in flight to a provider; pipelineDepth is bounded`, async () => {
  const mesh = new TestMesh();
  try {
    const client = await mesh.node();
    const module = randomModule(4 * MIB);
    const a = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    const gate = new ReadGate();
    a.source.beforeRead = gate.hold;
    const request = {
      sha256: module.sha256,
      size: module.bytes.byteLength,
      maxBytes: 4 * MIB,
      providers: [a.node.peerId],
      useDht: false,
    };
    const fetching = fetchModule(client.libp2p, request);
    await waitFor(() => gate.waiting === FETCH_PIPELINE_DEPTH, 'the pipelined reads');
    // Give a third request every chance to arrive: it must not.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(gate.waiting, FETCH_PIPELINE_DEPTH);
    assert.deepEqual(offsets(a.source), [0, MIB]);
    gate.open();
    assertBytes(await fetching, module.bytes);
    // One at a time when asked.
    a.source.reads.length = 0;
    const serial = new ReadGate();
    a.source.beforeRead = serial.hold;
    const one = fetchModule(client.libp2p, { ...request, pipelineDepth: 1 });
    await waitFor(() => serial.waiting === 1, 'one read');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(serial.waiting, 1);
    serial.open();
    assertBytes(await one, module.bytes);
    for (const pipelineDepth of [0, 9, 1.5]) {
      await assert.rejects(
        fetchModule(client.libp2p, { ...request, pipelineDepth }),
        fails('bad_request', /pipelineDepth must be an integer 1..8/),
      );
    }
  } finally {
    await mesh.close();
  }
});

void test('a provider that breaks the framing (unknown status byte) is reported as bad_response and dropped', async () => {
  const mesh = new TestMesh();
  try {
    const client = await mesh.node();
    const module = randomModule(1000);
    // A misbehaving peer speaking the fetch protocol id with a reply no honest server sends.
    const rogue = await mesh.node();
    await rogue.libp2p.handle(FETCH_PROTOCOL_ID, async (stream) => {
      const framed = framedStream(stream, { maxReadBytes: 256, maxWriteBytes: 2000 });
      const signal = AbortSignal.timeout(5000);
      await framed.read(signal);
      await framed.write(new Uint8Array(1001).fill(7), signal);
      await stream.close({ signal });
    });
    await client.libp2p.dial(multiaddr(addrOf(rogue)));
    const badProviders: BadProvider[] = [];
    await assert.rejects(
      fetchModule(client.libp2p, {
        sha256: module.sha256,
        size: 1000,
        maxBytes: 1000,
        providers: [rogue.peerId],
        useDht: false,
        onBadProvider: (bad) => badProviders.push(bad),
      }),
      fails('peer_unreachable', /bad_response/),
    );
    assert.deepEqual(
      badProviders.map((b) => [b.peer.toString(), b.reason]),
      [[rogue.peerId.toString(), 'bad_response']],
    );
  } finally {
    await mesh.close();
  }
});
