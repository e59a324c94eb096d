/**
 * Versioned request/response protocols: one stream per call, one request frame, one response
 * frame, a deadline per stream. Every Gojinn wire protocol except gossip is built on this
 * (protocols/README.md, "Request/response framing").
 *
 * Response frame: one status byte, then the body. 0x00 = success (the body is the protocol's
 * response), 0x01 = failure (the body is JSON `{ code, message }` with a stable error code).
 */
import type { Libp2p } from 'libp2p';
import type { PeerId, Stream, Connection } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { GojinnError, isErrorCode, toErrorInfo } from '@gojinn/errors';
import type { ErrorInfo } from '@gojinn/errors';
import { framedStream, FrameError } from './framing.ts';
import type { FramedStream } from './framing.ts';

/**
 * A call that ended without a response from the peer (`peer_unreachable` or `timeout`).
 * `requestSent` tells whether the whole request frame had left: when false the peer cannot
 * have acted on it, so a caller may safely try another peer; when true it may have run.
 */
export class PeerCallError extends GojinnError {
  readonly requestSent: boolean;

  constructor(
    code: 'peer_unreachable' | 'timeout',
    message: string,
    requestSent: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.requestSent = requestSent;
  }
}

export const RESPONSE_OK = 0x00;
export const RESPONSE_ERROR = 0x01;

/** An error reply's message is cut to this many characters, on both sides. */
export const MAX_ERROR_MESSAGE_CHARS = 1024;

/**
 * Room kept in a response frame for an error reply, beyond maxResponseBytes: 1024 characters of
 * up to 4 UTF-8 bytes each, JSON-escaped, and the code. Frames are bounded by
 * maxResponseBytes + 1 + this.
 */
export const MAX_ERROR_REPLY_BYTES = 8192;

export const PROTOCOL_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
export const PROTOCOL_VERSION_PATTERN = /^\d+\.\d+\.\d+$/;

export interface ProtocolSpec {
  /** Short lowercase name: the protocol id is `/gojinn/<name>/<version>`. */
  name: string;
  /** Semver of the wire format. Default `1.0.0`. */
  version?: string;
  /** Largest request frame (bytes) a server reads; a client refuses to send more. */
  maxRequestBytes: number;
  /** Largest response body (bytes, without the status byte) a client reads. */
  maxResponseBytes: number;
  /** Deadline of one call, stream open to response read (client) or request read to response written (server). */
  timeoutMs: number;
  /** Concurrent inbound streams of this protocol per connection. Default 32. */
  maxInboundStreams?: number;
  /** Concurrent outbound streams of this protocol per connection. Default 32. */
  maxOutboundStreams?: number;
}

export const DEFAULT_STREAMS_PER_CONNECTION = 32;

export interface RequestContext {
  /** The peer proven by the Noise handshake. */
  peerId: PeerId;
  connection: Connection;
  /** Aborted at the deadline or when the stream fails. */
  signal: AbortSignal;
}

export type RequestHandler = (request: Uint8Array, context: RequestContext) => Promise<Uint8Array>;

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface RequestResponseProtocol {
  readonly id: string;
  readonly spec: Readonly<Required<ProtocolSpec>>;
  /** Serves the protocol on `node` until the returned function is called. */
  handle(node: Libp2p, handler: RequestHandler): Promise<() => Promise<void>>;
  /** One call. Throws GojinnError: the peer's own code, or timeout / peer_unreachable / bad_response / bad_request. */
  request(
    node: Libp2p,
    peer: PeerId | Multiaddr,
    request: Uint8Array,
    options?: RequestOptions,
  ): Promise<Uint8Array>;
}

/** Refuses a protocol spec whose limits `keys` are not all positive safe integers (`bad_request`). */
export function requirePositiveIntegers<T extends Record<K, number>, K extends keyof T & string>(
  spec: T,
  keys: readonly K[],
): void {
  for (const key of keys) {
    if (!Number.isSafeInteger(spec[key]) || spec[key] < 1) {
      throw new GojinnError('bad_request', `${key} must be a positive integer, got ${spec[key]}`);
    }
  }
}

export function protocolId(name: string, version = '1.0.0'): string {
  if (!PROTOCOL_NAME_PATTERN.test(name)) {
    throw new GojinnError(
      'bad_request',
      `protocol name ${JSON.stringify(name)} must match ${PROTOCOL_NAME_PATTERN}`,
    );
  }
  if (!PROTOCOL_VERSION_PATTERN.test(version)) {
    throw new GojinnError(
      'bad_request',
      `protocol version ${JSON.stringify(version)} must be MAJOR.MINOR.PATCH`,
    );
  }
  return `/gojinn/${name}/${version}`;
}

