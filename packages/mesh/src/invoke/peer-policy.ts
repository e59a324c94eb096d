/**
 * Per-peer policy for federated invocations (protocols/invoke.md, "Server-side policy"): who
 * may call this node, which modules, under which capability ceiling, how often and how many at
 * once. Checked in that order before anything runs; a refusal costs the executor nothing.
 *
 * The table is replaceable at runtime (`setPolicies`: the admin API edits policies) without
 * losing count of the calls already running, so a replacement never lets a peer exceed its new
 * concurrency by forgetting the old calls.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import { GojinnError } from '@gojinn/errors';
import type { CapabilityRights } from '@gojinn/capabilities';
import { TokenBucket } from './token-bucket.ts';

/** One peer's policy: the shape of the daemon's `[[peers]]` entries (docs/config.md). */
export interface PeerPolicy {
  readonly id: string;
  /** Module names, or ["*"] for any. */
  readonly modules: readonly string[];
  /** Ceiling on the capabilities the peer's invocations get (intersected with declared ∩ granted). */
  readonly capabilities: CapabilityRights;
  readonly ratePerSecond: number;
  readonly maxConcurrent: number;
}

export type UnknownPeers = 'deny' | 'allow';

/** Rate an admitted unknown peer gets (`unknownPeers = "allow"`); the config's [[peers]] default. */
export const DEFAULT_PEER_RATE_PER_SECOND = 50;
/** Concurrency an admitted unknown peer gets; the config's [[peers]] default. */
export const DEFAULT_PEER_MAX_CONCURRENT = 8;
/** Largest accepted `ratePerSecond` (the config's bound). */
export const MAX_PEER_RATE_PER_SECOND = 1_000_000;
/** Largest accepted `maxConcurrent` (the config's bound). */
export const MAX_PEER_MAX_CONCURRENT = 1_024;
/**
 * Federated calls running at once from all peers together. Per-peer limits alone do not bound
 * the executor when unknown peers are admitted (anyone can mint peer ids).
 */
export const DEFAULT_MAX_IN_FLIGHT = 256;
/**
 * Peers whose rate and concurrency state is remembered. Policies name their peers; admitted
 * unknown peers are the rest, and an idle one is forgotten first when the table is full.
 */
export const DEFAULT_MAX_TRACKED_PEERS = 10_000;

/** `overloaded` with a hint: how long until the refused call could be admitted (rate), if known. */
export class OverloadedError extends GojinnError {
  readonly retryAfterMs: number | undefined;

  constructor(message: string, retryAfterMs?: number) {
    super('overloaded', message);
    this.retryAfterMs = retryAfterMs;
  }
}

export interface PeerPolicyTableOptions {
  policies?: readonly PeerPolicy[];
  /** Default "deny". */
  unknownPeers?: UnknownPeers;
  /** Default DEFAULT_MAX_IN_FLIGHT. */
  maxInFlight?: number;
  /** Default DEFAULT_MAX_TRACKED_PEERS. */
  maxTrackedPeers?: number;
  /** Monotonic milliseconds. Default performance.now. */
  now?: () => number;
}

/** One admitted call. `release` when it ends (idempotent); `authorize` for calls by hash. */
export interface PeerAdmission {
  readonly peer: string;
  /** The peer's capability ceiling (empty for an admitted unknown peer: pure functions only). */
  readonly ceiling: CapabilityRights;
  /** Whether the peer may invoke the module named `name`. */
  allows(name: string): boolean;
  /** Throws `peer_denied` unless the peer may invoke `name`. */
  authorize(name: string): void;
  release(): void;
}

interface PeerState {
  bucket: TokenBucket;
  inFlight: number;
}

interface ParsedPolicy {
  policy: PeerPolicy;
  anyModule: boolean;
  modules: ReadonlySet<string>;
}

export class PeerPolicyTable {
  readonly maxInFlight: number;
  readonly maxTrackedPeers: number;
  readonly #now: () => number;
  #policies: ReadonlyMap<string, ParsedPolicy> = new Map();
  #unknownPeers: UnknownPeers = 'deny';
  readonly #states = new Map<string, PeerState>();
  #inFlight = 0;

