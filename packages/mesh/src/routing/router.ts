/**
 * Where an invocation runs (issue 5, item 6): here when the module is installed and this node
 * may run it, otherwise — or when the caller asks for a remote run — on the best provider by
 * measured latency and load. A provider that did not run the call (unreachable before the
 * request left, or refused it before running: policy, load, not installed) is skipped for the
 * next; once a request may have run (`requestSent`, or any error from the run itself) its
 * outcome is reported, never retried elsewhere. A call is forwarded at most `maxHops` times
 * between nodes in all (one by default: no node forwards a call it received), so there are
 * no loops.
 */
import type { Libp2p } from 'libp2p';
import type { PeerId } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import type { ErrorCode } from '@gojinn/errors';
import type { GuestRequest, GuestResponse } from '@gojinn/sandbox';
import { PeerCallError } from '../request-response.ts';
import type { InvokeAnswer, InvokeCall, ModuleRef } from '../invoke/messages.ts';
import { MAX_HOPS, describeModule } from '../invoke/messages.ts';
import { DEFAULT_MAX_HOPS, invokeRemote } from '../invoke/protocol.ts';
import type { ExecuteResult } from '../invoke/protocol.ts';
import type { Receipt } from '../invoke/receipt.ts';
import { PeerStats } from './peer-stats.ts';

/** Longest part of a provider's error message quoted when every provider failed. */
const MAX_QUOTED_REASON_CHARS = 160;

