import { test } from 'node:test';
import assert from 'node:assert/strict';
import { multiaddr } from '@multiformats/multiaddr';
import type { PeerInfo } from '@libp2p/interface';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { GojinnError } from '@gojinn/errors';
import { GOJINN_DHT_PROTOCOL } from '../src/node.ts';
import { TestMesh, addrOf, waitFor } from './support/nodes.ts';

void test('two nodes on loopback connect over Noise + yamux, identify each other and ping', async () => {
  const mesh = new TestMesh();
  try {
    const a = await mesh.node();
    const b = await mesh.node();
    const rtt = await b.libp2p.services.ping.ping(multiaddr(addrOf(a)));
    assert.ok(rtt >= 0);
    const [conn] = b.libp2p.getConnections(a.peerId);
    assert.ok(conn, 'b has a connection to a');
    assert.equal(conn.encryption, '/noise');
    assert.equal(conn.multiplexer, '/yamux/1.0.0');
    // identify: b learns a's protocols, which include the private DHT and gossipsub.
    await waitFor(async () => {
      const peer = await b.libp2p.peerStore.get(a.peerId);
      return peer.protocols.includes(GOJINN_DHT_PROTOCOL);
    }, 'identify to report the private DHT protocol');
    const peer = await b.libp2p.peerStore.get(a.peerId);
    assert.ok(!peer.protocols.includes('/ipfs/kad/1.0.0'), 'never speaks the public DHT');
    assert.ok(peer.protocols.some((p) => p.startsWith('/meshsub/')));
  } finally {
    await mesh.close();
  }
});

void test('three nodes: C bootstraps from A, B bootstraps from A, and C finds B through the DHT', async () => {
  const mesh = new TestMesh();
  try {
    const a = await mesh.node();
    const b = await mesh.node({ bootstrap: [addrOf(a)] });
    const c = await mesh.node({ bootstrap: [addrOf(a)] });
    await waitFor(() => b.libp2p.getConnections(a.peerId).length > 0, 'b to connect to its bootstrap peer');
    await waitFor(() => c.libp2p.getConnections(a.peerId).length > 0, 'c to connect to its bootstrap peer');
    // C has never been told about B: only the DHT (through A) can tell C where B is. The DHT
    // learns its peers through identify just after connecting, so retry briefly.
    assert.equal(c.libp2p.getConnections(b.peerId).length, 0);
    let found: PeerInfo | undefined;
    await waitFor(
      async () => {
        found = await c.libp2p.peerRouting
          .findPeer(b.peerId, { signal: AbortSignal.timeout(2000) })
          .catch(() => undefined);
        return found !== undefined;
      },
      'c to find b through the DHT',
      10_000,
    );
    assert.ok(found);
    assert.equal(found.id.toString(), b.peerId.toString());
    assert.ok(found.multiaddrs.length > 0);
    const rtt = await c.libp2p.services.ping.ping(b.peerId);
    assert.ok(rtt >= 0);
  } finally {
    await mesh.close();
  }
});

void test('with an allow list, a peer not on it is refused in both directions; a listed peer connects', async () => {
  const mesh = new TestMesh();
  try {
    const friend = await mesh.node();
    const stranger = await mesh.node();
    const gated = await mesh.node({ allowPeers: [friend.peerId.toString()] });
    // Inbound: the gater drops the stranger once Noise has proved its id. The stranger's side
    // of the handshake may finish first, so what it sees is that no stream ever gets through.
    await assert.rejects(stranger.libp2p.services.ping.ping(multiaddr(addrOf(gated))));
    await waitFor(() => gated.libp2p.getConnections(stranger.peerId).length === 0, 'no connection left');
    // Outbound: the gated node refuses to dial the stranger.
    await assert.rejects(gated.libp2p.dial(multiaddr(addrOf(stranger))));
    assert.equal(gated.libp2p.getConnections(stranger.peerId).length, 0);
    // The friend gets in.
    const rtt = await friend.libp2p.services.ping.ping(multiaddr(addrOf(gated)));
    assert.ok(rtt >= 0);
  } finally {
    await mesh.close();
  }
});