  constructor(options: PeerPolicyTableOptions = {}) {
    this.maxInFlight = positiveInteger(options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, 'maxInFlight');
    this.maxTrackedPeers = positiveInteger(
      options.maxTrackedPeers ?? DEFAULT_MAX_TRACKED_PEERS,
      'maxTrackedPeers',
    );
    this.#now = options.now ?? (() => performance.now());
    this.setPolicies(options.policies ?? [], options.unknownPeers ?? 'deny');
  }

  /**
   * Replaces every policy (and the unknown-peer rule when given). Validates all before changing
   * anything: a bad entry is `bad_request` and the old table stays. Calls already running keep
   * counting against their peer's concurrency.
   */
  setPolicies(policies: readonly PeerPolicy[], unknownPeers: UnknownPeers = this.#unknownPeers): void {
    if (unknownPeers !== 'deny' && unknownPeers !== 'allow') {
      throw new GojinnError('bad_request', `unknownPeers must be "deny" or "allow"`);
    }
    const parsed = new Map<string, ParsedPolicy>();
    policies.forEach((policy, i) => {
      const entry = parsePolicy(policy, `peers[${i}]`);
      if (parsed.has(entry.policy.id)) {
        throw new GojinnError('bad_request', `peers[${i}] repeats the policy of peer ${entry.policy.id}`);
      }
      parsed.set(entry.policy.id, entry);
    });
    this.#policies = parsed;
    this.#unknownPeers = unknownPeers;
    const now = this.#now();
    for (const [peer, state] of this.#states) {
      const limits = this.#limitsOf(peer);
      if (limits !== undefined) state.bucket.setRate(limits.ratePerSecond, now);
      else if (state.inFlight === 0) this.#states.delete(peer); // no longer admitted
    }
  }

  get unknownPeers(): UnknownPeers {
    return this.#unknownPeers;
  }

  /** The policy naming `peer`, if any. */
  policyOf(peer: string): PeerPolicy | undefined {
    return this.#policies.get(peer)?.policy;
  }

  /** Calls admitted and not yet released: all peers, or one. */
  inFlight(peer?: string): number {
    return peer === undefined ? this.#inFlight : (this.#states.get(peer)?.inFlight ?? 0);
  }

  /**
   * Admits one call from `peer` (the id the Noise handshake proved), for the module named
   * `moduleName` when the call names one (a call by hash is checked with `authorize` once the
   * executor knows the name). Order: a policy exists (else `peer_denied`), the module is allowed
   * (`peer_denied`), the node's and the peer's concurrency, then the peer's rate (`overloaded`).
   */
  admit(peer: string, moduleName?: string): PeerAdmission {
    const entry = this.#policies.get(peer);
    if (entry === undefined && this.#unknownPeers === 'deny') {
      throw new GojinnError(
        'peer_denied',
        `peer ${peer} has no policy on this node (unknown peers are denied)`,
      );
    }
    const allows = (name: string): boolean =>
      entry === undefined || entry.anyModule || entry.modules.has(name);
    const authorize = (name: string): void => {
      if (!allows(name)) {
        throw new GojinnError('peer_denied', `peer ${peer} may not invoke module ${JSON.stringify(name)}`);
      }
    };
    if (moduleName !== undefined) authorize(moduleName);
    const limits = this.#limitsOf(peer);
    if (limits === undefined) throw new GojinnError('peer_denied', `peer ${peer} has no policy on this node`);
    if (this.#inFlight >= this.maxInFlight) {
      throw new OverloadedError(
        `this node is running its limit of ${this.maxInFlight} federated calls (maxInFlight)`,
      );
    }
    const now = this.#now();
    const state = this.#stateOf(peer, limits.ratePerSecond, now);
    if (state.inFlight >= limits.maxConcurrent) {
      throw new OverloadedError(
        `peer ${peer} is running its limit of ${limits.maxConcurrent} calls at once (maxConcurrent); retry when one ends`,
      );
    }
    const wait = state.bucket.take(now);
    if (wait > 0) {
      throw new OverloadedError(
        `peer ${peer} is over its rate of ${limits.ratePerSecond} calls per second (ratePerSecond); retry in ${wait} ms`,
        wait,
      );
    }
    state.inFlight++;
    this.#inFlight++;
    let released = false;
    return {
      peer,
      ceiling: entry?.policy.capabilities ?? {},
      allows,
      authorize,
      release: () => {
        if (released) return;
        released = true;
        state.inFlight--;
        this.#inFlight--;
      },
    };
  }

