/** DHT readiness for fetch tests: a node's routing table fills only after identify has run. */
import type { MeshNode } from '../../src/node.ts';
import { waitFor } from './nodes.ts';

/** Peers in the node's DHT routing table (the KadDHT type does not declare the table). */
export function dhtPeerCount(node: MeshNode): number {
  const dht = node.libp2p.services.dht as unknown as { routingTable?: { size?: unknown } };
  const size = dht.routingTable?.size;
  if (typeof size !== 'number') throw new Error('kad-dht no longer exposes routingTable.size');
  return size;
}

/** Waits (bounded) until `node`'s routing table holds at least `count` peers. */
export async function waitForDhtPeers(node: MeshNode, count: number, timeoutMs = 5000): Promise<void> {
  await waitFor(() => dhtPeerCount(node) >= count, `${count} DHT peers`, timeoutMs);
}
