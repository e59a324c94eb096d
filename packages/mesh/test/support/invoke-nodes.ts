/** Nodes that serve `/gojinn/invoke/1.0.0` with a real executor, for invoke and routing tests. */
import type { PrivateKey } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { loadOrCreateNodeIdentity } from '../../src/identity.ts';
import type { MeshNode } from '../../src/node.ts';
import { createInvokeProtocol } from '../../src/invoke/protocol.ts';
import type { InvokeExecutor, InvokeProtocolOptions } from '../../src/invoke/protocol.ts';
import { PeerPolicyTable } from '../../src/invoke/peer-policy.ts';
import type { PeerPolicy } from '../../src/invoke/peer-policy.ts';
import { addrOf } from './nodes.ts';
import type { TestMesh } from './nodes.ts';

export interface ServingNode {
  node: MeshNode;
  privateKey: PrivateKey;
  policies: PeerPolicyTable;
  stopServing: () => Promise<void>;
}

/** A node with its key at hand (receipts are signed with it), serving invoke through `execute`. */
export async function servingNode(
  mesh: TestMesh,
  execute: InvokeExecutor,
  policies: PeerPolicyTable = new PeerPolicyTable(),
  options: Partial<Omit<InvokeProtocolOptions, 'policies' | 'execute' | 'privateKey'>> = {},
): Promise<ServingNode> {
  const dataDir = await mesh.dataDir();
  const { privateKey } = await loadOrCreateNodeIdentity(dataDir);
  const node = await mesh.node({ dataDir });
  const server = createInvokeProtocol({ policies, execute, privateKey, ...options });
  const stopServing = await server.handle(node.libp2p);
  return { node, privateKey, policies, stopServing };
}

/** Connects `from` to `to` (a warm connection for the calls that follow). */
export async function connect(from: MeshNode, to: MeshNode): Promise<void> {
  await from.libp2p.dial(multiaddr(addrOf(to)));
}

/** A policy admitting `peer` for `modules`, generous limits unless overridden. */
export function allow(peer: MeshNode, modules: string[], over: Partial<PeerPolicy> = {}): PeerPolicy {
  return {
    id: peer.peerId.toString(),
    modules,
    capabilities: {},
    ratePerSecond: 100_000,
    maxConcurrent: 64,
    ...over,
  };
}
