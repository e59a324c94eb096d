import { test } from 'node:test';
import assert from 'node:assert/strict';
import { multiaddr } from '@multiformats/multiaddr';
import { GojinnError } from '@gojinn/errors';
import { contentCid } from '@gojinn/manifest';
import {
  announceModule,
  fetchModule,
  findModuleProviders,
  moduleContentId,
  createFetchProtocol,
} from '../src/fetch/index.ts';
import { TestMesh, addrOf } from './support/nodes.ts';
import { findAtLeast, waitForDhtPeers } from './support/fetch-dht.ts';
import { MemoryModuleSource, assertBytes, randomModule } from './support/fetch-sources.ts';

void test('the DHT key is the CIDv1 (raw, sha2-256) that contentCid prints; bad hashes are bad_request', () => {
  const { sha256 } = randomModule(10);
  const cid = moduleContentId(sha256);
  assert.equal(cid.toString(), contentCid(sha256));
  assert.equal(cid.version, 1);
  assert.equal(cid.code, 0x55);
  assert.equal(Buffer.from(cid.multihash.digest).toString('hex'), sha256);
  assert.throws(
    () => moduleContentId(sha256.toUpperCase()),
    (e: unknown) => e instanceof GojinnError && e.code === 'bad_request',
  );
});

void test('announced on A, found from C through B (A — B — C), without C itself; then C fetches from A', async () => {
  const mesh = new TestMesh();
  try {
    const a = await mesh.node();
    const b = await mesh.node();
    const c = await mesh.node();
    await a.libp2p.dial(multiaddr(addrOf(b)));
    await c.libp2p.dial(multiaddr(addrOf(b)));
    await Promise.all([waitForDhtPeers(a, 1), waitForDhtPeers(b, 2), waitForDhtPeers(c, 1)]);
    assert.equal(c.libp2p.getConnections(a.peerId).length, 0, 'C starts without a connection to A');

    const module = randomModule(300_000);
    const source = new MemoryModuleSource().add(module.sha256, module.bytes);
    await createFetchProtocol({ source }).handle(a.libp2p);
    await announceModule(a.libp2p, module.sha256, { signal: AbortSignal.timeout(10_000) });
    // C also provides it: a node never finds itself.
    await announceModule(c.libp2p, module.sha256, { signal: AbortSignal.timeout(10_000) });

    const found = await findAtLeast(c, module.sha256, 1);
    assert.deepEqual(
      found.map((p) => p.toString()),
      [a.peerId.toString()],
    );
    // An unannounced module has no providers.
    const other = randomModule(10);
    assert.deepEqual(await findModuleProviders(c.libp2p, other.sha256, { timeoutMs: 3000 }), []);

    // The whole path: C knows nothing but the hash; the DHT gives A and its addresses.
    const bytes = await fetchModule(c.libp2p, {
      sha256: module.sha256,
      size: module.bytes.byteLength,
      maxBytes: 1_000_000,
    });
    assertBytes(bytes, module.bytes);
    assert.equal(source.reads.length, 1);
  } finally {
    await mesh.close();
  }
});

void test('findModuleProviders stops at max, and refuses bad bounds', async () => {
  const mesh = new TestMesh();
  try {
    const hub = await mesh.node();
    const module = randomModule(10);
    const providers = [];
    for (let i = 0; i < 3; i++) {
      const node = await mesh.node();
      await node.libp2p.dial(multiaddr(addrOf(hub)));
      providers.push(node);
    }
    await waitForDhtPeers(hub, 3);
    for (const node of providers) {
      await waitForDhtPeers(node, 1);
      await announceModule(node.libp2p, module.sha256, { signal: AbortSignal.timeout(10_000) });
    }
    const all = await findAtLeast(hub, module.sha256, 3);
    assert.equal(all.length, 3);
    const two = await findModuleProviders(hub.libp2p, module.sha256, { max: 2, timeoutMs: 5000 });
    assert.equal(two.length, 2);
    for (const bad of [{ max: 0 }, { timeoutMs: 0 }, { max: 1.5 }]) {
      await assert.rejects(
        findModuleProviders(hub.libp2p, module.sha256, bad),
        (e: unknown) => e instanceof GojinnError && e.code === 'bad_request',
      );
    }
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    await assert.rejects(
      findModuleProviders(hub.libp2p, module.sha256, { signal: controller.signal }),
      /stop now/,
    );
  } finally {
    await mesh.close();
  }
});
