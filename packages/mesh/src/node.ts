/**
 * Assembles the Gojinn libp2p node: TCP + Noise + yamux, identify and ping, a Kademlia DHT
 * under Gojinn's own protocol name (so a Gojinn node never joins or pollutes the public IPFS
 * DHT), gossipsub for signed manifests, the peer store and DHT records persisted in level in
 * the data dir, bootstrap peers, a peer-id allow list, banned peers and connection limits.
 */
import { join } from 'node:path';
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { Identify } from '@libp2p/identify';
import { ping } from '@libp2p/ping';
import type { Ping } from '@libp2p/ping';
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht';
import type { KadDHT } from '@libp2p/kad-dht';
import { gossipsub } from '@libp2p/gossipsub';
import { mdns } from '@libp2p/mdns';
import type { GossipSub } from '@libp2p/gossipsub';
import { LevelDatastore } from 'datastore-level';
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PeerId, ConnectionGater } from '@libp2p/interface';
import { KEEP_ALIVE } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import { loadOrCreateNodeIdentity } from './identity.ts';
import type { BannedPeers } from './peer-penalties.ts';
import { MANIFEST_TOPIC } from './gossip/message.ts';
import { MANIFEST_TOPIC_SCORE_PARAMS, gossipMessageId } from './gossip/scoring.ts';

/** The mDNS service tag: Gojinn nodes answer only each other's queries, not every libp2p app's. */
export const MDNS_SERVICE_TAG = '_gojinn._udp.local';

/** Default ms between mDNS queries (the library's default): a new LAN peer is found within it. */
export const DEFAULT_MDNS_INTERVAL_MS = 10_000;

/** Concurrent ping streams per connection, each way (see the ping service below). */
export const PING_STREAMS_PER_CONNECTION = 4;

/** The DHT protocol: private, so Gojinn nodes only ever route among themselves. */
export const GOJINN_DHT_PROTOCOL = '/gojinn/kad/1.0.0';

/** Folder of the level database (peer store + DHT records) inside the data dir. */
export const DATASTORE_DIR = 'datastore';

