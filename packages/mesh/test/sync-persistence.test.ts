/**
 * A node whose ledger is a LevelGossipLedger keeps what it caught up across a restart: the
 * rollback floor and the revocation still apply, a new round with the same peer accepts
 * nothing again, and the restarted node serves what it holds to a newcomer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustPolicy, generateKeyPair } from '@gojinn/manifest';
import { multiaddr } from '@multiformats/multiaddr';
import { LevelGossipLedger, encodeGossipMessage } from '../src/gossip/index.ts';
import { syncFromPeer } from '../src/sync/index.ts';
import type { MeshNode } from '../src/node.ts';
import { TestMesh, addrOf } from './support/nodes.ts';
import { SyncingNode } from './support/sync-nodes.ts';
import { TempLevel, manifestOf, revocationOf } from './support/sync-fixtures.ts';

const publisher = generateKeyPair();
const stranger = generateKeyPair();
const trust = new TrustPolicy({ publishers: [publisher.publicKey] });

async function connect(from: MeshNode, to: MeshNode): Promise<void> {
  await from.libp2p.dial(multiaddr(addrOf(to)));
}

void test('a level ledger keeps caught-up records across a node restart and serves them afterwards', async () => {
  const mesh = new TestMesh();
  const temp = await TempLevel.create();
  try {
    const a = await SyncingNode.start(await mesh.node(), trust);
    await a.gossip.publishManifest(manifestOf(publisher, 'app', '1.0.0'));
    await a.gossip.publishManifest(manifestOf(publisher, 'app', '2.0.0'));
    const tool = manifestOf(stranger, 'tool', '1.0.0');
    await a.gossip.publishRevocation(
      revocationOf(
        { kind: 'version', publisher: stranger.publicKey, name: 'tool', version: '1.0.0' },
        stranger,
      ),
    );

    const dataDir = await mesh.dataDir();
    const first = await SyncingNode.start(await mesh.node({ dataDir }), trust, {
      ledger: await LevelGossipLedger.open(await temp.open(), { trust }),
    });
    await connect(first.node, a.node);
    const caught = await syncFromPeer(first.node.libp2p, a.node.peerId, first.gossip);
    assert.equal(caught.accepted, 2, 'the revocation and app 2.0.0');
    await first.stopServing();
    await mesh.stop(first.node);
    await temp.close();

    // Restart: same data dir (same peer id), the ledger reopened over the same files.
    const c = await SyncingNode.start(await mesh.node({ dataDir }), trust, {
      ledger: await LevelGossipLedger.open(await temp.open(), { trust }),
    });
    assert.equal(c.node.peerId.toString(), first.node.peerId.toString());
    const older = await c.gossip.ingest(
      encodeGossipMessage({ type: 'manifest', manifest: manifestOf(publisher, 'app', '1.5.0') }),
      a.node.peerId,
    );
    assert.equal(older.result === 'reject' && older.code, 'rollback');
    const revoked = await c.gossip.ingest(
      encodeGossipMessage({ type: 'manifest', manifest: tool }),
      a.node.peerId,
    );
    assert.equal(revoked.result === 'reject' && revoked.code, 'revoked');
    await connect(c.node, a.node);
    const again = await syncFromPeer(c.node.libp2p, a.node.peerId, c.gossip);
    assert.deepEqual(
      [again.accepted, again.ignored, again.rejected],
      [0, 2, 0],
      'nothing new after the restart',
    );

    // A newcomer catches up from the restarted node alone.
    const d = await SyncingNode.start(await mesh.node(), trust);
    await connect(d.node, c.node);
    const fromC = await syncFromPeer(d.node.libp2p, c.node.peerId, d.gossip);
    assert.equal(fromC.accepted, 2);
    assert.deepEqual(d.labels(), ['app@2.0.0']);
    assert.equal(d.revocations.length, 1);
  } finally {
    await mesh.close();
    await temp.remove();
  }
});
