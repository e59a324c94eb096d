/**
 * A lying sync server against PeerPenalties on real nodes on loopback: each time it connects,
 * catch-up syncs with it through the real sync protocol, its forged manifest is a misbehaviour
 * and penalisePeer closes the connection; at banThreshold it is banned, and then the gater
 * refuses it both ways and catch-up does not sync with it, while an honest peer still syncs.
 * When the ban ends it may connect again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustPolicy, generateKeyPair } from '@gojinn/manifest';
import type { Manifest } from '@gojinn/manifest';
import { multiaddr } from '@multiformats/multiaddr';
import type { LedgerPage } from '../src/gossip/index.ts';
import { SYNC_PROTOCOL, encodeSyncResponse, startCatchUp } from '../src/sync/index.ts';
import type { SyncMisbehaviour } from '../src/sync/index.ts';
import { PeerPenalties, penalisePeer } from '../src/peer-penalties.ts';
import type { PenaltyVerdict } from '../src/peer-penalties.ts';
import type { MeshNode } from '../src/node.ts';
import { TestMesh, addrOf, waitFor } from './support/nodes.ts';
import { SyncingNode } from './support/sync-nodes.ts';
import { manifestOf } from './support/sync-fixtures.ts';

const publisher = generateKeyPair();
const trust = new TrustPolicy({ publishers: [publisher.publicKey] });

/** A node whose sync server answers every request with a page holding one forged manifest. */
async function lyingServer(mesh: TestMesh): Promise<{ node: MeshNode; requests: number }> {
  const node = await mesh.node();
  // Signed, then altered: its signature no longer verifies (signature_invalid).
  const forged: Manifest = { ...manifestOf(publisher, 'evil', '1.0.0'), version: '1.0.1' };
  const served = { node, requests: 0 };
  await SYNC_PROTOCOL.handle(node.libp2p, () => {
    served.requests++;
    const page: LedgerPage = { records: [{ type: 'manifest', manifest: forged }], next: 'x', more: false };
    return Promise.resolve(encodeSyncResponse(page));
  });
  return served;
}

function connectedBothWays(a: MeshNode, b: MeshNode): boolean {
  return a.libp2p.getConnections(b.peerId).length > 0 || b.libp2p.getConnections(a.peerId).length > 0;
}

/**
 * Dials until a connection opens: right after a closed or refused connection, the dialler's
 * end of it may still be closing and the first new dial can fail on it.
 */
async function reconnect(from: MeshNode, to: MeshNode): Promise<void> {
  await waitFor(
    () =>
      from.libp2p.dial(multiaddr(addrOf(to))).then(
        () => true,
        () => false,
      ),
    'a connection to open',
  );
}