export function defineProtocol(spec: ProtocolSpec): RequestResponseProtocol {
  const full: Required<ProtocolSpec> = {
    version: '1.0.0',
    maxInboundStreams: DEFAULT_STREAMS_PER_CONNECTION,
    maxOutboundStreams: DEFAULT_STREAMS_PER_CONNECTION,
    ...spec,
  };
  requirePositiveIntegers(full, [
    'maxRequestBytes',
    'maxResponseBytes',
    'timeoutMs',
    'maxInboundStreams',
    'maxOutboundStreams',
  ]);
  const id = protocolId(full.name, full.version);
  return {
    id,
    spec: Object.freeze(full),
    async handle(node, handler) {
      await node.handle(id, (stream, connection) => serve(full, stream, connection, handler), {
        maxInboundStreams: full.maxInboundStreams,
        maxOutboundStreams: full.maxOutboundStreams,
      });
      return () => node.unhandle(id);
    },
    request: (node, peer, request, options) => call(full, id, node, peer, request, options),
  };
}

async function serve(
  spec: Required<ProtocolSpec>,
  stream: Stream,
  connection: Connection,
  handler: RequestHandler,
): Promise<void> {
  const deadline = AbortSignal.timeout(spec.timeoutMs);
  // A caller that aborts or disconnects resets the stream: stop the handler's work too.
  const streamGone = new AbortController();
  stream.addEventListener('close', (event) => streamGone.abort(event.error ?? new Error('stream closed')), {
    once: true,
  });
  const signal = AbortSignal.any([deadline, streamGone.signal]);
  const framed = framedStream(stream, {
    maxReadBytes: spec.maxRequestBytes,
    readLabel: 'maxRequestBytes',
    // Error replies are short and bounded; success bodies are checked against
    // maxResponseBytes below, with a message naming the protocol.
    maxWriteBytes: spec.maxResponseBytes + 1 + MAX_ERROR_REPLY_BYTES,
    writeLabel: 'maxResponseBytes',
  });
  let request: Uint8Array;
  try {
    request = await framed.read(signal);
  } catch (error) {
    if (error instanceof FrameError && error.kind === 'too_large') {
      // Say why, then reset: the oversized body is never read, and the reset discards it.
      const message = `request frame exceeds maxRequestBytes (${spec.maxRequestBytes} bytes) of ${spec.name}`;
      await replyError(framed, { code: 'bad_request', message }, signal).catch(() => {});
    }
    stream.abort(error as Error);
    return;
  }
  let reply: Uint8Array;
  try {
    const body = await handler(request, { peerId: connection.remotePeer, connection, signal });
    if (deadline.aborted) {
      throw new GojinnError('timeout', `handler exceeded the ${spec.name} deadline of ${spec.timeoutMs} ms`);
    }
    if (signal.aborted) {
      // The caller is gone: nobody to answer.
      stream.abort(new Error('stream closed before the response'));
      return;
    }
    if (body.byteLength > spec.maxResponseBytes) {
      throw new GojinnError(
        'output_limit',
        `response of ${body.byteLength} bytes exceeds maxResponseBytes (${spec.maxResponseBytes} bytes) of ${spec.name}`,
      );
    }
    reply = new Uint8Array(body.byteLength + 1);
    reply[0] = RESPONSE_OK;
    reply.set(body, 1);
  } catch (error) {
    reply = errorFrame(toErrorInfo(error));
  }
  try {
    await framed.write(reply, signal);
    await stream.close({ signal });
  } catch (error) {
    stream.abort(error as Error);
  }
}

async function replyError(framed: FramedStream, info: ErrorInfo, signal: AbortSignal): Promise<void> {
  await framed.write(errorFrame(info), signal);
  await framed.stream.close({ signal });
}

/** A response frame's payload for an error reply: status 0x01 and `{code, message}` (message cut). Shared with session framing. */
export function errorFrame(info: ErrorInfo): Uint8Array {
  const body = new TextEncoder().encode(
    JSON.stringify({ code: info.code, message: info.message.slice(0, MAX_ERROR_MESSAGE_CHARS) }),
  );
  const frame = new Uint8Array(body.byteLength + 1);
  frame[0] = RESPONSE_ERROR;
  frame.set(body, 1);
  return frame;
}

