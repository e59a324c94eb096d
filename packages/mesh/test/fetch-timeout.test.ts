// Its own file: it waits out one FETCH_TIMEOUT_MS (10 s) deadline, in parallel with the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchModule, PeerLatencyCache } from '../src/fetch/index.ts';
import type { BadProvider, FetchProgress } from '../src/fetch/index.ts';
import { TestMesh } from './support/nodes.ts';
import { MemoryModuleSource, ReadGate, assertBytes, randomModule } from './support/fetch-sources.ts';
import { provider } from './support/fetch-providers.ts';

void test('a provider that never answers times out after FETCH_TIMEOUT_MS and the next one serves the chunk', async () => {
  const mesh = new TestMesh();
  const gate = new ReadGate();
  try {
    const client = await mesh.node();
    const module = randomModule(200_000);
    const hung = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    hung.source.beforeRead = gate.hold;
    const honest = await provider(mesh, [client], new MemoryModuleSource().add(module.sha256, module.bytes));
    // The hung provider looks fastest, so it is asked first.
    const latency = new PeerLatencyCache();
    latency.set(hung.node.peerId, 1);
    latency.set(honest.node.peerId, 50);
    const progress: FetchProgress[] = [];
    const badProviders: BadProvider[] = [];
    const bytes = await fetchModule(client.libp2p, {
      sha256: module.sha256,
      size: module.bytes.byteLength,
      maxBytes: module.bytes.byteLength,
      providers: [hung.node.peerId, honest.node.peerId],
      useDht: false,
      latency,
      onProgress: (p) => progress.push(p),
      onBadProvider: (bad) => badProviders.push(bad),
    });
    assertBytes(bytes, module.bytes);
    assert.equal(hung.source.reads.length, 1, 'the hung provider was asked first');
    // Nothing reset the stream or the connection: only the deadline moved the fetch on.
    assert.equal(client.libp2p.getConnections(hung.node.peerId).length, 1);
    assert.equal(gate.waiting, 1, 'the hung read is still held');
    assert.deepEqual(
      progress.map((p) => [p.received, p.peer.toString()]),
      [[200_000, honest.node.peerId.toString()]],
    );
    assert.deepEqual(badProviders, [], 'a slow provider is not a liar');
  } finally {
    gate.open();
    await mesh.close();
  }
});
