/**
 * Per-peer penalties for misbehaviour outside gossip (gossipsub scores its own senders): a
 * peer that serves forged records by catch-up sync is counted here, and past a threshold it
 * is banned for a while, so it cannot reconnect at once and make this node verify another
 * round of forgeries. The connection gater (node.ts, `banned`) and catch-up (`banned`) ask
 * `isBanned`. Memory is bounded: at most `maxTrackedPeers` records, least recently
 * penalised forgotten first, banned peers last. Bans live in memory: a restart forgets them.
 */
import type { Libp2p } from 'libp2p';
import type { PeerId } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import { requirePositiveIntegers } from './request-response.ts';

export interface PeerPenaltyLimits {
  /**
   * Score at which a peer is banned. Each misbehaviour adds 1 and the score halves at the end
   * of every `scoreHalfLifeMs` since the peer's first, so this many misbehaviours within one
   * half-life ban it. Default 3 (as gossipsub graylists after three rejected messages, see
   * gossip/scoring.ts).
   */
  banThreshold: number;
  /**
   * Half-life of the score, ms: it halves in whole steps (not continuously), so misbehaviours
   * a few ms apart count in full. Default 10 minutes (twice the catch-up interval).
   */
  scoreHalfLifeMs: number;
  /** Length of a peer's first ban, ms; each later ban doubles it. Default 5 minutes. */
  firstBanMs: number;
  /** Longest ban, ms: the doubling stops here. Default 24 hours. */
  maxBanMs: number;
  /**
   * A peer with no misbehaviour for this long (and not banned) is forgotten: its next ban is
   * `firstBanMs` again. Default 24 hours.
   */
  forgetAfterMs: number;
  /** Peers tracked at most; past it the least recently penalised unbanned peer is forgotten. Default 1024. */
  maxTrackedPeers: number;
}

export const DEFAULT_PEER_PENALTY_LIMITS: Readonly<PeerPenaltyLimits> = Object.freeze({
  banThreshold: 3,
  scoreHalfLifeMs: 10 * 60_000,
  firstBanMs: 5 * 60_000,
  maxBanMs: 24 * 60 * 60_000,
  forgetAfterMs: 24 * 60 * 60_000,
  maxTrackedPeers: 1024,
});

/** What the gater and catch-up need: is this peer banned now? */
export interface BannedPeers {
  isBanned(peer: PeerId | string): boolean;
}

/** The outcome of one misbehaviour. */
export type PenaltyVerdict =
  | {
      banned: false;
      /** The peer's decayed score after this misbehaviour (below `banThreshold`). */
      score: number;
    }
  | {
      banned: true;
      /** When the ban ends, ms since the epoch (the injected clock's). */
      until: number;
      /** The ban's length, ms. */
      banMs: number;
      /** Bans of this peer so far, this one included (1 for a first ban). */
      bans: number;
    };

interface PenaltyRecord {
  score: number;
  /** Start of the half-life `score` is in: the first misbehaviour, plus whole half-lives. */
  scoredAt: number;
  /** When the peer last misbehaved. */
  lastAt: number;
  bans: number;
  /** End of the current or last ban; 0 when never banned. */
  bannedUntil: number;
}

export interface PeerPenaltiesOptions {
  limits?: Partial<PeerPenaltyLimits>;
  /** The clock, ms since the epoch. Default Date.now. */
  now?: () => number;
}

export class PeerPenalties implements BannedPeers {
  readonly limits: Readonly<PeerPenaltyLimits>;
  readonly #now: () => number;
  /** In least recently penalised first order (a Map keeps insertion order). */
  readonly #records = new Map<string, PenaltyRecord>();

  constructor(options: PeerPenaltiesOptions = {}) {
    const limits = { ...DEFAULT_PEER_PENALTY_LIMITS, ...options.limits };
    requirePositiveIntegers(limits, [
      'banThreshold',
      'scoreHalfLifeMs',
      'firstBanMs',
      'maxBanMs',
      'forgetAfterMs',
      'maxTrackedPeers',
    ]);
    if (limits.maxBanMs < limits.firstBanMs) {
      throw new GojinnError(
        'bad_request',
        `maxBanMs (${limits.maxBanMs}) must be ≥ firstBanMs (${limits.firstBanMs})`,
      );
    }
    this.limits = Object.freeze(limits);
    this.#now = options.now ?? Date.now;
  }