async function call(
  spec: Required<ProtocolSpec>,
  id: string,
  node: Libp2p,
  peer: PeerId | Multiaddr,
  request: Uint8Array,
  options: RequestOptions = {},
): Promise<Uint8Array> {
  if (request.byteLength > spec.maxRequestBytes) {
    throw new GojinnError(
      'bad_request',
      `request of ${request.byteLength} bytes exceeds maxRequestBytes (${spec.maxRequestBytes} bytes) of ${spec.name}`,
    );
  }
  const deadline = AbortSignal.timeout(spec.timeoutMs);
  const signal = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
  const who = peer.toString();
  let stream: Stream;
  try {
    stream = await node.dialProtocol(peer, id, { signal });
  } catch (error) {
    throw (
      aborted(signal, deadline, spec, who, false) ??
      new PeerCallError(
        'peer_unreachable',
        `cannot open ${id} to ${who}: ${(error as Error).message}`,
        false,
        {
          cause: error,
        },
      )
    );
  }
  // The response frame carries one status byte before a body of at most maxResponseBytes.
  const framed = framedStream(stream, {
    maxReadBytes: spec.maxResponseBytes + 1 + MAX_ERROR_REPLY_BYTES,
    readLabel: 'maxResponseBytes',
    maxWriteBytes: spec.maxRequestBytes,
    writeLabel: 'maxRequestBytes',
  });
  let requestSent = false;
  try {
    let writeError: unknown;
    try {
      await framed.write(request, signal);
      await stream.close({ signal });
      requestSent = true;
    } catch (error) {
      // The server may have replied with the reason before resetting: read it if it is there.
      writeError = error;
    }
    let frame: Uint8Array;
    try {
      frame = await framed.read(signal);
    } catch (error) {
      throw writeError ?? error;
    }
    return decodeResponse(frame, spec, who);
  } catch (error) {
    stream.abort(error as Error);
    if (error instanceof GojinnError) throw error;
    const cut = aborted(signal, deadline, spec, who, requestSent);
    if (cut !== undefined) throw cut;
    if (error instanceof FrameError && error.kind === 'too_large') {
      throw new GojinnError(
        'bad_response',
        `${who} sent a ${spec.name} response over the limit: ${error.message}`,
      );
    }
    const when = requestSent ? 'after the request was sent (it may have run)' : 'before the request was sent';
    throw new PeerCallError(
      'peer_unreachable',
      `${id} to ${who} failed ${when}: ${(error as Error).message}`,
      requestSent,
      { cause: error },
    );
  }
}

function aborted(
  signal: AbortSignal,
  deadline: AbortSignal,
  spec: Required<ProtocolSpec>,
  who: string,
  requestSent: boolean,
): unknown {
  if (!signal.aborted) return undefined;
  if (deadline.aborted) {
    return new PeerCallError(
      'timeout',
      `no ${spec.name} response from ${who} within ${spec.timeoutMs} ms`,
      requestSent,
    );
  }
  return signal.reason;
}

/**
 * A response frame (status byte + body) to the body, or the peer's error as GojinnError; anything
 * malformed is `bad_response`. Shared with session framing.
 */
export function decodeResponse(frame: Uint8Array, spec: Required<ProtocolSpec>, who: string): Uint8Array {
  const status = frame[0];
  if (status === RESPONSE_OK) {
    if (frame.byteLength - 1 > spec.maxResponseBytes) {
      throw new GojinnError(
        'bad_response',
        `${who} sent a ${spec.name} response of ${frame.byteLength - 1} bytes; limit maxResponseBytes is ${spec.maxResponseBytes}`,
      );
    }
    return frame.subarray(1);
  }
  if (status === RESPONSE_ERROR) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame.subarray(1)));
    } catch {
      throw new GojinnError('bad_response', `${who} sent a ${spec.name} error reply that is not JSON`);
    }
    const { code, message } = (parsed ?? {}) as { code?: unknown; message?: unknown };
    if (!isErrorCode(code) || typeof message !== 'string') {
      throw new GojinnError(
        'bad_response',
        `${who} sent a ${spec.name} error reply without a known code and a message`,
      );
    }
    throw new GojinnError(code, message.slice(0, MAX_ERROR_MESSAGE_CHARS));
  }
  throw new GojinnError(
    'bad_response',
    `${who} sent a ${spec.name} response with unknown status byte ${String(status)}`,
  );
}