  #limitsOf(peer: string): { ratePerSecond: number; maxConcurrent: number } | undefined {
    const entry = this.#policies.get(peer);
    if (entry !== undefined) return entry.policy;
    if (this.#unknownPeers === 'allow') {
      return { ratePerSecond: DEFAULT_PEER_RATE_PER_SECOND, maxConcurrent: DEFAULT_PEER_MAX_CONCURRENT };
    }
    return undefined;
  }

  #stateOf(peer: string, ratePerSecond: number, now: number): PeerState {
    let state = this.#states.get(peer);
    if (state === undefined) {
      if (this.#states.size >= this.maxTrackedPeers)
        this.#forgetIdle(now, this.#states.size - this.maxTrackedPeers + 1);
      if (this.#states.size >= this.maxTrackedPeers) {
        throw new OverloadedError(
          `this node tracks its limit of ${this.maxTrackedPeers} calling peers (maxTrackedPeers)`,
        );
      }
      state = { bucket: new TokenBucket(ratePerSecond, now), inFlight: 0 };
      this.#states.set(peer, state);
    }
    return state;
  }

  /**
   * Forgets up to `count` peers with nothing running, oldest first: those with a full bucket
   * (nothing to remember), then — only when that is not enough — any idle one (whose next call
   * then starts from a full bucket, which a peer can only provoke with maxTrackedPeers others).
   */
  #forgetIdle(now: number, count: number): void {
    let left = count;
    for (const pass of ['full', 'idle'] as const) {
      for (const [peer, state] of this.#states) {
        if (left <= 0) return;
        if (state.inFlight > 0) continue;
        if (pass === 'full' && !state.bucket.full(now)) continue;
        this.#states.delete(peer);
        left--;
      }
    }
  }
}

function parsePolicy(policy: PeerPolicy, at: string): ParsedPolicy {
  let id: string;
  try {
    id = peerIdFromString(policy.id).toString();
  } catch {
    throw new GojinnError(
      'bad_request',
      `${at}.id ${JSON.stringify(String(policy.id).slice(0, 64))} is not a peer id`,
    );
  }
  if (!Array.isArray(policy.modules) || policy.modules.length === 0) {
    throw new GojinnError('bad_request', `${at}.modules must list module names, or "*" alone`);
  }
  const anyModule = policy.modules.includes('*');
  if (anyModule && policy.modules.length !== 1) {
    throw new GojinnError('bad_request', `${at}.modules: "*" must stand alone`);
  }
  for (const name of policy.modules) {
    if (typeof name !== 'string') throw new GojinnError('bad_request', `${at}.modules must be strings`);
  }
  boundedInteger(policy.ratePerSecond, 1, MAX_PEER_RATE_PER_SECOND, `${at}.ratePerSecond`);
  boundedInteger(policy.maxConcurrent, 1, MAX_PEER_MAX_CONCURRENT, `${at}.maxConcurrent`);
  if (typeof policy.capabilities !== 'object' || policy.capabilities === null) {
    throw new GojinnError('bad_request', `${at}.capabilities must be an object of capabilities`);
  }
  return { policy: { ...policy, id }, anyModule, modules: new Set(policy.modules) };
}

function boundedInteger(value: number, min: number, max: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new GojinnError(
      'bad_request',
      `${what} must be an integer in [${min}, ${max}], got ${String(value)}`,
    );
  }
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