  /** Peers tracked now (at most `maxTrackedPeers`). */
  get size(): number {
    return this.#records.size;
  }

  /**
   * Counts one misbehaviour of `peer`. A peer banned already stays banned until the same
   * time (a round still running when the ban began cannot lengthen it).
   */
  misbehaved(peer: PeerId | string): PenaltyVerdict {
    const key = peer.toString();
    const now = this.#now();
    let record = this.#records.get(key);
    if (record !== undefined && this.#forgotten(record, now)) record = undefined;
    this.#records.delete(key);
    if (record === undefined) {
      this.#makeRoom(now);
      record = { score: 0, scoredAt: now, lastAt: now, bans: 0, bannedUntil: 0 };
    }
    this.#records.set(key, record);
    record.lastAt = now;
    if (record.bannedUntil > now) {
      return { banned: true, until: record.bannedUntil, banMs: this.#banMs(record.bans), bans: record.bans };
    }
    const halvings = this.#halvings(record, now);
    record.score = record.score / 2 ** halvings + 1;
    record.scoredAt += halvings * this.limits.scoreHalfLifeMs;
    if (record.score < this.limits.banThreshold) return { banned: false, score: record.score };
    // The ban pays for the score: after it, the peer needs `banThreshold` more to be banned again.
    record.bans++;
    record.score = 0;
    const banMs = this.#banMs(record.bans);
    record.bannedUntil = now + banMs;
    return { banned: true, until: record.bannedUntil, banMs, bans: record.bans };
  }

  isBanned(peer: PeerId | string): boolean {
    const record = this.#records.get(peer.toString());
    return record !== undefined && record.bannedUntil > this.#now();
  }

  /** The peer's current decayed score; 0 for a peer not tracked. */
  score(peer: PeerId | string): number {
    const record = this.#records.get(peer.toString());
    const now = this.#now();
    if (record === undefined || this.#forgotten(record, now)) return 0;
    return record.score / 2 ** this.#halvings(record, now);
  }

  /** The `bans`-th ban's length: firstBanMs doubled per earlier ban, at most maxBanMs. */
  #banMs(bans: number): number {
    const { firstBanMs, maxBanMs } = this.limits;
    // 2 ** 53 and more would only overflow towards Infinity; the cap is reached long before.
    const doublings = Math.min(bans - 1, 52);
    return Math.min(firstBanMs * 2 ** doublings, maxBanMs);
  }

  /** Whole half-lives since `scoredAt` (a clock going back counts as none). */
  #halvings(record: PenaltyRecord, now: number): number {
    return Math.floor(Math.max(0, now - record.scoredAt) / this.limits.scoreHalfLifeMs);
  }

  #forgotten(record: PenaltyRecord, now: number): boolean {
    return (
      record.bannedUntil <= now &&
      now - Math.max(record.lastAt, record.bannedUntil) >= this.limits.forgetAfterMs
    );
  }

  /**
   * Makes room for one more peer at maxTrackedPeers: the least recently penalised peer that is
   * not banned goes first, so a flood of fresh peer ids cannot push a banned peer out of the
   * list; when every tracked peer is banned, the least recently penalised one goes.
   */
  #makeRoom(now: number): void {
    while (this.#records.size >= this.limits.maxTrackedPeers) {
      let victim: string | undefined;
      for (const [key, record] of this.#records) {
        if (record.bannedUntil <= now) {
          victim = key;
          break;
        }
      }
      victim ??= this.#records.keys().next().value;
      if (victim === undefined) return;
      this.#records.delete(victim);
    }
  }
}

/**
 * What a node does with a peer caught misbehaving (a forged record in a sync reply): counts it
 * in `penalties` and closes the peer's connections. Closing is the penalty below the
 * threshold (the peer may reconnect); past it the gater refuses the peer both ways until the
 * verdict's `until`.
 */
export function penalisePeer(
  libp2p: Pick<Libp2p, 'hangUp'>,
  penalties: PeerPenalties,
  peer: PeerId,
): PenaltyVerdict {
  const verdict = penalties.misbehaved(peer);
  libp2p.hangUp(peer).catch(() => {
    // Already gone: nothing left to close.
  });
  return verdict;
}
