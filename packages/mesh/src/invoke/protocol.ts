/**
 * `/gojinn/invoke/1.0.0` (protocols/invoke.md): a federated call runs on the peer that serves
 * the module, under that peer's policy, and comes back with the response and a receipt signed
 * by the executing node. The server side applies the policy before anything runs and hands the
 * call to an injected executor (the daemon's sandbox); the client side checks that the receipt
 * is the called peer's and is about this very call before returning it.
 *
 * `/gojinn/invoke/1.1.0` carries the same calls and answers in session framing (many calls per
 * long-lived stream, matched by id): the server serves both, the caller uses 1.1.0 through a
 * per-node SessionPool and falls back to 1.0.0 for a peer that does not speak it.
 */
import type { Libp2p } from 'libp2p';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import { canonicalJson, sha256Hex } from '@gojinn/manifest';
import type { JsonValue } from '@gojinn/manifest';
import type { CapabilityRights } from '@gojinn/capabilities';
import { encodeRequest } from '@gojinn/sandbox';
import type { GuestRequest, GuestResponse } from '@gojinn/sandbox';
import type { ErrorInfo } from '@gojinn/errors';
import { defineProtocol, protocolId } from '../request-response.ts';
import {
  DEFAULT_CALLS_PER_SESSION,
  DEFAULT_SESSIONS_PER_CONNECTION,
  defineSessionProtocol,
} from '../session/protocol.ts';
import type { SessionProtocol } from '../session/protocol.ts';
import { SessionPool } from '../session/pool.ts';
import type { SessionPoolOptions } from '../session/pool.ts';
import type { ProtocolSpec, RequestContext, RequestOptions } from '../request-response.ts';
import {
  encodeInvokeAnswer,
  encodeInvokeCall,
  checkOwnInvokeCall,
  parseInvokeAnswer,
  parseInvokeCall,
  MAX_HOPS,
  MAX_DEADLINE_MS,
} from './messages.ts';
import type { InvokeAnswer, InvokeCall, ModuleRef } from './messages.ts';
import { verifyParsedReceipt } from './receipt.ts';
import { ReceiptBatcher } from './receipt-batcher.ts';
import type { PeerPolicyTable } from './peer-policy.ts';

export const INVOKE_PROTOCOL_NAME = 'invoke';
/** 1 MiB of guest request (the sandbox's maxStdinBytes) plus 64 KiB of envelope. */
export const INVOKE_MAX_REQUEST_BYTES = 1_114_112;
/** 1 MiB of guest response (the sandbox's maxStdoutBytes) plus 64 KiB of envelope and receipt. */
export const INVOKE_MAX_RESPONSE_BYTES = 1_114_112;
/** Added to a deadline for the stream: the answer's travel time after the run. */
export const INVOKE_TIMEOUT_GRACE_MS = 1_000;
/** The server's own limit on one call's run when it has none configured (the config's limits.timeoutMs default). */
export const DEFAULT_INVOKE_TIMEOUT_MS = 5_000;
/** Node-to-node hops a call may take, by default: one (the caller to the executing peer; no forwarding). */
export const DEFAULT_MAX_HOPS = 1;

/** The wire contract; `timeoutMs` is per call at the caller (deadline + grace). */
export const INVOKE_PROTOCOL_SPEC: Readonly<ProtocolSpec> = Object.freeze({
  name: INVOKE_PROTOCOL_NAME,
  version: '1.0.0',
  maxRequestBytes: INVOKE_MAX_REQUEST_BYTES,
  maxResponseBytes: INVOKE_MAX_RESPONSE_BYTES,
  timeoutMs: DEFAULT_INVOKE_TIMEOUT_MS + INVOKE_TIMEOUT_GRACE_MS,
});

export const INVOKE_PROTOCOL_ID = protocolId(INVOKE_PROTOCOL_NAME, '1.0.0');

/** The session-framed invoke protocol: the same messages and limits, many calls per stream. */
export const INVOKE_SESSION_PROTOCOL_VERSION = '1.1.0';
export const INVOKE_SESSION_PROTOCOL_ID = protocolId(INVOKE_PROTOCOL_NAME, INVOKE_SESSION_PROTOCOL_VERSION);

