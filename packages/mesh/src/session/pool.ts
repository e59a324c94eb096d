/**
 * The caller's long-lived sessions, per peer: up to maxSessionsPerPeer streams, opened lazily
 * (a new one only when every open one is busy), each carrying up to maxCallsPerSession calls at
 * once, closed after idleMs with nothing waiting, dropped on any error. Opening a stream costs
 * multistream-select and a peer-store write on both sides; a session pays that once instead of
 * once per call.
 *
 * A peer whose connection does not speak the session protocol is remembered (per connection:
 * a restarted peer is asked again) and its calls go to `fallback` — the one-call-per-stream
 * protocol. Calls beyond every session's room also go to `fallback`, so a burst larger than the
 * pool still runs, at the old cost.
 */
import type { Libp2p } from 'libp2p';
import type { Connection, PeerId } from '@libp2p/interface';
import { GojinnError, raceAbort } from '@gojinn/errors';
import { PeerCallError, decodeResponse } from '../request-response.ts';
import type { ProtocolSpec } from '../request-response.ts';
import { ClientSession } from './client.ts';
import type { SessionProtocol } from './protocol.ts';

/** Sessions one caller keeps to one peer (below the server's DEFAULT_SESSIONS_PER_CONNECTION). */
export const DEFAULT_SESSIONS_PER_PEER = 4;
/** A caller closes a session with nothing waiting after this long (well before the server's idle close). */
export const DEFAULT_CLIENT_SESSION_IDLE_MS = 10_000;
/** Longest wait for a new session's stream (dial, multistream-select), whatever the call's deadline. */
export const SESSION_OPEN_TIMEOUT_MS = 10_000;

export interface SessionPoolOptions {
  /** Default DEFAULT_SESSIONS_PER_PEER. */
  maxSessionsPerPeer?: number;
  /** Default: the protocol's maxCallsPerSession. */
  maxCallsPerSession?: number;
  /** Default DEFAULT_CLIENT_SESSION_IDLE_MS. */
  idleMs?: number;
}

export interface SessionRequestOptions {
  /** This call's deadline, ms: `timeout` past it (with `requestSent` as it stands). */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Makes the call another way when the peer does not speak the session protocol or every
   * session is full, with the caller's own signal (the fallback applies its own deadline). None ⇒
   * `peer_unreachable` / `overloaded`, both before anything was sent.
   */
  fallback?: (options: { signal?: AbortSignal }) => Promise<Uint8Array>;
}

interface PeerSessions {
  sessions: ClientSession[];
  opening: Promise<ClientSession | 'unsupported'> | undefined;
}

type Acquired = ClientSession | 'unsupported' | 'full';

export class SessionPool {
  readonly node: Libp2p;
  readonly protocol: SessionProtocol;
  readonly maxSessionsPerPeer: number;
  readonly maxCallsPerSession: number;
  readonly idleMs: number;
  readonly #peers = new Map<string, PeerSessions>();
  /** Connections whose peer answered that it does not speak the protocol. */
  readonly #unsupported = new WeakSet<Connection>();

