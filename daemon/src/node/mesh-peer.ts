/**
 * The node's libp2p side as the daemon runs it: the peer (from the config's listen, bootstrap,
 * mDNS and connection settings), manifest gossip validated under the node's trust, and what a
 * node does with what arrives — revocations are applied to the registry at once (the
 * resolver forgets what they withdraw), trusted manifests are handed to `onTrustedManifest`
 * (the fetcher). Loaded lazily by startNode: libp2p is heavy.
 */
import { isIP } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import { toErrorInfo } from '@gojinn/errors';
import type { JsonObject } from '@gojinn/manifest';
import { createMeshNode, ManifestGossip, type GossipLedger, type MeshNode } from '@gojinn/mesh';
import type { Manifest, Revocation } from '@gojinn/manifest';
import type { PeerId } from '@libp2p/interface';
import type { ModuleRegistry } from '@gojinn/registry';
import type { NodeConfig } from '../config/index.ts';

/** A structured event for the node's log (`event` names it; no secrets ever go in). */
export type MeshEventLog = (level: 'info' | 'warn' | 'error', event: string, fields: JsonObject) => void;

export interface MeshPeerOptions {
  config: NodeConfig;
  registry: ModuleRegistry;
  /** What the node has accepted from gossip (persistent in the daemon). */
  ledger: GossipLedger;
  /** Called after a revocation changed what the registry serves. */
  onRevoked: (revocation: Revocation) => void;
  /** A manifest of a trusted publisher arrived (or was caught up): fetch and install it. */
  onTrustedManifest: (manifest: Manifest, from: PeerId) => void;
  /** Every rejected gossip or sync record, for metrics (the sender is penalised by gossipsub). */
  onGossipResult?: (result: 'accepted' | 'rejected' | 'ignored') => void;
  log: MeshEventLog;
}

export interface PeerSummary {
  id: string;
  addresses: string[];
  /** Round-trip time measured by libp2p (ping/identify), ms; undefined until measured. */
  latencyMs: number | undefined;
  direction: 'inbound' | 'outbound';
}

export interface MeshPeer {
  readonly node: MeshNode;
  readonly gossip: ManifestGossip;
  /** The peer's listen addresses with /p2p/<id>, for other nodes' bootstrap lists. */
  addresses(): string[];
  peers(): PeerSummary[];
  stop(): Promise<void>;
}

/**
 * A node whose listen addresses are all loopback or private shares a host or LAN with its
 * peers: the DHT must keep those addresses and gossipsub must not penalise many peers behind
 * one IP (see docs/mesh.md, `localNetwork`).
 */
export function listensLocally(addresses: readonly string[]): boolean {
  return addresses.every((text) => {
    const host = multiaddr(text)
      .getComponents()
      .find((c) => c.name === 'ip4' || c.name === 'ip6')?.value;
    if (host === undefined || isIP(host) === 0) return false;
    if (host === '::1' || host.startsWith('127.')) return true;
    return /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|f[cd][0-9a-f]{2}:)/i.test(host);
  });
}

export async function startMeshPeer(options: MeshPeerOptions): Promise<MeshPeer> {
  const { config, registry, log } = options;
  const node = await createMeshNode({
    dataDir: config.node.dataDir,
    listen: [...config.listen.addresses],
    bootstrap: [...config.mesh.bootstrap],
    mdns: config.mesh.mdns,
    limits: { maxConnections: config.mesh.maxConnections },
    localNetwork: listensLocally(config.listen.addresses),
  });
  const gossip = new ManifestGossip(node, {
    trust: registry.trust,
    ledger: options.ledger,
    onManifest: ({ manifest, trusted, from }) => {
      options.onGossipResult?.('accepted');
      const fields = { name: manifest.name, version: manifest.version, publisher: manifest.publisher };
      if (!trusted) {
        // Relayed (valid signature) but never fetched or run: this node does not trust the key.
        log('info', 'manifest_untrusted', { ...fields, from: from.toString() });
        return;
      }
      log('info', 'manifest_accepted', { ...fields, from: from.toString() });
      if (!from.equals(node.peerId)) options.onTrustedManifest(manifest, from);
    },
    onRevocation: ({ verified, from }) => {
      options.onGossipResult?.('accepted');
      const bytes = new TextEncoder().encode(JSON.stringify(verified.revocation));
      registry.applyRevocation(bytes).then(
        () => {
          options.onRevoked(verified.revocation);
          log('warn', 'revocation_applied', {
            kind: verified.revocation.kind,
            publisher: verified.revocation.publisher,
            ...(verified.revocation.kind === 'version'
              ? { name: verified.revocation.name, version: verified.revocation.version }
              : {}),
            from: from.toString(),
          });
        },
        (error: unknown) => {
          log('error', 'revocation_failed', { error: toErrorInfo(error).message, from: from.toString() });
        },
      );
    },
    onReject: ({ code, message, from, via }) => {
      options.onGossipResult?.('rejected');
      log('warn', 'gossip_rejected', {
        code,
        message,
        via: via.toString(),
        ...(from === undefined ? {} : { from: from.toString() }),
      });
    },
    onError: (error) => {
      log('error', 'gossip_error', { error: toErrorInfo(error).message });
    },
  });
  gossip.start();
  const libp2p = node.libp2p;
  return {
    node,
    gossip,
    addresses: () => libp2p.getMultiaddrs().map((address) => address.toString()),
    peers: () =>
      libp2p.getConnections().map((connection) => ({
        id: connection.remotePeer.toString(),
        addresses: [connection.remoteAddr.toString()],
        latencyMs: connection.rtt,
        direction: connection.direction,
      })),
    async stop() {
      gossip.stop();
      await node.stop();
    },
  };
}
