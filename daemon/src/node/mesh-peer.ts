/**
 * The node's libp2p side as the daemon runs it (issue 5): the peer (from the config's listen,
 * bootstrap, mDNS and connection settings); manifest gossip validated under the node's trust
 * and recorded in the persistent ledger; catch-up sync with every peer; fetch of trusted
 * modules and serving of installed ones; the invoke protocol under per-peer policies; and the
 * router that runs a call here or on the best provider, verifying and auditing receipts.
 * Loaded lazily by startNode: libp2p is heavy.
 */
import { isIP } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { toErrorInfo } from '@gojinn/errors';
import type { JsonObject, Manifest, Revocation } from '@gojinn/manifest';
import {
  InvocationRouter,
  ManifestGossip,
  PeerPolicyTable,
  announceModule,
  compareReExecution,
  createFetchProtocol,
  createInvokeProtocol,
  createMeshNode,
  createSyncProtocol,
  fetchModule,
  findModuleProviders,
  invokeRemote,
  penalisePeer,
  PeerPenalties,
  startCatchUp,
  type EnumerableGossipLedger,
  type MeshNode,
  type PeerPolicy,
  type Receipt,
  type RemoteInvoke,
  type RouteRequest,
  type Routed,
} from '@gojinn/mesh';
import type { InstallResult, ModuleRegistry } from '@gojinn/registry';
import type { NodeConfig } from '../config/index.ts';
import type { ModuleExecutor } from './module-executor.ts';
import { ModuleFetcher, type FetchProgressEvent } from './module-fetcher.ts';
import { RegistryModuleSource } from './registry-module-source.ts';
import { RoutingIndex } from './routing-index.ts';
import { Shutdown } from './lifecycle.ts';

/** A structured event for the node's log (`event` names it; no secrets ever go in). */
export type MeshEventLog = (level: 'info' | 'warn' | 'error', event: string, fields: JsonObject) => void;

export interface MeshPeerOptions {
  config: NodeConfig;
  registry: ModuleRegistry;
  /** The node key (signs receipts; the peer id is its public half). */
  privateKey: PrivateKey;
  /** This node's module size limit (the sandbox's maxModuleBytes): larger manifests are never fetched. */
  maxModuleBytes: number;
  /** What the node has accepted from gossip (persistent: `LevelGossipLedger` on the store). */
  ledger: EnumerableGossipLedger;
  /** Runs installed modules: invoke-protocol calls and the router's local runs. */
  executor: ModuleExecutor;
  /** Per-peer policies in force at start (config [[peers]] overridden by the admin API's). */
  policies: readonly PeerPolicy[];
  /** Records verified receipts, re-execution verdicts (the audit log). */
  record: (kind: 'receipt' | 'receipt-mismatch', data: JsonObject) => void;
  /** Called after a revocation changed what the registry serves. */
  onRevoked: (revocation: Revocation) => void;
  /** Called after a fetched module was installed. */
  onInstalled: (result: InstallResult) => void;
  onGossipResult?: (result: 'accepted' | 'rejected' | 'ignored') => void;
  onFetchedBytes?: (bytes: number) => void;
  /** Each federated call: run here for a peer (inbound) or sent to a peer (outbound), with its outcome. */
  onRemoteInvocation?: (event: { direction: 'inbound' | 'outbound'; outcome: string }) => void;
  onFetchProgress?: (event: FetchProgressEvent) => void;
  log: MeshEventLog;
  /** Between catch-up rounds with every peer, ms. Default the sync protocol's (5 minutes). */
  syncIntervalMs?: number;
}

export interface PeerSummary {
  id: string;
  addresses: string[];
  /** Round-trip time measured by libp2p (identify/ping), ms; undefined until measured. */
  latencyMs: number | undefined;
  direction: 'inbound' | 'outbound';
}

export interface MeshInvokeResult {
  routed: Routed;
  /** Present when asked for and possible: the local re-execution of a deterministic remote run. */
  reExecution?: 'match' | 'mismatch' | 'not_comparable';
}