/** The caller's view of 1.1.0 (its limits and id); servers define theirs with their own timeoutMs. */
export const INVOKE_SESSION_PROTOCOL: SessionProtocol = defineSessionProtocol({
  ...INVOKE_PROTOCOL_SPEC,
  version: INVOKE_SESSION_PROTOCOL_VERSION,
});

/** What the executor is asked to run: everything the policy decided, and the call itself. */
export interface ExecuteCall {
  /** The calling peer, proven by the Noise handshake. */
  peer: string;
  module: ModuleRef;
  request: GuestRequest;
  /** min(the caller's deadlineMs, this server's timeoutMs). */
  deadlineMs: number;
  /** The caller's fuel limit, if it set one: run with min(this, the node's, the manifest's). */
  fuel: number | undefined;
  /** The caller's seed, if it set one; else the executor draws one and reports it. */
  seed: string | undefined;
  /** The peer's capability ceiling: effective rights = declared ∩ granted ∩ ceiling. */
  ceiling: CapabilityRights;
  traceId: string;
  /** Times the call was forwarded before reaching this node. */
  hops: number;
  /**
   * Throws `peer_denied` unless the peer may invoke the module named `name`. The executor MUST
   * call it with the resolved module's name before running (a call by hash names no module
   * until resolved); an answer from an executor that did not is refused as `internal`.
   */
  authorize(name: string): void;
  /** Aborted at the deadline or when the caller goes away. */
  signal: AbortSignal;
}

/** What ran and what it did: an InvocationOutcome (or the fields of one) and the module's hash. */
export interface ExecuteResult {
  outcome: {
    ok: boolean;
    response?: GuestResponse;
    error?: ErrorInfo;
    fuelUsed: bigint | number;
    deterministic: boolean;
    seed: string;
  };
  moduleSha256: string;
}

export type InvokeExecutor = (call: ExecuteCall) => Promise<ExecuteResult>;

export interface InvokeProtocolOptions {
  policies: PeerPolicyTable;
  execute: InvokeExecutor;
  /** The node key (libp2p Ed25519): signs receipts. */
  privateKey: PrivateKey;
  /** Node-to-node hops a call may have taken on arrival, counting the one that brought it. Default DEFAULT_MAX_HOPS. */
  maxHops?: number;
  /** The longest run this node grants a call, ms. Default DEFAULT_INVOKE_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Wall clock for receipts' `time`. Default Date.now. */
  clock?: () => number;
  /** 1.1.0: calls running at once on one session. Default DEFAULT_CALLS_PER_SESSION (32). */
  maxCallsPerSession?: number;
  /** 1.1.0: sessions accepted per connection. Default DEFAULT_SESSIONS_PER_CONNECTION (8). */
  maxSessionsPerConnection?: number;
  /** 1.1.0: a session idle this long is closed by the server, ms. Default DEFAULT_SERVER_SESSION_IDLE_MS (60 s). */
  sessionIdleMs?: number;
  /**
   * Receipts of one caller's calls under one signature at most, 1..MAX_RECEIPTS_PER_BATCH
   * (default, 64); 1 signs every receipt alone (still schema 2, a batch of one).
   */
  maxReceiptsPerBatch?: number;
}

export interface InvokeServer {
  /** `/gojinn/invoke/1.0.0` (one call per stream). */
  readonly id: string;
  /** `/gojinn/invoke/1.1.0` (session framing), served beside `id`. */
  readonly sessionId: string;
  /** Serves both protocol ids on `node` until the returned function is called. */
  handle(node: Libp2p): Promise<() => Promise<void>>;
  /** Signs the receipts (its counters say how many batches and receipts so far). */
  readonly receipts: ReceiptBatcher;
  /** The handler itself, for tests and embedders: bytes of a call in, bytes of an answer out. */
  serve(request: Uint8Array, context: Pick<RequestContext, 'peerId' | 'signal'>): Promise<Uint8Array>;
}