void test('a malformed allow-list entry or bootstrap address is refused with bad_request', async () => {
  const mesh = new TestMesh();
  try {
    await assert.rejects(
      mesh.node({ allowPeers: ['not-a-peer-id'] }),
      (e: unknown) => e instanceof GojinnError && e.code === 'bad_request' && /allowPeers/.test(e.message),
    );
    await assert.rejects(
      mesh.node({ bootstrap: ['/ip4/127.0.0.1/tcp/4001'] }),
      (e: unknown) => e instanceof GojinnError && e.code === 'bad_request' && /\/p2p\//.test(e.message),
    );
  } finally {
    await mesh.close();
  }
});

void test('a restart keeps the peer id and the persisted peer store', async () => {
  const mesh = new TestMesh();
  try {
    const a = await mesh.node();
    const dir = await mesh.dataDir();
    const b = await mesh.node({ dataDir: dir });
    await b.libp2p.services.ping.ping(multiaddr(addrOf(a)));
    const before = b.peerId.toString();
    await mesh.stop(b);
    const again = await mesh.node({ dataDir: dir });
    assert.equal(again.peerId.toString(), before);
    assert.equal(await again.libp2p.peerStore.has(a.peerId), true, 'peer store persisted in level');
  } finally {
    await mesh.close();
  }
});

void test('inboundConnectionThreshold: new connections from one IP beyond it are refused unless the IP is exempt', async () => {
  const mesh = new TestMesh();
  try {
    const THRESHOLD = 2;
    const limited = await mesh.node({
      limits: { inboundConnectionThreshold: THRESHOLD },
      rateLimitExempt: [],
    });
    const exempt = await mesh.node({ limits: { inboundConnectionThreshold: THRESHOLD } });
    const dialers = [await mesh.node(), await mesh.node(), await mesh.node()];
    // All dials start together, so they fall in one rate-limit window.
    const toLimited = await Promise.allSettled(
      dialers.map((d) => d.libp2p.services.ping.ping(multiaddr(addrOf(limited)))),
    );
    assert.equal(toLimited.filter((r) => r.status === 'fulfilled').length, THRESHOLD);
    const toExempt = await Promise.allSettled(
      dialers.map((d) => d.libp2p.services.ping.ping(multiaddr(addrOf(exempt)))),
    );
    assert.deepEqual(
      toExempt.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled'],
    );
  } finally {
    await mesh.close();
  }
});

void test('DHT provider records persist across a restart: a new peer finds the restarted node as a provider', async () => {
  const mesh = new TestMesh();
  try {
    const dir = await mesh.dataDir();
    const a = await mesh.node({ dataDir: dir });
    const cid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('a module')));
    // Alone on the network, the record is only stored locally (in level).
    await a.libp2p.contentRouting.provide(cid, { signal: AbortSignal.timeout(5000) });
    await mesh.stop(a);
    const again = await mesh.node({ dataDir: dir });
    const b = await mesh.node({ bootstrap: [addrOf(again)] });
    let found = false;
    await waitFor(
      async () => {
        for await (const provider of b.libp2p.contentRouting.findProviders(cid, {
          signal: AbortSignal.timeout(2000),
        })) {
          if (provider.id.equals(again.peerId)) found = true;
        }
        return found;
      },
      'b to find the restarted node as a provider',
      10_000,
    );
    assert.equal(found, true);
  } finally {
    await mesh.close();
  }
});

void test('an unreachable bootstrap peer does not stop the node from starting or serving', async () => {
  const mesh = new TestMesh();
  try {
    const gone = await mesh.node();
    const goneAddr = addrOf(gone);
    await mesh.stop(gone);
    const a = await mesh.node({ bootstrap: [goneAddr] });
    const b = await mesh.node();
    const rtt = await b.libp2p.services.ping.ping(multiaddr(addrOf(a)));
    assert.ok(rtt >= 0);
    assert.equal(a.libp2p.getConnections(gone.peerId).length, 0);
  } finally {
    await mesh.close();
  }
});
