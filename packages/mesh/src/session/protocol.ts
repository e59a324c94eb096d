/**
 * A request/response protocol in session framing (protocols/README.md, "Session framing"): the
 * same requests, responses, status byte and limits as `defineProtocol`, but many calls per
 * long-lived stream. `handle` serves it; a SessionPool (pool.ts) calls it.
 */
import type { Libp2p } from 'libp2p';
import { protocolId, requirePositiveIntegers } from '../request-response.ts';
import type { ProtocolSpec, RequestHandler } from '../request-response.ts';
import { serveSession } from './server.ts';

/** Calls running at once on one session (server: one more is `overloaded`; caller: the most it sends). */
export const DEFAULT_CALLS_PER_SESSION = 32;
/** Sessions a server accepts per connection (libp2p resets one more before it is served). */
export const DEFAULT_SESSIONS_PER_CONNECTION = 8;
/** A session with nothing running and no frame for this long is closed by the server. */
export const DEFAULT_SERVER_SESSION_IDLE_MS = 60_000;

export interface SessionProtocolSpec extends Omit<ProtocolSpec, 'maxInboundStreams' | 'maxOutboundStreams'> {
  /** Default DEFAULT_CALLS_PER_SESSION. */
  maxCallsPerSession?: number;
  /** Sessions per connection and direction. Default DEFAULT_SESSIONS_PER_CONNECTION. */
  maxSessionsPerConnection?: number;
  /** Server side idle close, ms. Default DEFAULT_SERVER_SESSION_IDLE_MS. */
  idleMs?: number;
}

export interface SessionProtocol {
  readonly id: string;
  readonly spec: Readonly<Required<SessionProtocolSpec>>;
  /** Serves the protocol on `node` until the returned function is called. */
  handle(node: Libp2p, handler: RequestHandler): Promise<() => Promise<void>>;
}

export function defineSessionProtocol(spec: SessionProtocolSpec): SessionProtocol {
  const full: Required<SessionProtocolSpec> = {
    version: '1.0.0',
    maxCallsPerSession: DEFAULT_CALLS_PER_SESSION,
    maxSessionsPerConnection: DEFAULT_SESSIONS_PER_CONNECTION,
    idleMs: DEFAULT_SERVER_SESSION_IDLE_MS,
    ...spec,
  };
  requirePositiveIntegers(full, [
    'maxRequestBytes',
    'maxResponseBytes',
    'timeoutMs',
    'maxCallsPerSession',
    'maxSessionsPerConnection',
    'idleMs',
  ]);
  const id = protocolId(full.name, full.version);
  const limits = {
    name: full.name,
    maxRequestBytes: full.maxRequestBytes,
    maxResponseBytes: full.maxResponseBytes,
    timeoutMs: full.timeoutMs,
    maxCallsPerSession: full.maxCallsPerSession,
    idleMs: full.idleMs,
  };
  return {
    id,
    spec: Object.freeze(full),
    async handle(node, handler) {
      await node.handle(id, (stream, connection) => serveSession(stream, connection, limits, handler), {
        maxInboundStreams: full.maxSessionsPerConnection,
        maxOutboundStreams: full.maxSessionsPerConnection,
      });
      return () => node.unhandle(id);
    },
  };
}