export function createInvokeProtocol(options: InvokeProtocolOptions): InvokeServer {
  const maxHops = options.maxHops ?? DEFAULT_MAX_HOPS;
  if (!Number.isSafeInteger(maxHops) || maxHops < 1 || maxHops > MAX_HOPS + 1) {
    throw new RangeError(`maxHops must be an integer in [1, ${MAX_HOPS + 1}], got ${String(maxHops)}`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_DEADLINE_MS) {
    throw new RangeError(`timeoutMs must be an integer in [1, ${MAX_DEADLINE_MS}], got ${String(timeoutMs)}`);
  }
  const clock = options.clock ?? Date.now;
  // Session limits are part of 1.1.0: callers rely on them, so a server may raise, not lower them.
  for (const [key, value, least] of [
    ['maxCallsPerSession', options.maxCallsPerSession, DEFAULT_CALLS_PER_SESSION],
    ['maxSessionsPerConnection', options.maxSessionsPerConnection, DEFAULT_SESSIONS_PER_CONNECTION],
  ] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < least)) {
      throw new RangeError(`${key} must be an integer ≥ ${least} (callers rely on it), got ${String(value)}`);
    }
  }
  const receipts = new ReceiptBatcher(
    options.privateKey,
    options.maxReceiptsPerBatch === undefined ? {} : { maxPerBatch: options.maxReceiptsPerBatch },
  );
  const protocol = defineProtocol({
    ...INVOKE_PROTOCOL_SPEC,
    timeoutMs: timeoutMs + INVOKE_TIMEOUT_GRACE_MS,
  });
  const sessions = defineSessionProtocol({
    ...INVOKE_PROTOCOL_SPEC,
    version: INVOKE_SESSION_PROTOCOL_VERSION,
    timeoutMs: timeoutMs + INVOKE_TIMEOUT_GRACE_MS,
    ...(options.maxCallsPerSession === undefined ? {} : { maxCallsPerSession: options.maxCallsPerSession }),
    ...(options.maxSessionsPerConnection === undefined
      ? {}
      : { maxSessionsPerConnection: options.maxSessionsPerConnection }),
    ...(options.sessionIdleMs === undefined ? {} : { idleMs: options.sessionIdleMs }),
  });

  const serve = async (
    bytes: Uint8Array,
    context: Pick<RequestContext, 'peerId' | 'signal'>,
  ): Promise<Uint8Array> => {
    const call = parseInvokeCall(bytes);
    const peer = context.peerId.toString();
    const hops = call.hops ?? 0;
    if (hops + 1 > maxHops) {
      throw new GojinnError(
        'peer_denied',
        `call arrived after ${hops + 1} hops; this node accepts at most ${maxHops} (maxHops)`,
      );
    }
    const admission = options.policies.admit(peer, 'name' in call.module ? call.module.name : undefined);
    let authorized: string | undefined;
    let result: ExecuteResult;
    try {
      result = await options.execute({
        peer,
        module: call.module,
        request: call.request,
        deadlineMs: Math.min(call.deadlineMs, timeoutMs),
        fuel: call.fuel,
        seed: call.seed,
        ceiling: admission.ceiling,
        traceId: call.request.trace_id,
        hops,
        authorize: (name) => {
          admission.authorize(name);
          authorized = name;
        },
        signal: context.signal,
      });
    } finally {
      admission.release();
    }
    if (authorized === undefined) {
      throw new GojinnError('internal', 'executor ran a federated call without authorizing its module');
    }
    const { outcome } = result;
    if (!outcome.ok || outcome.response === undefined) {
      // Errors keep their codes end to end; a failed run carries no receipt in 1.0.0.
      throw new GojinnError(outcome.error?.code ?? 'internal', outcome.error?.message ?? 'internal error');
    }
    if (call.seed !== undefined && outcome.seed !== call.seed) {
      throw new GojinnError('internal', 'executor ran with another seed than the caller asked for');
    }
    // Signed with the other calls of this caller that finish in this turn (receipt-batcher.ts).
    const receipt = await receipts.sign(peer, {
      moduleSha256: result.moduleSha256,
      requestSha256: requestSha256(call.request),
      responseSha256: responseSha256(outcome.response),
      fuelUsed: Number(outcome.fuelUsed),
      deterministic: outcome.deterministic,
      seed: outcome.seed,
      traceId: call.request.trace_id,
      time: new Date(clock()).toISOString(),
    });
    return encodeInvokeAnswer({ response: outcome.response, receipt });
  };

  return {
    id: protocol.id,
    sessionId: sessions.id,
    receipts,
    async handle(node) {
      const stopOne = await protocol.handle(node, serve);
      let stopSessions: () => Promise<void>;
      try {
        stopSessions = await sessions.handle(node, serve);
      } catch (error) {
        await stopOne();
        throw error;
      }
      return async () => {
        await Promise.all([stopOne(), stopSessions()]);
      };
    },
    serve,
  };
}

