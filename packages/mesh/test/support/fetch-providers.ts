/** Provider nodes for fetch tests: a mesh node serving a MemoryModuleSource, connected to a client. */
import { multiaddr } from '@multiformats/multiaddr';
import { createFetchProtocol } from '../../src/fetch/index.ts';
import type { MeshNode } from '../../src/node.ts';
import { addrOf } from './nodes.ts';
import type { TestMesh } from './nodes.ts';
import { MemoryModuleSource } from './fetch-sources.ts';

export interface Provider {
  node: MeshNode;
  source: MemoryModuleSource;
}

/** A node serving `source` (a fresh empty one by default), dialled by every node in `connectTo`. */
export async function provider(
  mesh: TestMesh,
  connectTo: MeshNode[],
  source = new MemoryModuleSource(),
): Promise<Provider> {
  const node = await mesh.node();
  await createFetchProtocol({ source }).handle(node.libp2p);
  for (const other of connectTo) await other.libp2p.dial(multiaddr(addrOf(node)));
  return { node, source };
}