/** Providers tried for one call before giving up. */
export const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * Error codes a server returns before running anything (protocols/invoke.md, "Server-side
 * policy"): another provider may still serve the call.
 */
export const REFUSED_BEFORE_RUN: ReadonlySet<ErrorCode> = new Set([
  'peer_denied',
  'overloaded',
  'not_found',
  'untrusted_publisher',
  'revoked',
]);

/** A run on this node of a module already found here (`LocalExecutor.find`). */
export interface LocalCall {
  request: GuestRequest;
  deadlineMs: number;
  fuel: number | undefined;
  seed: string | undefined;
  signal: AbortSignal | undefined;
}

/** A local run's result: the same shape an invoke-protocol executor returns. */
export type LocalResult = ExecuteResult;

/** A module this node serves, resolved once: its runs use what was found, with no second lookup. */
export interface LocalModule {
  run(call: LocalCall): Promise<LocalResult>;
}

export interface LocalExecutor {
  /**
   * The module when it is installed here, trusted, not revoked and allowed to run for local
   * callers; undefined when it is not (the call then goes to a provider).
   */
  find(module: ModuleRef): LocalModule | undefined | Promise<LocalModule | undefined>;
}

/** Peers that serve a module (DHT provider records, gossip): any order, may include this node. */
export type ProviderLookup = (
  module: ModuleRef,
  signal: AbortSignal | undefined,
) => readonly PeerId[] | Promise<readonly PeerId[]>;

export type RemoteInvoke = (
  peer: PeerId,
  call: InvokeCall,
  options: { signal?: AbortSignal },
) => Promise<InvokeAnswer>;

export interface InvocationRouterOptions {
  /** Runs installed modules here; none ⇒ every call goes to a provider. */
  local?: LocalExecutor;
  providers: ProviderLookup;
  /** The node remote calls leave from (with the default `remote`), and whose own id is never a provider. */
  libp2p?: Libp2p;
  /** Default: `invokeRemote` from `libp2p`. */
  remote?: RemoteInvoke;
  stats?: PeerStats;
  /** Node-to-node hops a call may take in all. Default DEFAULT_MAX_HOPS (1). */
  maxHops?: number;
  /** Providers tried per call. Default DEFAULT_MAX_ATTEMPTS. */
  maxAttempts?: number;
}

export interface RouteRequest {
  module: ModuleRef;
  request: GuestRequest;
  /** Time for the whole call, failovers included, ms. */
  deadlineMs: number;
  fuel?: number;
  seed?: string;
  /** Run on a provider even when the module is installed here. */
  remote?: boolean;
  /**
   * Node-to-node hops the call already took to reach this node: 0 for a call made here, the
   * received `hops` + 1 for one that arrived over the invoke protocol.
   */
  hopsTaken?: number;
  signal?: AbortSignal;
}

/** One provider tried and skipped. */
export interface RouteAttempt {
  peer: string;
  code: ErrorCode;
  message: string;
}

export type Routed =
  | {
      where: 'local';
      response: GuestResponse;
      moduleSha256: string;
      fuelUsed: number;
      deterministic: boolean;
      seed: string;
    }
  | {
      where: 'remote';
      peer: string;
      response: GuestResponse;
      /** Verified: signed by `peer`, about this call. */
      receipt: Receipt;
      /** Providers skipped before this one. */
      skipped: RouteAttempt[];
    };

export class InvocationRouter {
  readonly stats: PeerStats;
  readonly maxHops: number;
  readonly maxAttempts: number;
  readonly #local: LocalExecutor | undefined;
  readonly #providers: ProviderLookup;
  readonly #remote: RemoteInvoke | undefined;
  readonly #self: string | undefined;

  constructor(options: InvocationRouterOptions) {
    this.maxHops = options.maxHops ?? DEFAULT_MAX_HOPS;
    if (!Number.isSafeInteger(this.maxHops) || this.maxHops < 0 || this.maxHops > MAX_HOPS + 1) {
      throw new RangeError(`maxHops must be an integer in [0, ${MAX_HOPS + 1}], got ${String(this.maxHops)}`);
    }
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isSafeInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new RangeError(`maxAttempts must be a positive integer, got ${String(this.maxAttempts)}`);
    }
    this.stats = options.stats ?? new PeerStats();
    this.#local = options.local;
    this.#providers = options.providers;
    const node = options.libp2p;
    this.#remote =
      options.remote ??
      (node === undefined
        ? undefined
        : (peer, call, callOptions) => invokeRemote(node, peer, call, callOptions));
    this.#self = node?.peerId.toString();
  }

  /** Runs the call here or on a provider. Throws GojinnError with the code that ended it. */
  async invoke(route: RouteRequest): Promise<Routed> {
    const started = performance.now();
    const hopsTaken = route.hopsTaken ?? 0;
    const here = route.remote === true ? undefined : await this.#local?.find(route.module);
    if (here !== undefined) return this.#runLocal(here, route);
    const what = describeModule(route.module);
    if (hopsTaken + 1 > this.maxHops || this.#remote === undefined) {
      const why =
        this.#remote === undefined
          ? 'this node makes no remote calls'
          : `forwarding it would take ${hopsTaken + 1} hops (maxHops ${this.maxHops})`;
      throw new GojinnError('not_found', `${what} cannot run here and ${why}`);
    }
    const remote = this.#remote;
    const found = await this.#providers(route.module, route.signal);
    const candidates = this.stats
      .rank(dedupe(found).filter((peer) => peer.toString() !== this.#self))
      .slice(0, this.maxAttempts);
    if (candidates.length === 0) throw new GojinnError('not_found', `no provider serves ${what}`);
    const skipped: RouteAttempt[] = [];
    for (const peer of candidates) {
      const left = Math.floor(route.deadlineMs - (performance.now() - started));
      if (left < 1) break;
      const who = peer.toString();
      const call: InvokeCall = {
        module: route.module,
        request: route.request,
        deadlineMs: left,
        hops: hopsTaken,
        ...(route.fuel === undefined ? {} : { fuel: route.fuel }),
        ...(route.seed === undefined ? {} : { seed: route.seed }),
      };
      const end = this.stats.begin(who);
      const callStarted = performance.now();
      try {
        const answer = await remote(peer, call, route.signal === undefined ? {} : { signal: route.signal });
        this.stats.recordLatency(who, performance.now() - callStarted);
        return { where: 'remote', peer: who, response: answer.response, receipt: answer.receipt, skipped };
      } catch (error) {
        if (!(error instanceof GojinnError) || !mayTryAnother(error) || route.signal?.aborted === true)
          throw error;
        if (error instanceof PeerCallError) this.stats.recordFailure(who);
        skipped.push({ peer: who, code: error.code, message: error.message });
      } finally {
        end();
      }
    }
    throw giveUp(what, skipped, route.deadlineMs);
  }

  async #runLocal(module: LocalModule, route: RouteRequest): Promise<Routed> {
    const { outcome, moduleSha256 } = await module.run({
      request: route.request,
      deadlineMs: route.deadlineMs,
      fuel: route.fuel,
      seed: route.seed,
      signal: route.signal,
    });
    if (!outcome.ok || outcome.response === undefined) {
      throw new GojinnError(outcome.error?.code ?? 'internal', outcome.error?.message ?? 'internal error');
    }
    return {
      where: 'local',
      response: outcome.response,
      moduleSha256,
      fuelUsed: Number(outcome.fuelUsed),
      deterministic: outcome.deterministic,
      seed: outcome.seed,
    };
  }
}

/** The call did not run on that provider, so another one may serve it. */
function mayTryAnother(error: GojinnError): boolean {
  if (error instanceof PeerCallError) return !error.requestSent;
  return REFUSED_BEFORE_RUN.has(error.code);
}

/**
 * Nothing served the call: `peer_unreachable` when no provider could be reached, otherwise the
 * first refusal's code (the most telling: e.g. peer_denied); the message lists every attempt.
 */
function giveUp(what: string, skipped: RouteAttempt[], deadlineMs: number): GojinnError {
  if (skipped.length === 0) {
    return new GojinnError('timeout', `no provider of ${what} answered within ${deadlineMs} ms`);
  }
  const refused = skipped.find(
    (attempt) => attempt.code !== 'peer_unreachable' && attempt.code !== 'timeout',
  );
  const list = skipped
    .map(
      (attempt) => `${attempt.peer}: ${attempt.code} (${attempt.message.slice(0, MAX_QUOTED_REASON_CHARS)})`,
    )
    .join('; ');
  return new GojinnError(
    refused?.code ?? 'peer_unreachable',
    `no provider could serve ${what} (${skipped.length} tried: ${list})`,
  );
}

function dedupe(peers: readonly PeerId[]): PeerId[] {
  const seen = new Set<string>();
  return peers.filter((peer) => {
    const key = peer.toString();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
