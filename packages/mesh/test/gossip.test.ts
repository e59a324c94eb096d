import { test } from 'node:test';
import assert from 'node:assert/strict';
import { multiaddr } from '@multiformats/multiaddr';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { MeshNode } from '../src/node.ts';
import { TestMesh, addrOf, waitFor } from './support/nodes.ts';

const TOPIC = '/gojinn/test-topic/1';

function received(node: MeshNode): string[] {
  const seen: string[] = [];
  node.libp2p.services.pubsub.addEventListener('message', (event) => {
    if (event.detail.topic === TOPIC) seen.push(new TextDecoder().decode(event.detail.data));
  });
  return seen;
}

void test('gossip crosses a relay (A — B — C, A and C gated apart) and a message B rejects is not forwarded', async () => {
  const mesh = new TestMesh();
  try {
    const b = await mesh.node();
    const a = await mesh.node({ allowPeers: [b.peerId.toString()], bootstrap: [`${addrOf(b)}`] });
    const c = await mesh.node({ allowPeers: [b.peerId.toString()], bootstrap: [`${addrOf(b)}`] });
    b.libp2p.services.pubsub.topicValidators.set(TOPIC, (_peer, message) =>
      new TextDecoder().decode(message.data).startsWith('bad')
        ? TopicValidatorResult.Reject
        : TopicValidatorResult.Accept,
    );
    const atB = received(b);
    const atC = received(c);
    for (const node of [a, b, c]) node.libp2p.services.pubsub.subscribe(TOPIC);
    await waitFor(
      () =>
        a.libp2p.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(b.peerId)) &&
        b.libp2p.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(c.peerId)),
      'A and C to see B subscribed, B to see C',
      10_000,
    );
    assert.equal(a.libp2p.getConnections(c.peerId).length, 0, 'A and C are not connected: B must relay');
    await a.libp2p.services.pubsub.publish(TOPIC, new TextEncoder().encode('bad 1'));
    await a.libp2p.services.pubsub.publish(TOPIC, new TextEncoder().encode('good 1'));
    // B forwards along its mesh, or by gossip at the next heartbeat if the mesh is still forming.
    await waitFor(() => atC.includes('good 1'), 'C to receive good 1 through B', 10_000);
    assert.deepEqual(atB, ['good 1']);
    assert.deepEqual(atC, ['good 1']);
    // The connection between A and B survives one rejected message.
    const rtt = await a.libp2p.services.ping.ping(multiaddr(addrOf(b)));
    assert.ok(rtt >= 0);
  } finally {
    await mesh.close();
  }
});