  constructor(node: Libp2p, protocol: SessionProtocol, options: SessionPoolOptions = {}) {
    this.node = node;
    this.protocol = protocol;
    this.maxSessionsPerPeer = options.maxSessionsPerPeer ?? DEFAULT_SESSIONS_PER_PEER;
    this.maxCallsPerSession = options.maxCallsPerSession ?? protocol.spec.maxCallsPerSession;
    this.idleMs = options.idleMs ?? DEFAULT_CLIENT_SESSION_IDLE_MS;
    for (const [key, value] of [
      ['maxSessionsPerPeer', this.maxSessionsPerPeer],
      ['maxCallsPerSession', this.maxCallsPerSession],
      ['idleMs', this.idleMs],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`${key} must be a positive integer, got ${String(value)}`);
      }
    }
  }

  /**
   * One call: the response body, or the peer's error code; `timeout` / `peer_unreachable` as
   * PeerCallError whose `requestSent` is false only when the call frame surely never left;
   * `bad_request` for a request over maxRequestBytes (nothing sent); `bad_response` for a reply
   * that breaks the protocol.
   */
  async request(peer: PeerId, body: Uint8Array, options: SessionRequestOptions): Promise<Uint8Array> {
    const { spec, id } = this.protocol;
    if (body.byteLength > spec.maxRequestBytes) {
      throw new GojinnError(
        'bad_request',
        `request of ${body.byteLength} bytes exceeds maxRequestBytes (${spec.maxRequestBytes} bytes) of ${spec.name}`,
      );
    }
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
    const who = peer.toString();
    const cut = (requestSent: boolean): unknown =>
      deadline.aborted
        ? new PeerCallError(
            'timeout',
            `no ${spec.name} response from ${who} within ${options.timeoutMs} ms`,
            requestSent,
          )
        : signal.reason;
    // A session that turned out closed before the frame left is retried once on a fresh one.
    for (let attempt = 0; ; attempt++) {
      let acquired: Acquired;
      try {
        acquired = await this.#acquire(peer, signal);
      } catch (error) {
        if (signal.aborted) throw cut(false);
        throw new PeerCallError(
          'peer_unreachable',
          `cannot open ${id} to ${who}: ${(error as Error).message}`,
          false,
          { cause: error },
        );
      }
      if (acquired === 'unsupported' || acquired === 'full') {
        if (options.fallback !== undefined) {
          return options.fallback(options.signal === undefined ? {} : { signal: options.signal });
        }
        throw acquired === 'unsupported'
          ? new PeerCallError('peer_unreachable', `${who} does not speak ${id}`, false)
          : new GojinnError(
              'overloaded',
              `${this.maxSessionsPerPeer} ${spec.name} sessions to ${who} each have ${this.maxCallsPerSession} calls waiting`,
            );
      }
      let payload: Uint8Array;
      try {
        payload = await acquired.call(body, signal);
      } catch (error) {
        if (signal.aborted) throw cut(!(error instanceof PeerCallError && !error.requestSent));
        if (error instanceof PeerCallError && !error.requestSent && attempt === 0) continue;
        throw error;
      }
      return decodeResponse(payload, spec as unknown as Required<ProtocolSpec>, who);
    }
  }

  /** Open sessions to `peer`, or to every peer. */
  sessionCount(peer?: PeerId): number {
    if (peer !== undefined) return this.#peers.get(peer.toString())?.sessions.length ?? 0;
    let count = 0;
    for (const entry of this.#peers.values()) count += entry.sessions.length;
    return count;
  }

  /** Closes every session: waiting calls fail as on a lost connection. */
  close(): void {
    for (const entry of this.#peers.values()) {
      for (const session of [...entry.sessions]) session.abort(new Error('session pool closed'));
    }
  }

  async #acquire(peer: PeerId, signal: AbortSignal): Promise<Acquired> {
    const key = peer.toString();
    let entry = this.#peers.get(key);
    if (entry === undefined) {
      entry = { sessions: [], opening: undefined };
      this.#peers.set(key, entry);
    }
    for (;;) {
      entry.sessions = entry.sessions.filter((session) => session.usable);
      let best: ClientSession | undefined;
      for (const session of entry.sessions) {
        if (session.hasRoom && (best === undefined || session.inFlight < best.inFlight)) best = session;
      }
      if (best !== undefined && best.inFlight === 0) return reserved(best);
      const room = this.maxSessionsPerPeer - entry.sessions.length;
      if (room <= 0) return best === undefined ? 'full' : reserved(best);
      if (entry.opening === undefined) {
        const opening = this.#open(peer, entry);
        entry.opening = opening;
        const clear = (): void => {
          if (entry.opening === opening) entry.opening = undefined;
        };
        opening.then(clear, clear);
      }
      // Every open session is busy: use the least busy now, the new one serves later calls.
      if (best !== undefined) return reserved(best);
      const opened = await raceAbort(entry.opening, signal);
      if (opened === 'unsupported') return opened;
    }
  }

  async #open(peer: PeerId, entry: PeerSessions): Promise<ClientSession | 'unsupported'> {
    const signal = AbortSignal.timeout(SESSION_OPEN_TIMEOUT_MS);
    const connection = await this.node.dial(peer, { signal });
    if (this.#unsupported.has(connection)) return 'unsupported';
    let stream;
    try {
      stream = await connection.newStream(this.protocol.id, {
        signal,
        // A retiring session may still be open beside a full pool.
        maxOutboundStreams: this.maxSessionsPerPeer * 2,
      });
    } catch (error) {
      if ((error as { name?: unknown }).name === 'UnsupportedProtocolError') {
        this.#unsupported.add(connection);
        return 'unsupported';
      }
      throw error;
    }
    const { spec, id } = this.protocol;
    const session = new ClientSession(
      stream,
      peer.toString(),
      {
        name: spec.name,
        id,
        maxRequestBytes: spec.maxRequestBytes,
        maxResponseBytes: spec.maxResponseBytes,
        maxCallsPerSession: this.maxCallsPerSession,
        idleMs: this.idleMs,
      },
      (ended) => {
        entry.sessions = entry.sessions.filter((session) => session !== ended);
        if (entry.sessions.length === 0 && entry.opening === undefined) this.#peers.delete(peer.toString());
      },
    );
    entry.sessions.push(session);
    return session;
  }
}

/** `session`, counted as taken by a call about to be sent (ClientSession.reserve). */
function reserved(session: ClientSession): ClientSession {
  session.reserve();
  return session;
}
