/** A mesh node running ManifestGossip and the sync server, recording what its callbacks saw. */
import assert from 'node:assert/strict';
import type { TrustPolicy } from '@gojinn/manifest';
import { ManifestGossip, MemoryGossipLedger } from '../../src/gossip/index.ts';
import type { GossipLedgerOptions } from '../../src/gossip/index.ts';
import type {
  EnumerableGossipLedger,
  ManifestEvent,
  RejectEvent,
  RevocationEvent,
} from '../../src/gossip/index.ts';
import { createSyncProtocol } from '../../src/sync/index.ts';
import type { SyncServer } from '../../src/sync/index.ts';
import type { MeshNode } from '../../src/node.ts';

export class SyncingNode {
  readonly manifests: ManifestEvent[] = [];
  readonly revocations: RevocationEvent[] = [];
  readonly rejects: RejectEvent[] = [];
  readonly gossip: ManifestGossip;
  readonly ledger: EnumerableGossipLedger;
  readonly server: SyncServer;
  readonly node: MeshNode;
  #unhandle: (() => Promise<void>) | undefined;

  private constructor(
    node: MeshNode,
    trust: TrustPolicy,
    ledger: EnumerableGossipLedger,
    maxConcurrentSyncs?: number,
  ) {
    this.node = node;
    this.ledger = ledger;
    this.gossip = new ManifestGossip(node, {
      trust,
      ledger,
      onManifest: (event) => this.manifests.push(event),
      onRevocation: (event) => this.revocations.push(event),
      onReject: (event) => this.rejects.push(event),
      onError: (error) => assert.fail(`unexpected gossip error: ${String(error)}`),
    });
    this.server = createSyncProtocol({
      ledger,
      ...(maxConcurrentSyncs === undefined ? {} : { maxConcurrentSyncs }),
    });
  }

  static async start(
    node: MeshNode,
    trust: TrustPolicy,
    options: { ledger?: EnumerableGossipLedger; maxConcurrentSyncs?: number } = {},
  ): Promise<SyncingNode> {
    const syncing = new SyncingNode(
      node,
      trust,
      options.ledger ?? new MemoryGossipLedger({ trust }),
      options.maxConcurrentSyncs,
    );
    syncing.gossip.start();
    syncing.#unhandle = await syncing.server.handle(node.libp2p);
    return syncing;
  }

  async stopServing(): Promise<void> {
    await this.#unhandle?.();
  }

  /** `name@version` of every manifest accepted, in order. */
  labels(): string[] {
    return this.manifests.map(({ manifest: m }) => `${m.name}@${m.version}`);
  }
}

/**
 * A real memory ledger whose sync pages wait until `open()` is called, so a test can hold a
 * sync in flight on the server.
 */
export function gatedLedger(options: GossipLedgerOptions): {
  ledger: EnumerableGossipLedger;
  open: () => void;
} {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const inner = new MemoryGossipLedger(options);
  const ledger: EnumerableGossipLedger = {
    revocationFor: (m) => inner.revocationFor(m),
    highestManifest: (p, n) => inner.highestManifest(p, n),
    hasManifest: (m) => inner.hasManifest(m),
    hasRevocation: (r) => inner.hasRevocation(r),
    addManifest: (known) => inner.addManifest(known),
    addRevocation: (verified) => inner.addRevocation(verified),
    page: async (cursor, limit) => {
      await gate;
      return inner.page(cursor, limit);
    },
  };
  return { ledger, open };
}