export interface MeshPeer {
  readonly node: MeshNode;
  readonly gossip: ManifestGossip;
  readonly router: InvocationRouter;
  readonly policies: PeerPolicyTable;
  readonly fetcher: ModuleFetcher;
  /** The peer's listen addresses with /p2p/<id>, for other nodes' bootstrap lists. */
  addresses(): string[];
  peers(): PeerSummary[];
  /** Announces an installed module: its manifest on gossip, this node as a provider of its bytes. */
  publish(manifest: Manifest): Promise<{ recipients: number }>;
  /**
   * Runs a call here or on a provider (or on `peer` when given: no routing, no failover);
   * remote receipts are verified and recorded.
   */
  invoke(route: RouteRequest, options?: { reExecute?: boolean; peer?: string }): Promise<MeshInvokeResult>;
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
  const { config, registry, log, executor } = options;
  // Sync peers caught lying: the gater refuses a banned one both ways, catch-up skips it.
  const penalties = new PeerPenalties();
  const node = await createMeshNode({
    banned: penalties,
    dataDir: config.node.dataDir,
    listen: [...config.listen.addresses],
    bootstrap: [...config.mesh.bootstrap],
    mdns: config.mesh.mdns,
    limits: { maxConnections: config.mesh.maxConnections },
    ...(config.mesh.allowPeers.length === 0 ? {} : { allowPeers: [...config.mesh.allowPeers] }),
    localNetwork: listensLocally(config.listen.addresses),
  });
  const libp2p = node.libp2p;
  // Each part is closed newest first when the peer stops (or a later part fails to start);
  // libp2p itself last.
  const shutdown = new Shutdown();
  shutdown.add('libp2p node', () => node.stop());
  try {
    const routing = new RoutingIndex();
    const { maxModuleBytes } = options;
    const fetcher = new ModuleFetcher({
      registry,
      fetchBytes: (manifest, from, onProgress) =>
        fetchModule(libp2p, {
          sha256: manifest.sha256,
          size: manifest.size,
          maxBytes: maxModuleBytes,
          providers: from === undefined ? [] : [from],
          onProgress: (progress) => onProgress(progress.received),
          onBadProvider: (bad) =>
            log('warn', 'fetch_bad_provider', { peer: bad.peer.toString(), sha256: manifest.sha256 }),
        }),
      announce: (sha256) => announceModule(libp2p, sha256),
      onInstalled: options.onInstalled,
      log,
      ...(options.onFetchProgress === undefined ? {} : { onProgress: options.onFetchProgress }),
      ...(options.onFetchedBytes === undefined ? {} : { onFetchedBytes: options.onFetchedBytes }),
    });
    shutdown.add('module fetcher', () => fetcher.stop());

    const gossip = new ManifestGossip(node, {
      trust: registry.trust,
      ledger: options.ledger,
      onManifest: ({ manifest, trusted, from }) => {
        options.onGossipResult?.('accepted');
        routing.add(manifest, from);
        const fields = { name: manifest.name, version: manifest.version, publisher: manifest.publisher };
        if (!trusted) {
          // Relayed (its signature is valid) but never fetched or run: this node does not trust the key.
          log('info', 'manifest_untrusted', { ...fields, from: from.toString() });
          return;
        }
        log('info', 'manifest_accepted', { ...fields, from: from.toString() });
        if (!from.equals(libp2p.peerId)) fetcher.enqueue(manifest, from);
      },
      onRevocation: ({ verified, from }) => {
        options.onGossipResult?.('accepted');
        const bytes = new TextEncoder().encode(JSON.stringify(verified.revocation));
        registry.applyRevocation(bytes).then(
          () => {
            options.onRevoked(verified.revocation);
            const { revocation } = verified;
            log('warn', 'revocation_applied', {
              kind: revocation.kind,
              publisher: revocation.publisher,
              ...(revocation.kind === 'version'
                ? { name: revocation.name, version: revocation.version }
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
      onError: (error) => log('error', 'gossip_error', { error: toErrorInfo(error).message }),
    });
    gossip.start();
    shutdown.add('manifest gossip', async () => gossip.stop());

    const sync = createSyncProtocol({ ledger: options.ledger });
    shutdown.add('sync protocol', await sync.handle(libp2p));
    // Only installed, verified, unrevoked modules; each read from bytes verified once (see the file).
    const fetchServer = createFetchProtocol({ source: new RegistryModuleSource({ registry }) });
    shutdown.add('fetch protocol', await fetchServer.handle(libp2p));

    const policies = new PeerPolicyTable({
      policies: options.policies,
      unknownPeers: config.mesh.unknownPeers,
    });
    const invokeServer = createInvokeProtocol({
      policies,
      privateKey: options.privateKey,
      timeoutMs: config.limits.timeoutMs,
      execute: async (call) => {
        const result = await executor.run({
          module: call.module,
          request: call.request,
          deadlineMs: call.deadlineMs,
          fuel: call.fuel,
          seed: call.seed,
          ceiling: call.ceiling,
          authorize: call.authorize,
        });
        const outcome = result.outcome.ok ? 'ok' : (result.outcome.error?.code ?? 'internal');
        options.onRemoteInvocation?.({ direction: 'inbound', outcome });
        log('info', 'remote_invocation', {
          peer: call.peer,
          module: result.name,
          trace_id: call.traceId,
          outcome,
        });
        return { outcome: result.outcome, moduleSha256: result.moduleSha256 };
      },
    });
    shutdown.add('invoke protocol', await invokeServer.handle(libp2p));

    // Every call sent to a peer goes through here: counted with its outcome (metrics).
    const remoteCall: RemoteInvoke = async (peer, call, callOptions) => {
      try {
        const answer = await invokeRemote(libp2p, peer, call, callOptions);
        options.onRemoteInvocation?.({ direction: 'outbound', outcome: 'ok' });
        return answer;
      } catch (error) {
        options.onRemoteInvocation?.({ direction: 'outbound', outcome: toErrorInfo(error).code });
        throw error;
      }
    };
    const router = new InvocationRouter({
      libp2p,
      remote: remoteCall,
      local: { find: (module) => executor.find(module) },
      providers: async (module, signal) => {
        const best = routing.best(module);
        const sha256 = best?.sha256 ?? ('sha256' in module ? module.sha256 : undefined);
        const found: PeerId[] = [];
        for (const id of best?.from ?? []) found.push(peerIdFromString(id));
        if (sha256 !== undefined) {
          const fromDht = await findModuleProviders(
            libp2p,
            sha256,
            signal === undefined ? {} : { signal },
          ).catch(() => []);
          found.push(...fromDht);
        }
        if (found.length === 0) {
          // Nothing announced it to this node (or the announcement predates a restart): ask the
          // connected peers, which refuse before running when they do not serve it.
          found.push(...libp2p.getPeers());
        }
        return found;
      },
    });

    // Modules installed before this start (npm start's dev modules, installs made offline) go
    // into the ledger, so catch-up sync serves them to peers, and are provided on the DHT.
    const announced = await recordInstalled(registry, gossip, log);
    void Promise.all(
      announced.map((sha256) =>
        announceModule(libp2p, sha256).catch((error: unknown) => {
          log('info', 'provide_failed', { sha256, error: toErrorInfo(error).message });
        }),
      ),
    );

    const catchUp = startCatchUp({
      libp2p,
      gossip,
      ...(options.syncIntervalMs === undefined ? {} : { intervalMs: options.syncIntervalMs }),
      onError: (peer, error) =>
        log('info', 'sync_failed', { peer: peer.toString(), error: toErrorInfo(error).message }),
      banned: penalties,
      onMisbehaviour: (event) => {
        // A forged or malformed record in a sync reply: the peer is lying or broken (the rest
        // of its reply was already dropped). Gossip punishes such senders through its score;
        // here the connection is closed and the misbehaviour counted: past the threshold the
        // peer is banned (refused both ways, not synced) for a growing time.
        const penalty = penalisePeer(libp2p, penalties, event.peer);
        log('warn', 'sync_misbehaviour', {
          peer: event.peer.toString(),
          code: event.code,
          message: event.message,
          ...(penalty.banned
            ? { action: 'banned', until: new Date(penalty.until).toISOString(), bans: penalty.bans }
            : { action: 'disconnected', score: penalty.score }),
        });
        options.onGossipResult?.('rejected');
      },
    });
    shutdown.add('catch-up sync', () => catchUp.stop());

    return {
      node,
      gossip,
      router,
      policies,
      fetcher,
      addresses: () => libp2p.getMultiaddrs().map((address) => address.toString()),
      peers: () => {
        const seen = new Map<string, PeerSummary>();
        for (const connection of libp2p.getConnections()) {
          const id = connection.remotePeer.toString();
          const known = seen.get(id);
          if (known !== undefined) {
            known.addresses.push(connection.remoteAddr.toString());
            continue;
          }
          seen.set(id, {
            id,
            addresses: [connection.remoteAddr.toString()],
            latencyMs: connection.rtt,
            direction: connection.direction,
          });
        }
        return [...seen.values()];
      },
      async publish(manifest) {
        const result = await gossip.publishManifest(manifest);
        routing.add(manifest, libp2p.peerId);
        await announceModule(libp2p, manifest.sha256).catch((error: unknown) => {
          log('warn', 'provide_failed', { sha256: manifest.sha256, error: toErrorInfo(error).message });
        });
        return { recipients: result.recipients.length };
      },
      async invoke(route, invokeOptions = {}) {
        const routed: Routed =
          invokeOptions.peer === undefined
            ? await router.invoke(route)
            : await invokeOnPeer(remoteCall, invokeOptions.peer, route);
        if (routed.where === 'local') return { routed };
        options.record('receipt', { peer: routed.peer, receipt: routed.receipt as unknown as JsonObject });
        if (invokeOptions.reExecute !== true) return { routed };
        const verdict = await reExecute(executor, routed.receipt, route);
        if (verdict.verdict === 'mismatch') {
          options.record('receipt-mismatch', {
            peer: routed.peer,
            differences: verdict.differences,
            receipt: routed.receipt as unknown as JsonObject,
          });
          log('warn', 'receipt_mismatch', { peer: routed.peer, differences: verdict.differences });
        }
        return { routed, reExecution: verdict.verdict };
      },
      stop: () => shutdown.run(),
    };
  } catch (error) {
    await shutdown.run().catch(() => undefined);
    throw error;
  }
}

/** One call on a named peer (the operator chose it): the receipt is verified by invokeRemote. */
async function invokeOnPeer(remote: RemoteInvoke, peer: string, route: RouteRequest): Promise<Routed> {
  const answer = await remote(
    peerIdFromString(peer),
    {
      module: route.module,
      request: route.request,
      deadlineMs: route.deadlineMs,
      hops: 0,
      ...(route.fuel === undefined ? {} : { fuel: route.fuel }),
      ...(route.seed === undefined ? {} : { seed: route.seed }),
    },
    route.signal === undefined ? {} : { signal: route.signal },
  );
  return { where: 'remote', peer, response: answer.response, receipt: answer.receipt, skipped: [] };
}

/** Records every active, unrevoked installed module's manifest in the gossip ledger; returns their hashes. */
async function recordInstalled(
  registry: ModuleRegistry,
  gossip: ManifestGossip,
  log: MeshEventLog,
): Promise<string[]> {
  const hashes: string[] = [];
  let after: string | undefined;
  do {
    const page = await registry.list(after === undefined ? {} : { after });
    for (const listed of page.items) {
      if (!listed.active || listed.revoked) continue;
      try {
        const { verified } = await registry.get(listed.hash);
        await gossip.publishManifest(verified.manifest);
        hashes.push(listed.hash);
      } catch (error) {
        // E.g. the ledger already holds a higher version (rollback): peers have the newer one.
        log('info', 'announce_skipped', {
          name: listed.name,
          version: listed.version,
          error: toErrorInfo(error).message,
        });
      }
    }
    after = page.next;
  } while (after !== undefined);
  return hashes;
}

/** Runs a deterministic remote call again here (same module bytes, request and seed) and compares. */
async function reExecute(
  executor: ModuleExecutor,
  receipt: Receipt,
  route: RouteRequest,
): Promise<ReturnType<typeof compareReExecution>> {
  if (!receipt.deterministic) {
    return { verdict: 'not_comparable', reason: 'the receipt says the run was not deterministic' };
  }
  const module = await executor.find({ sha256: receipt.moduleSha256 });
  if (module === undefined) {
    return { verdict: 'not_comparable', reason: 'the module is not installed here' };
  }
  const { outcome, moduleSha256 } = await module.run({
    request: route.request,
    deadlineMs: route.deadlineMs,
    seed: receipt.seed,
  });
  if (!outcome.ok || outcome.response === undefined) {
    return { verdict: 'mismatch', peer: receipt.peer, differences: ['responseSha256'] };
  }
  return compareReExecution(receipt, {
    moduleSha256,
    seed: outcome.seed,
    response: outcome.response,
    fuelUsed: outcome.fuelUsed,
  });
}
