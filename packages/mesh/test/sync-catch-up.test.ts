/**
 * startCatchUp on real nodes: a node that joins late catches up on connect (identify announces
 * the protocol), picks up later records at the interval incrementally, never runs two syncs
 * with one peer at once, queues past maxConcurrent, and stops cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustPolicy, generateKeyPair } from '@gojinn/manifest';
import type { PeerId } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { MANIFEST_TOPIC, encodeGossipMessage } from '../src/gossip/index.ts';
import { MAX_SYNC_PAGE_RECORDS, SYNC_PROTOCOL_ID, SYNC_TIMEOUT_MS, startCatchUp } from '../src/sync/index.ts';
import type { SyncResult } from '../src/sync/index.ts';
import type { MeshNode } from '../src/node.ts';
import { TestMesh, addrOf, waitFor } from './support/nodes.ts';
import { SyncingNode, gatedLedger } from './support/sync-nodes.ts';
import { manifestOf, revocationOf } from './support/sync-fixtures.ts';

const publisher = generateKeyPair();
const trust = new TrustPolicy({ publishers: [publisher.publicKey] });

async function connect(from: MeshNode, to: MeshNode): Promise<void> {
  await from.libp2p.dial(multiaddr(addrOf(to)));
}

void test('catch-up: a late joiner syncs on connect with the peer that serves sync (not with one that does not), then incrementally every interval', async () => {
  const mesh = new TestMesh();
  try {
    const a = await SyncingNode.start(await mesh.node(), trust);
    await a.gossip.publishManifest(manifestOf(publisher, 'app', '1.0.0'));
    await a.gossip.publishRevocation(
      revocationOf(
        { kind: 'version', publisher: publisher.publicKey, name: 'old', version: '0.1.0' },
        publisher,
      ),
    );
    const plain = await mesh.node();
    const c = await SyncingNode.start(await mesh.node(), trust);
    const rounds: Array<[string, SyncResult]> = [];
    const errors: unknown[] = [];
    const catchUp = startCatchUp({
      libp2p: c.node.libp2p,
      gossip: c.gossip,
      intervalMs: 250,
      onSync: (peer, result) => rounds.push([peer.toString(), result]),
      onError: (_peer, error) => errors.push(error),
      onMisbehaviour: (event) => assert.fail(`no misbehaviour expected: ${event.message}`),
    });
    try {
      await connect(c.node, plain);
      await connect(c.node, a.node);
      await waitFor(() => c.labels().includes('app@1.0.0'), 'C to catch up with A on connect');
      assert.equal(c.revocations.length, 1);
      assert.equal(c.manifests[0]?.source, 'sync');
      const [peer, first] = rounds[0] ?? [];
      assert.equal(peer, a.node.peerId.toString());
      assert.deepEqual([first?.accepted, first?.complete], [2, true]);
      // A record A stores later, straight into its ledger (never gossiped), reaches C at the
      // next interval, incrementally.
      await a.ledger.addManifest({ manifest: manifestOf(publisher, 'later', '1.0.0'), trusted: true });
      await waitFor(() => c.labels().includes('later@1.0.0'), 'the interval round to bring the later record');
      const later = rounds.find(([, result]) => result.accepted === 1);
      assert.deepEqual([later?.[1].ignored, later?.[1].rejected], [0, 0], 'incremental: nothing old re-sent');
      assert.ok(
        rounds.every(([id]) => id === a.node.peerId.toString()),
        'never a sync with the peer that does not serve the protocol',
      );
      assert.deepEqual(errors, []);
    } finally {
      await catchUp.stop();
    }
    assert.equal(await catchUp.syncNow(a.node.peerId, 'full'), undefined, 'stopped: no more syncs');
  } finally {
    await mesh.close();
  }
});

void test('catch-up: never two syncs with one peer at once; past maxConcurrent the next peer waits its turn', async () => {
  const mesh = new TestMesh();
  try {
    const a = await SyncingNode.start(await mesh.node(), trust);
    const b = await SyncingNode.start(await mesh.node(), trust);
    await a.gossip.publishManifest(manifestOf(publisher, 'from-a'));
    await b.gossip.publishManifest(manifestOf(publisher, 'from-b'));
    const c = await SyncingNode.start(await mesh.node(), trust);
    // The interval never fires within the test, and identify has finished with both peers
    // before catch-up starts, so only syncNow runs syncs here.
    await connect(c.node, a.node);
    await connect(c.node, b.node);
    for (const peer of [a, b]) {
      await waitFor(
        async () =>
          (await c.node.libp2p.peerStore.get(peer.node.peerId)).protocols.includes(SYNC_PROTOCOL_ID),
        'identify with each peer to finish',
      );
    }
    const catchUp = startCatchUp({
      libp2p: c.node.libp2p,
      gossip: c.gossip,
      intervalMs: 3_600_000,
      maxConcurrent: 1,
    });
    try {
      const order: string[] = [];
      const track = (peer: PeerId, p: Promise<SyncResult | undefined>) =>
        p.then((result) => {
          if (result !== undefined) order.push(peer.toString());
          return result;
        });
      const first = track(a.node.peerId, catchUp.syncNow(a.node.peerId, 'full'));
      const twice = await catchUp.syncNow(a.node.peerId, 'full');
      assert.equal(twice, undefined, 'a second sync with A while one runs is refused');
      const queued = track(b.node.peerId, catchUp.syncNow(b.node.peerId, 'full'));
      const [fromA, fromB] = await Promise.all([first, queued]);
      assert.equal(fromA?.accepted, 1);
      assert.equal(fromB?.accepted, 1, 'the queued peer was synced once the slot freed');
      assert.deepEqual(order, [a.node.peerId.toString(), b.node.peerId.toString()]);
      assert.deepEqual(c.labels().sort(), ['from-a@1.0.0', 'from-b@1.0.0']);
    } finally {
      await catchUp.stop();
    }
    assert.throws(() => startCatchUp({ libp2p: c.node.libp2p, gossip: c.gossip, intervalMs: 0 }), {
      code: 'bad_request',
    });
  } finally {
    await mesh.close();
  }
});

void test('catch-up: stop() aborts a round held in flight by the server and waits for it; the abort is not reported as an error', async () => {
  const mesh = new TestMesh();
  try {
    const { ledger, open } = gatedLedger({ trust });
    const a = await SyncingNode.start(await mesh.node(), trust, { ledger });
    const c = await SyncingNode.start(await mesh.node(), trust);
    await connect(c.node, a.node);
    const errors: unknown[] = [];
    const catchUp = startCatchUp({
      libp2p: c.node.libp2p,
      gossip: c.gossip,
      intervalMs: 3_600_000,
      onError: (_peer, error) => errors.push(error),
    });
    try {
      const round = catchUp.syncNow(a.node.peerId, 'full');
      await waitFor(() => a.server.active === 1, 'the round to reach A');
      // Without the abort, stop() would wait for the round's own deadline (SYNC_TIMEOUT_MS).
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        catchUp.stop().then(() => 'stopped'),
        new Promise((resolve) => (timer = setTimeout(resolve, SYNC_TIMEOUT_MS / 2, 'still waiting'))),
      ]);
      clearTimeout(timer);
      assert.equal(stopped, 'stopped', 'stop() aborted the round instead of waiting for its deadline');
      assert.equal(await round, undefined, 'the held round ended without a result');
      assert.deepEqual(errors, []);
    } finally {
      open();
      await catchUp.stop();
    }
  } finally {
    await mesh.close();
  }
});

void test('catch-up through a relay: what B accepted from gossip, C joining late gets from B by sync with the same verdicts and the same ledger', async () => {
  const mesh = new TestMesh();
  try {
    const a = await SyncingNode.start(await mesh.node(), trust);
    const b = await SyncingNode.start(await mesh.node({ bootstrap: [`${addrOf(a.node)}`] }), trust);
    const meshOf = (n: MeshNode) =>
      (n.libp2p.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(
        MANIFEST_TOPIC,
      );
    await waitFor(
      () => meshOf(a.node).includes(b.node.peerId.toString()),
      'A to have B in its topic mesh',
      10_000,
    );
    const outsider = generateKeyPair();
    const records = [
      manifestOf(publisher, 'app', '1.0.0'),
      manifestOf(publisher, 'app', '2.0.0'),
      manifestOf(outsider, 'tool', '1.0.0'),
    ];
    // Announce each until B has judged it (the first may race the mesh).
    for (const m of records) {
      await waitFor(
        async () => {
          if (b.manifests.some((event) => event.manifest.signature === m.signature)) return true;
          await a.gossip.publishManifest(m);
          await new Promise((resolve) => setTimeout(resolve, 200));
          return b.manifests.some((event) => event.manifest.signature === m.signature);
        },
        `B to receive ${m.name}@${m.version} by gossip`,
        15_000,
      );
    }
    await a.gossip.publishRevocation(
      revocationOf({ kind: 'publisher', publisher: outsider.publicKey }, outsider),
    );
    await waitFor(() => b.revocations.length === 1, 'B to receive the revocation by gossip', 10_000);
    assert.ok(b.manifests.every((event) => event.source === 'gossip'));

    // C may only talk to B: everything it learns comes from B's ledger.
    const c = await SyncingNode.start(await mesh.node({ allowPeers: [b.node.peerId.toString()] }), trust);
    const catchUp = startCatchUp({ libp2p: c.node.libp2p, gossip: c.gossip, intervalMs: 3_600_000 });
    try {
      await connect(c.node, b.node);
      await waitFor(() => c.revocations.length === 1 && c.manifests.length === 1, 'C to catch up from B');
    } finally {
      await catchUp.stop();
    }
    // B accepted app 1.0.0, then 2.0.0, and tool before its publisher was revoked; C gets the
    // current app (trusted, as at B) and the revocation, and not tool, which it would reject.
    assert.deepEqual(
      c.manifests.map((event) => [event.manifest.name, event.manifest.version, event.trusted, event.source]),
      [['app', '2.0.0', true, 'sync']],
    );
    assert.equal(
      b.manifests.find((event) => event.manifest.signature === records[1]!.signature)?.trusted,
      true,
      'the same trust verdict at B',
    );
    assert.deepEqual(
      (await c.ledger.page(undefined, MAX_SYNC_PAGE_RECORDS)).records,
      (await b.ledger.page(undefined, MAX_SYNC_PAGE_RECORDS)).records,
      'the same records to serve',
    );
    const tool = await c.gossip.ingest(
      encodeGossipMessage({ type: 'manifest', manifest: records[2]! }),
      b.node.peerId,
    );
    assert.equal(tool.result === 'reject' && tool.code, 'revoked', 'C judges tool as B would now');
  } finally {
    await mesh.close();
  }
});
