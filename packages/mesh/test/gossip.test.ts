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
    // Right after subscribing, the mesh may still be forming and an early message can miss a
    // far node: publish a bad message, then good ones until one reaches C.
    const publish = (text: string) => a.libp2p.services.pubsub.publish(TOPIC, new TextEncoder().encode(text));
    await publish('bad 1');
    let sent = 0;
    await waitFor(
      async () => {
        if (atC.length > 0) return true;
        sent++;
        await publish(`good ${sent}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        return atC.length > 0;
      },
      'C to receive a good message through B',
      15_000,
    );
    await publish('bad 2');
    await publish('good last');
    await waitFor(() => atC.includes('good last'), 'C to receive the last good message');
    assert.ok(
      atC.every((text) => text.startsWith('good ')),
      `C received ${JSON.stringify(atC)}`,
    );
    assert.ok(
      atB.every((text) => text.startsWith('good ')),
      `B delivered ${JSON.stringify(atB)}`,
    );
    assert.ok(atB.includes('good last'));
    // The connection between A and B survives one rejected message.
    const rtt = await a.libp2p.services.ping.ping(multiaddr(addrOf(b)));
    assert.ok(rtt >= 0);
  } finally {
    await mesh.close();
  }
});