/** SHA-256 of the exact stdin bytes a guest reads for `request` (the receipt's requestSha256). */
export function requestSha256(request: GuestRequest): string {
  return sha256Hex(encodeRequest(request));
}

/** SHA-256 of the canonical JSON of a guest response (the receipt's responseSha256). */
export function responseSha256(response: GuestResponse): string {
  const { status, headers, body } = response;
  return sha256Hex(
    new TextEncoder().encode(canonicalJson({ status, headers, body } as unknown as JsonValue)),
  );
}

export interface InvokeRemoteOptions extends RequestOptions {
  /**
   * The sessions the call goes over: default `invokeSessions(node)`, the node's shared pool;
   * `false` ⇒ 1.0.0, one stream for this call (as before sessions).
   */
  sessions?: SessionPool | false;
}

const sharedPools = new WeakMap<Libp2p, SessionPool>();

/**
 * The node's shared pool of 1.1.0 sessions, created on first use with `options` (later calls
 * get the same pool, whatever they pass). Sessions close when idle or when the node stops.
 */
export function invokeSessions(node: Libp2p, options?: SessionPoolOptions): SessionPool {
  let pool = sharedPools.get(node);
  if (pool === undefined) {
    pool = new SessionPool(node, INVOKE_SESSION_PROTOCOL, options);
    sharedPools.set(node, pool);
  }
  return pool;
}

/**
 * Calls `peer` and returns its answer once the receipt is proven: signed by `peer`'s key, about
 * this request (hash and trace id), this response (hash), and the caller's seed when it set
 * one. Throws the peer's error code unchanged; `peer_unreachable` / `timeout` as PeerCallError
 * (`requestSent` says whether the call may have run); `bad_response` for an answer that does
 * not match the call; `signature_invalid` for a receipt that does not verify.
 *
 * The call goes over a 1.1.0 session (`options.sessions`, default the node's shared pool), or
 * over its own 1.0.0 stream when the peer does not speak 1.1.0, when every session is full, or
 * with `sessions: false`.
 */
export async function invokeRemote(
  node: Libp2p,
  peer: PeerId,
  call: InvokeCall,
  options: InvokeRemoteOptions = {},
): Promise<InvokeAnswer> {
  const bytes = encodeInvokeCall(call);
  // The same field checks the server applies: a bad call is refused here without a stream.
  checkOwnInvokeCall(bytes);
  const timeoutMs = call.deadlineMs + INVOKE_TIMEOUT_GRACE_MS;
  const oneStream = (requestOptions: RequestOptions): Promise<Uint8Array> =>
    defineProtocol({ ...INVOKE_PROTOCOL_SPEC, timeoutMs }).request(node, peer, bytes, requestOptions);
  const signalOnly: RequestOptions = options.signal === undefined ? {} : { signal: options.signal };
  const pool = options.sessions ?? invokeSessions(node);
  const answerBytes =
    pool === false
      ? await oneStream(signalOnly)
      : await pool.request(peer, bytes, { ...signalOnly, timeoutMs, fallback: oneStream });
  const who = peer.toString();
  const answer = parseInvokeAnswer(answerBytes, who);
  // parseInvokeAnswer parsed the receipt strictly; this checks who signed it and the signature.
  const receipt = verifyParsedReceipt(answer.receipt, peer);
  const mismatch = (field: string): never => {
    throw new GojinnError('bad_response', `receipt from ${who} does not match the call: ${field} differs`);
  };
  if (receipt.requestSha256 !== requestSha256(call.request)) mismatch('requestSha256');
  if (receipt.traceId !== call.request.trace_id) mismatch('traceId');
  if (receipt.responseSha256 !== responseSha256(answer.response)) mismatch('responseSha256');
  if (call.seed !== undefined && receipt.seed !== call.seed) mismatch('seed');
  if ('sha256' in call.module && receipt.moduleSha256 !== call.module.sha256) {
    mismatch('moduleSha256');
  }
  return { response: answer.response, receipt };
}