void test('a lying sync server is disconnected at each forgery, banned at banThreshold: refused both ways by the gater and never synced, while an honest peer syncs; free again when the ban ends', async () => {
  const mesh = new TestMesh();
  try {
    const clock = { offsetMs: 0 };
    const penalties = new PeerPenalties({ now: () => Date.now() + clock.offsetMs });
    const { banThreshold, firstBanMs } = penalties.limits;
    const c = await SyncingNode.start(await mesh.node({ banned: penalties }), trust);
    const liar = await lyingServer(mesh);
    const misbehaviours: SyncMisbehaviour[] = [];
    const verdicts: PenaltyVerdict[] = [];
    // As the daemon wires it (daemon/src/node/mesh-peer.ts): every misbehaviour is penalised.
    const catchUp = startCatchUp({
      libp2p: c.node.libp2p,
      gossip: c.gossip,
      intervalMs: 3_600_000,
      banned: penalties,
      onMisbehaviour: (event) => {
        misbehaviours.push(event);
        verdicts.push(penalisePeer(c.node.libp2p, penalties, event.peer));
      },
    });
    try {
      // Below the threshold each forgery costs the liar its connection, and it reconnects.
      for (let round = 1; round <= banThreshold; round++) {
        await reconnect(liar.node, c.node);
        await waitFor(() => verdicts.length === round, `forgery ${round} to be judged`);
        await waitFor(() => !connectedBothWays(c.node, liar.node), `connection ${round} to be closed`);
        assert.equal(liar.requests, round, 'one page asked per connection');
        assert.equal(penalties.isBanned(liar.node.peerId), round === banThreshold);
      }
      assert.deepEqual(
        misbehaviours.map((event) => [event.code, event.peer.toString()]),
        Array.from({ length: banThreshold }, () => ['signature_invalid', liar.node.peerId.toString()]),
      );
      assert.deepEqual(
        verdicts.map((verdict) => verdict.banned),
        [...Array.from({ length: banThreshold - 1 }, () => false), true],
      );
      const ban = verdicts.at(-1);
      assert.ok(ban?.banned === true && ban.banMs === firstBanMs && ban.bans === 1);
      assert.deepEqual(c.labels(), [], 'nothing forged was accepted');

      // Banned: its inbound connection is dropped by the gater once Noise proved its id, so no
      // stream gets through (as with the allow list in node.test.ts) and nothing is synced.
      await assert.rejects(liar.node.libp2p.services.ping.ping(multiaddr(addrOf(c.node))));
      await waitFor(() => !connectedBothWays(c.node, liar.node), 'the refused connection to be gone');
      // Outbound: a dial by peer id is refused before connecting …
      await assert.rejects(c.node.libp2p.dial(multiaddr(addrOf(liar.node))), { name: 'DialDeniedError' });
      // … and a dial to its bare address (no peer id to check first) once Noise proves who it is.
      const bare = multiaddr(addrOf(liar.node)).decapsulateCode(421);
      await assert.rejects(c.node.libp2p.dial(bare), {
        name: 'ConnectionInterceptedError',
        message: /denyOutboundEncryptedConnection/,
      });
      await waitFor(() => !connectedBothWays(c.node, liar.node), 'no connection to the banned peer');
      // And catch-up does not sync with it, even when asked.
      assert.equal(await catchUp.syncNow(liar.node.peerId, 'full'), undefined);
      assert.equal(liar.requests, banThreshold, 'no sync request reached the liar while banned');
      assert.equal(verdicts.length, banThreshold);

      // An honest peer still connects and is synced.
      const honest = await SyncingNode.start(await mesh.node(), trust);
      await honest.gossip.publishManifest(manifestOf(publisher, 'app', '1.0.0'));
      await honest.node.libp2p.dial(multiaddr(addrOf(c.node)));
      await waitFor(() => c.labels().includes('app@1.0.0'), 'C to sync from the honest peer');
      assert.equal(penalties.isBanned(honest.node.peerId), false);
      // Catch-up checks the ban itself: a peer banned while still connected (the gater only
      // sees new connections; penalisePeer would have closed this one) is not synced.
      for (let i = 0; i < banThreshold; i++) penalties.misbehaved(honest.node.peerId);
      assert.ok(connectedBothWays(c.node, honest.node));
      await honest.ledger.addManifest({ manifest: manifestOf(publisher, 'later', '1.0.0'), trusted: true });
      assert.equal(await catchUp.syncNow(honest.node.peerId, 'full'), undefined);
      assert.equal(c.labels().includes('later@1.0.0'), false);

      // When the ban ends, the liar may connect again (and is synced, and judged, again).
      clock.offsetMs = ban.until - Date.now();
      assert.equal(penalties.isBanned(liar.node.peerId), false);
      await reconnect(liar.node, c.node);
      await waitFor(() => verdicts.length === banThreshold + 1, 'the forgery after the ban to be judged');
      assert.deepEqual(verdicts.at(-1), { banned: false, score: 1 });
      assert.equal(liar.requests, banThreshold + 1);
    } finally {
      await catchUp.stop();
    }
  } finally {
    await mesh.close();
  }
});
