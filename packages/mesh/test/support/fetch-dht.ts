/** DHT readiness for fetch tests: a node's routing table fills only after identify has run. */
import type { PeerId } from '@libp2p/interface';
import type { MeshNode } from '../../src/node.ts';
import { findModuleProviders } from '../../src/fetch/index.ts';
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

/**
 * Looks providers up until at least `count` are found (bounded): a provider record is sent
 * without an acknowledgement, so the peer storing it may not have done so when provide returns.
 */
export async function findAtLeast(
  node: MeshNode,
  sha256: string,
  count: number,
  options: { max?: number; timeoutMs?: number } = {},
): Promise<PeerId[]> {
  let found: PeerId[] = [];
  await waitFor(
    async () => {
      found = await findModuleProviders(node.libp2p, sha256, { max: options.max, timeoutMs: 3000 });
      return found.length >= count;
    },
    `${count} providers of ${sha256}`,
    options.timeoutMs ?? 8000,
  );
  return found;
}