export interface MeshConnectionLimits {
  /** Open connections above which the connection manager prunes. Default 100 (config `mesh.maxConnections`). */
  maxConnections: number;
  /** New inbound connections accepted per second from one IP. Default 5 (libp2p's). */
  inboundConnectionThreshold: number;
  /** Inbound connections in the handshake at once. Default 10 (libp2p's). */
  maxIncomingPendingConnections: number;
  /** Dial (connect + handshake) deadline in ms. Default 5000. */
  dialTimeoutMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<MeshConnectionLimits> = Object.freeze({
  maxConnections: 100,
  inboundConnectionThreshold: 5,
  maxIncomingPendingConnections: 10,
  dialTimeoutMs: 5000,
});

export interface MeshNodeOptions {
  /** Holds the node key (node.key) and the datastore. Created when missing. */
  dataDir: string;
  /** Listen multiaddrs. Default `/ip4/127.0.0.1/tcp/0` (loopback only, any port). */
  listen?: string[];
  /** Peers to dial at start, each a multiaddr ending in `/p2p/<peer id>`; kept connected. */
  bootstrap?: string[];
  /**
   * When set, only these peer ids may connect in or be dialled out; every other peer is
   * refused after the Noise handshake proves its id. Undefined admits any peer.
   */
  allowPeers?: string[];
  /**
   * Peers banned for misbehaviour (a `PeerPenalties`): asked on every dial and on every
   * connection once Noise has proved the peer's id, both ways. A banned peer is refused even
   * when it is on `allowPeers`. Undefined bans nobody.
   */
  banned?: BannedPeers;
  limits?: Partial<MeshConnectionLimits>;
  /**
   * IP networks (multiaddr prefixes such as `/ip4/127.0.0.1/ipcidr/32`) exempt from the
   * inbound rate limit and pending-connection limit. Many nodes on one host need loopback here.
   */
  rateLimitExempt?: string[];
  /**
   * The peers share a host or a LAN: the DHT keeps private/loopback addresses (otherwise it
   * drops them), and gossipsub does not penalise many peers behind one IP (otherwise nodes on
   * one host graylist each other at about 14 peers).
   */
  localNetwork?: boolean;
  /**
   * Discover peers on the LAN by multicast DNS (config `mesh.mdns`) and dial them. Off by
   * default: it announces the node's addresses to everyone on the link.
   */
  mdns?: boolean;
  /** Ms between mDNS queries. Default DEFAULT_MDNS_INTERVAL_MS. */
  mdnsIntervalMs?: number;
}

export type MeshServices = {
  identify: Identify;
  ping: Ping;
  dht: KadDHT;
  pubsub: GossipSub;
};

export interface MeshNode {
  libp2p: Libp2p<MeshServices>;
  peerId: PeerId;
  /** Stops libp2p, then closes the datastore. */
  stop(): Promise<void>;
}

/** Creates and starts a node. Refuses a malformed bootstrap address or allow-list entry. */
export async function createMeshNode(options: MeshNodeOptions): Promise<MeshNode> {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  const allowPeers = options.allowPeers === undefined ? undefined : parseAllowList(options.allowPeers);
  const bootstrap = (options.bootstrap ?? []).map(parseBootstrap);
  const identity = await loadOrCreateNodeIdentity(options.dataDir);
  const datastore = new LevelDatastore(join(options.dataDir, DATASTORE_DIR));
  await datastore.open();
  const local = options.localNetwork === true;
  let libp2p: Libp2p<MeshServices>;
  try {
    libp2p = await createLibp2p<MeshServices>({
      privateKey: identity.privateKey,
      datastore,
      addresses: { listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: peerGater(allowPeers, options.banned),
      peerDiscovery:
        options.mdns === true
          ? [
              mdns({
                serviceTag: MDNS_SERVICE_TAG,
                interval: options.mdnsIntervalMs ?? DEFAULT_MDNS_INTERVAL_MS,
              }),
            ]
          : [],
      connectionManager: {
        maxConnections: limits.maxConnections,
        inboundConnectionThreshold: limits.inboundConnectionThreshold,
        maxIncomingPendingConnections: limits.maxIncomingPendingConnections,
        dialTimeout: limits.dialTimeoutMs,
        allow: options.rateLimitExempt ?? [],
      },
      services: {
        identify: identify(),
        // libp2p's connection monitor pings every connection every 10 s and aborts it when the
        // ping fails; with the default of one outbound ping stream, a monitor ping that meets
        // a routing or fetch latency ping is refused and the connection is aborted, losing the
        // gossip and calls on it (bench/gossip-convergence.ts measured 16-28 aborts per 25 s
        // on 40 links under load). A few concurrent pings per connection remove that.
        ping: ping({
          maxOutboundStreams: PING_STREAMS_PER_CONNECTION,
          maxInboundStreams: PING_STREAMS_PER_CONNECTION,
        }),
        dht: kadDHT({
          protocol: GOJINN_DHT_PROTOCOL,
          clientMode: false,
          peerInfoMapper: local ? passthroughMapper : removePrivateAddressesMapper,
          // A small private mesh may have no DHT peer yet; a query then returns nothing
          // instead of failing.
          allowQueryWithZeroPeers: true,
        }),
        pubsub: gossipsub({
          // Messages are identified by their content, and a Reject on the manifest topic lowers
          // the sender's score (P4), so a peer that keeps sending forged records is graylisted.
          msgIdFn: gossipMessageId,
          scoreParams: {
            ...(local ? { IPColocationFactorWeight: 0 } : {}),
            topics: { [MANIFEST_TOPIC]: { ...MANIFEST_TOPIC_SCORE_PARAMS } },
          },
        }),
      },
    });
  } catch (error) {
    await datastore.close();
    throw error;
  }
  if (options.mdns === true) {
    // libp2p 3 does not dial discovered peers by itself. The gater still applies: a peer
    // outside the allow list is never dialled.
    libp2p.addEventListener('peer:discovery', (event) => {
      if (event.detail.id.equals(libp2p.peerId)) return;
      libp2p.dial(event.detail.id).catch(() => {
        // Gone again or refused by the gater: the next announcement retries.
      });
    });
  }
  for (const { peerId, addr } of bootstrap) {
    // Tagged keep-alive: libp2p redials these when the connection drops and at next start.
    await libp2p.peerStore.merge(peerId, { multiaddrs: [addr], tags: { [KEEP_ALIVE]: { value: 1 } } });
    libp2p.dial(addr).catch(() => {
      // Unreachable now: the keep-alive tag makes libp2p retry; nothing else to do here.
    });
  }
  return {
    libp2p,
    peerId: libp2p.peerId,
    async stop() {
      try {
        await libp2p.stop();
      } finally {
        await datastore.close();
      }
    },
  };
}

/** Refuses a peer outside the allow list (when there is one) or banned now. */
function peerGater(
  allowPeers: ReadonlySet<string> | undefined,
  banned: BannedPeers | undefined,
): ConnectionGater {
  if (allowPeers === undefined && banned === undefined) return {};
  const denied = (peerId: PeerId): boolean =>
    (allowPeers !== undefined && !allowPeers.has(peerId.toString())) || banned?.isBanned(peerId) === true;
  return {
    denyDialPeer: denied,
    denyInboundEncryptedConnection: denied,
    denyOutboundEncryptedConnection: denied,
  };
}

function parseAllowList(entries: string[]): ReadonlySet<string> {
  const ids = new Set<string>();
  for (const entry of entries) {
    try {
      ids.add(peerIdFromString(entry).toString());
    } catch (error) {
      throw new GojinnError('bad_request', `allowPeers entry ${JSON.stringify(entry)} is not a peer id`, {
        cause: error,
      });
    }
  }
  return ids;
}

function parseBootstrap(entry: string): { peerId: PeerId; addr: ReturnType<typeof multiaddr> } {
  try {
    const addr = multiaddr(entry);
    const id = addr.getComponents().findLast((c) => c.name === 'p2p')?.value;
    if (id === undefined) throw new Error('no /p2p/ component');
    return { peerId: peerIdFromString(id), addr };
  } catch (error) {
    throw new GojinnError(
      'bad_request',
      `bootstrap address ${JSON.stringify(entry)} is not a multiaddr ending in /p2p/<peer id>`,
      { cause: error },
    );
  }
}
