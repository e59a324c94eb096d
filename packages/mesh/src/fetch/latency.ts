/**
 * Orders providers by measured round-trip time (libp2p ping), cached per peer so a node that
 * fetches many modules does not ping the same peers before each one.
 */
import type { Libp2p } from 'libp2p';
import type { PeerId } from '@libp2p/interface';
import type { Ping } from '@libp2p/ping';

/** How long a measured RTT is trusted before the peer is pinged again. */
export const DEFAULT_LATENCY_TTL_MS = 60_000;

/** A peer that has not answered a ping within this is ordered last (it may still serve). */
export const DEFAULT_PING_TIMEOUT_MS = 2000;

/** Peers remembered at most; the oldest measurement is forgotten first. */
export const MAX_LATENCY_ENTRIES = 1024;

/** Pause before pinging again when libp2p refused a second concurrent ping stream. */
const PING_RETRY_DELAY_MS = 25;

export interface PeerLatencyOptions {
  ttlMs?: number;
  pingTimeoutMs?: number;
}

export type PingNode = Libp2p<{ ping: Ping }>;

export class PeerLatencyCache {
  readonly ttlMs: number;
  readonly pingTimeoutMs: number;
  // Insertion order = age: a re-measured peer is deleted and set again.
  readonly #entries = new Map<string, { rttMs: number; at: number }>();

  constructor(options: PeerLatencyOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_LATENCY_TTL_MS;
    this.pingTimeoutMs = options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  }

  /** The cached RTT in ms (Infinity = did not answer), or undefined when unknown or stale. */
  get(peer: PeerId, now = Date.now()): number | undefined {
    const entry = this.#entries.get(peer.toString());
    if (entry === undefined || now - entry.at > this.ttlMs) return undefined;
    return entry.rttMs;
  }

  /** Records a measurement (the caller may also feed RTTs it observed itself). */
  set(peer: PeerId, rttMs: number, now = Date.now()): void {
    const key = peer.toString();
    this.#entries.delete(key);
    this.#entries.set(key, { rttMs, at: now });
    while (this.#entries.size > MAX_LATENCY_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * `peers` fastest first, stable for equal RTTs. Pings the peers without a fresh measurement,
   * all at once, each within pingTimeoutMs. Peers left unmeasured (their ping stream was busy)
   * come after the measured ones; peers that did not answer come last. A single peer is
   * returned as is: there is nothing to order.
   */
  async order(libp2p: PingNode, peers: readonly PeerId[], signal?: AbortSignal): Promise<PeerId[]> {
    if (peers.length < 2) return [...peers];
    const stale = peers.filter((peer) => this.get(peer) === undefined);
    await Promise.all(stale.map((peer) => this.#measure(libp2p, peer, signal)));
    if (signal?.aborted === true) throw signal.reason;
    // Unmeasured peers go after measured ones and before those that did not answer.
    const rtt = (peer: PeerId): number => this.get(peer) ?? Number.MAX_VALUE;
    return peers
      .map((peer, index) => ({ peer, index, rtt: rtt(peer) }))
      .sort((a, b) => (a.rtt === b.rtt ? a.index - b.index : a.rtt < b.rtt ? -1 : 1))
      .map(({ peer }) => peer);
  }

  async #measure(libp2p: PingNode, peer: PeerId, signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.pingTimeoutMs);
    const pingSignal = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
    for (;;) {
      try {
        this.set(peer, await libp2p.services.ping.ping(peer, { signal: pingSignal }));
        return;
      } catch (error) {
        if (signal?.aborted === true) return;
        // libp2p allows one ping stream per connection, and the DHT pings its peers too: a
        // collision says nothing about the peer. Try again shortly until pingTimeoutMs, then
        // leave it unmeasured.
        if ((error as { name?: unknown }).name === 'TooManyOutboundProtocolStreamsError') {
          if (timeout.aborted) return;
          await new Promise((resolve) => setTimeout(resolve, PING_RETRY_DELAY_MS));
          continue;
        }
        // Unreachable now, or no ping: order it last, and ask again after the TTL.
        this.set(peer, Number.POSITIVE_INFINITY);
        return;
      }
    }
  }
}

const caches = new WeakMap<object, PeerLatencyCache>();

/** The cache shared by every fetch made through `libp2p` (one per node). */
export function latencyCacheOf(libp2p: PingNode): PeerLatencyCache {
  let cache = caches.get(libp2p);
  if (cache === undefined) {
    cache = new PeerLatencyCache();
    caches.set(libp2p, cache);
  }
  return cache;
}
