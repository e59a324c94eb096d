/**
 * Catch-up (protocols/sync.md, "When"): a full sync with every peer that announces the sync
 * protocol through identify, on each new connection, and an incremental one (from where the
 * last round with that peer ended) with every connected such peer each interval. Never two
 * syncs with one peer at once, at most `maxConcurrent` syncs in all, and none with a banned peer.
 */
import type { Libp2p } from 'libp2p';
import type { IdentifyResult, PeerId } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import type { ManifestGossip } from '../gossip/manifest-gossip.ts';
import type { BannedPeers } from '../peer-penalties.ts';
import { syncFromPeer } from './client.ts';
import type { SyncMisbehaviour, SyncResult } from './client.ts';
import { SYNC_INTERVAL_MS, SYNC_PROTOCOL_ID } from './protocol.ts';

/** Default bound on outbound syncs running at once; further peers wait their turn. */
export const DEFAULT_MAX_CONCURRENT_CATCH_UPS = 4;

export interface CatchUpOptions {
  libp2p: Libp2p;
  gossip: Pick<ManifestGossip, 'ingest'>;
  /** Between incremental rounds with every connected peer. Default SYNC_INTERVAL_MS (5 minutes). */
  intervalMs?: number;
  /** Outbound syncs at once. Default DEFAULT_MAX_CONCURRENT_CATCH_UPS. */
  maxConcurrent?: number;
  /** Each finished round. */
  onSync?: (peer: PeerId, result: SyncResult) => void;
  /** A round that failed (unreachable, timeout, overloaded, bad response …); retried next interval. */
  onError?: (peer: PeerId, error: unknown) => void;
  /** The peer sent a forged or malformed record or response: the place to penalise it. */
  onMisbehaviour?: (event: SyncMisbehaviour) => void;
  /**
   * Peers not to sync with while banned (a `PeerPenalties`, the one the node's gater asks):
   * neither started nor taken from the queue. Undefined: every peer.
   */
  banned?: BannedPeers;
}

export interface CatchUp {
  /**
   * Syncs with `peer` now (full, or incremental from the last round's end); undefined when one
   * is already running or queued, or the peer is banned.
   */
  syncNow(peer: PeerId, mode?: 'full' | 'incremental'): Promise<SyncResult | undefined>;
  /** Stops listening and the interval, aborts running syncs and waits for them to end. */
  stop(): Promise<void>;
}

interface Waiting {
  peer: PeerId;
  full: boolean;
  resolve: (result: SyncResult | undefined) => void;
}

export function startCatchUp(options: CatchUpOptions): CatchUp {
  const intervalMs = options.intervalMs ?? SYNC_INTERVAL_MS;
  const maxConcurrent = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_CATCH_UPS;
  for (const [name, value] of [
    ['intervalMs', intervalMs],
    ['maxConcurrent', maxConcurrent],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new GojinnError('bad_request', `${name} must be an integer ≥ 1, got ${String(value)}`);
    }
  }
  const { libp2p } = options;
  const abort = new AbortController();
  /** Where the last round with each peer ended: the next incremental round starts there. */
  const cursors = new Map<string, string>();
  const running = new Map<string, Promise<SyncResult | undefined>>();
  const waiting = new Map<string, Waiting>();
  let stopped = false;
  const isBanned = (peer: PeerId): boolean => options.banned?.isBanned(peer) === true;

  const report = (call: () => void): void => {
    try {
      call();
    } catch {
      // A throwing callback must not stop catch-up.
    }
  };

  const run = (peer: PeerId, full: boolean): Promise<SyncResult | undefined> => {
    const key = peer.toString();
    const round = (async () => {
      try {
        const result = await syncFromPeer(libp2p, peer, options.gossip, {
          cursor: full ? undefined : cursors.get(key),
          signal: abort.signal,
          onMisbehaviour: options.onMisbehaviour,
        });
        if (result.next === undefined) cursors.delete(key);
        else cursors.set(key, result.next);
        report(() => options.onSync?.(peer, result));
        return result;
      } catch (error) {
        cursors.delete(key);
        if (!abort.signal.aborted) report(() => options.onError?.(peer, error));
        return undefined;
      } finally {
        running.delete(key);
        startWaiting();
      }
    })();
    running.set(key, round);
    return round;
  };

  const startWaiting = (): void => {
    for (const [key, next] of waiting) {
      if (stopped || running.size >= maxConcurrent) return;
      if (running.has(key)) continue;
      waiting.delete(key);
      // Banned while it waited: dropped, not synced.
      if (isBanned(next.peer)) next.resolve(undefined);
      else void run(next.peer, next.full).then(next.resolve);
    }
  };

  const syncNow = (
    peer: PeerId,
    mode: 'full' | 'incremental' = 'incremental',
  ): Promise<SyncResult | undefined> => {
    const key = peer.toString();
    if (stopped || running.has(key) || isBanned(peer)) return Promise.resolve(undefined);
    const queued = waiting.get(key);
    if (queued !== undefined) {
      queued.full ||= mode === 'full';
      return Promise.resolve(undefined);
    }
    if (running.size < maxConcurrent) return run(peer, mode === 'full');
    return new Promise((resolve) => waiting.set(key, { peer, full: mode === 'full', resolve }));
  };

  const onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    // identify runs on every new connection: a peer seen again may have missed anything.
    if (event.detail.protocols.includes(SYNC_PROTOCOL_ID)) void syncNow(event.detail.peerId, 'full');
  };
  libp2p.addEventListener('peer:identify', onIdentify);

  const timer = setInterval(() => {
    void (async () => {
      for (const peer of libp2p.getPeers()) {
        if (stopped) return;
        try {
          const { protocols } = await libp2p.peerStore.get(peer);
          if (protocols.includes(SYNC_PROTOCOL_ID)) void syncNow(peer, 'incremental');
        } catch {
          // Not in the peer store (any more): nothing to sync with.
        }
      }
    })();
  }, intervalMs);
  timer.unref();

  return {
    syncNow,
    async stop() {
      if (stopped) return;
      stopped = true;
      libp2p.removeEventListener('peer:identify', onIdentify);
      clearInterval(timer);
      for (const queued of waiting.values()) queued.resolve(undefined);
      waiting.clear();
      abort.abort(new GojinnError('internal', 'catch-up stopped'));
      await Promise.allSettled([...running.values()]);
    },
  };
}
