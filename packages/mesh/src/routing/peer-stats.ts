/**
 * What the router knows about each provider: latency (an EWMA of ping round trips and of the
 * durations of calls it made there) and load (its calls in flight there right now). A peer
 * is scored `latency × (1 + in flight)`: the expected wait if the calls ahead of ours take as
 * long as ours. Unmeasured peers get UNMEASURED_LATENCY_MS, so a peer known to be fast is
 * preferred and an unknown one is still tried before a peer known to be slow or failing.
 */
import type { Libp2p } from 'libp2p';
import type { PeerId } from '@libp2p/interface';
import type { Ping } from '@libp2p/ping';

/** Weight of the newest sample in the latency average. */
export const LATENCY_EWMA_ALPHA = 0.3;
/** Latency assumed for a peer never measured, ms. */
export const UNMEASURED_LATENCY_MS = 50;
/** Latency recorded for a peer that just failed to answer, ms: it goes behind the others. */
export const FAILED_PEER_LATENCY_MS = 10_000;
/** Peers whose figures are kept; the least recently updated is forgotten past it. */
export const DEFAULT_MAX_TRACKED_PROVIDERS = 4_096;

interface Figures {
  latencyMs: number | undefined;
  inFlight: number;
}

export class PeerStats {
  readonly maxTracked: number;
  readonly #peers = new Map<string, Figures>();

  constructor(maxTracked = DEFAULT_MAX_TRACKED_PROVIDERS) {
    if (!Number.isSafeInteger(maxTracked) || maxTracked < 1) {
      throw new RangeError(`maxTracked must be a positive integer, got ${String(maxTracked)}`);
    }
    this.maxTracked = maxTracked;
  }

  /** Adds a latency sample (a ping RTT or a call's duration), ms. */
  recordLatency(peer: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const figures = this.#touch(peer);
    figures.latencyMs =
      figures.latencyMs === undefined
        ? ms
        : figures.latencyMs + LATENCY_EWMA_ALPHA * (ms - figures.latencyMs);
  }

  /** The peer did not answer: rank it behind every peer that did. */
  recordFailure(peer: string): void {
    const figures = this.#touch(peer);
    figures.latencyMs = Math.max(figures.latencyMs ?? 0, FAILED_PEER_LATENCY_MS);
  }

  /** Counts one call in flight to `peer`; call the returned function when it ends (idempotent). */
  begin(peer: string): () => void {
    const figures = this.#touch(peer);
    figures.inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      figures.inFlight--;
    };
  }

  latencyMs(peer: string): number | undefined {
    return this.#peers.get(peer)?.latencyMs;
  }

  inFlight(peer: string): number {
    return this.#peers.get(peer)?.inFlight ?? 0;
  }

  score(peer: string): number {
    const figures = this.#peers.get(peer);
    return (figures?.latencyMs ?? UNMEASURED_LATENCY_MS) * (1 + (figures?.inFlight ?? 0));
  }

  /** `peers` best first (lowest score); ties keep their given order. */
  rank<T extends { toString(): string }>(peers: readonly T[]): T[] {
    return peers
      .map((peer, i) => ({ peer, i, score: this.score(peer.toString()) }))
      .sort((x, y) => x.score - y.score || x.i - y.i)
      .map((entry) => entry.peer);
  }

  /** Pings `peer` (libp2p's ping service) and records the round trip. Throws when it cannot. */
  async measure(node: Libp2p<{ ping: Ping }>, peer: PeerId, signal?: AbortSignal): Promise<number> {
    const rtt = await node.services.ping.ping(peer, signal === undefined ? {} : { signal });
    this.recordLatency(peer.toString(), rtt);
    return rtt;
  }

  #touch(peer: string): Figures {
    let figures = this.#peers.get(peer);
    if (figures !== undefined) {
      // Most recently updated last: the first entries are the ones to forget.
      this.#peers.delete(peer);
    } else {
      figures = { latencyMs: undefined, inFlight: 0 };
      if (this.#peers.size >= this.maxTracked) this.#forgetOne();
    }
    this.#peers.set(peer, figures);
    return figures;
  }

  #forgetOne(): void {
    for (const [peer, figures] of this.#peers) {
      if (figures.inFlight === 0) {
        this.#peers.delete(peer);
        return;
      }
    }
  }
}
