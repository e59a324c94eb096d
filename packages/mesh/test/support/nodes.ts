/** Real nodes on loopback for tests: each in its own temporary data dir, all stopped after. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMeshNode } from '../../src/node.ts';
import type { MeshNode, MeshNodeOptions } from '../../src/node.ts';

export const LOOPBACK_EXEMPT = ['/ip4/127.0.0.1/ipcidr/32'];

export class TestMesh {
  readonly nodes: MeshNode[] = [];
  readonly dirs: string[] = [];

  async dataDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'gojinn-mesh-'));
    this.dirs.push(dir);
    return dir;
  }

  async node(options: Partial<MeshNodeOptions> = {}): Promise<MeshNode> {
    const node = await createMeshNode({
      dataDir: options.dataDir ?? (await this.dataDir()),
      localNetwork: true,
      rateLimitExempt: LOOPBACK_EXEMPT,
      ...options,
    });
    this.nodes.push(node);
    return node;
  }

  async stop(node: MeshNode): Promise<void> {
    const i = this.nodes.indexOf(node);
    if (i >= 0) this.nodes.splice(i, 1);
    await node.stop();
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.stop()));
    this.nodes.length = 0;
    await Promise.allSettled(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

export function addrOf(node: MeshNode): string {
  const addr = node.libp2p.getMultiaddrs()[0];
  if (addr === undefined) throw new Error('node has no listen address');
  return addr.toString();
}

/** Polls `check` every 20 ms until true or `timeoutMs` has passed (then fails with `what`). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
