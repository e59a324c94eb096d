import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import { gossipsub } from '@libp2p/gossipsub';
import type { GossipSub, Message } from '@libp2p/gossipsub';
import { defaultPeerScoreThresholds, validateTopicScoreParams } from '@libp2p/gossipsub/score';
import { generateKeyPair as generateNodeKey } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { TrustPolicy } from '@gojinn/manifest';
import {
  MANIFEST_TOPIC,
  MANIFEST_TOPIC_SCORE_PARAMS,
  INVALID_MANIFEST_MESSAGE_WEIGHT,
  ManifestGossip,
  gossipMessageId,
} from '../src/gossip/index.ts';
import { TestMesh, addrOf, waitFor } from './support/nodes.ts';

type Node = Libp2p<{ identify: unknown; pubsub: GossipSub }>;

/** A bare node whose gossipsub has no parameters for the manifest topic: the unscored baseline. */
async function unscoredNode(): Promise<Node> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ scoreParams: { IPColocationFactorWeight: 0 } }),
    },
  }) as Promise<Node>;
}

const scoreOf = (pubsub: GossipSub, peer: string) =>
  (pubsub as unknown as { getScore(peer: string): number }).getScore(peer);

void test('MANIFEST_TOPIC_SCORE_PARAMS are valid gossipsub topic parameters with only P4 weighted', () => {
  validateTopicScoreParams({ ...MANIFEST_TOPIC_SCORE_PARAMS });
  assert.equal(MANIFEST_TOPIC_SCORE_PARAMS.invalidMessageDeliveriesWeight, INVALID_MANIFEST_MESSAGE_WEIGHT);
  assert.equal(MANIFEST_TOPIC_SCORE_PARAMS.timeInMeshWeight, 0);
  assert.equal(MANIFEST_TOPIC_SCORE_PARAMS.firstMessageDeliveriesWeight, 0);
  assert.equal(MANIFEST_TOPIC_SCORE_PARAMS.meshMessageDeliveriesWeight, 0);
});

void test('gossipMessageId depends on the data only: the same record from two originators is one message', async () => {
  const data = new TextEncoder().encode('{"type":"manifest"}');
  const from = (await Promise.all([generateNodeKey('Ed25519'), generateNodeKey('Ed25519')])).map(
    peerIdFromPrivateKey,
  );
  const message = (i: 0 | 1, bytes: Uint8Array): Message =>
    ({
      type: 'signed',
      from: from[i],
      topic: MANIFEST_TOPIC,
      data: bytes,
      sequenceNumber: BigInt(i),
    }) as unknown as Message;
  assert.deepEqual(gossipMessageId(message(0, data)), gossipMessageId(message(1, data)));
  assert.notDeepEqual(
    gossipMessageId(message(0, data)),
    gossipMessageId(message(0, new TextEncoder().encode('{}'))),
  );
  assert.equal(gossipMessageId(message(0, data)).byteLength, 32);
});

void test('createMeshNode scores the manifest topic: rejected messages graylist the sender after three; without the parameters they cost nothing', async () => {
  const mesh = new TestMesh();
  const nodes: Node[] = [];
  try {
    // Baseline: bare gossipsub without score parameters for the topic.
    const plainB = await unscoredNode();
    nodes.push(plainB);
    const plainA = await unscoredNode();
    nodes.push(plainA);
    await plainA.dial(plainB.getMultiaddrs()[0]!);
    // Scored: createMeshNode, as every Gojinn node runs.
    const scoredB = await mesh.node();
    const scoredA = await mesh.node({ bootstrap: [addrOf(scoredB)] });
    const pairs = [
      { name: 'plain', a: plainA.services.pubsub, b: plainB, aId: plainA.peerId },
      { name: 'scored', a: scoredA.libp2p.services.pubsub, b: scoredB.libp2p, aId: scoredA.peerId },
    ];
    const gossips = pairs.map(({ b }) => new ManifestGossip({ libp2p: b }, { trust: new TrustPolicy() }));
    for (const g of gossips) g.start();
    for (const { a } of pairs) a.subscribe(MANIFEST_TOPIC);
    for (const { a, b, name } of pairs) {
      await waitFor(
        () => a.getSubscribers(MANIFEST_TOPIC).some((p) => p.equals(b.peerId)),
        `${name}: A to see B subscribed`,
        10_000,
      );
    }
    // A message published the moment A sees B subscribed can be lost while A's stream to B
    // opens: keep publishing fresh bad messages, 150 ms apart, until each B has judged enough.
    // Scores are cached for one heartbeat (1 s), so the scored B may validate a few more.
    const [plainPair, scoredPair] = pairs;
    const [plainGossip, scoredGossip] = gossips;
    const score = (pair: (typeof pairs)[number]) => scoreOf(pair.b.services.pubsub, pair.aId.toString());
    const graylist = defaultPeerScoreThresholds.graylistThreshold;
    let sent = 0;
    const rejectUntil = async (pair: (typeof pairs)[number], done: () => boolean, what: string) => {
      await waitFor(
        async () => {
          if (done()) return true;
          await pair.a.publish(MANIFEST_TOPIC, new TextEncoder().encode(`not json ${sent++}`));
          await new Promise((resolve) => setTimeout(resolve, 150));
          return done();
        },
        what,
        10_000,
      );
    };
    await rejectUntil(plainPair!, () => plainGossip!.stats.rejected >= 4, 'the plain B to reject 4 messages');
    await rejectUntil(
      scoredPair!,
      () => score(scoredPair!) < graylist,
      `the scored sender to fall below ${graylist}`,
    );
    assert.ok(
      scoredGossip!.stats.rejected >= 3,
      `graylisted after ${scoredGossip!.stats.rejected} rejections`,
    );
    assert.equal(
      score(plainPair!),
      0,
      `without topic parameters ${plainGossip!.stats.rejected} Rejects cost nothing`,
    );
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await mesh.close();
  }
});
