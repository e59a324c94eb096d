/**
 * The HTTP gateway: `/fn/<name>[/<path>]` → access control → the guest contract → the
 * function (through an injected resolver) → its response. A library: the daemon mounts the
 * handler on its own server, or uses `listen` (docs/gateway.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GojinnError, toErrorInfo, type ErrorCode } from '@gojinn/errors';
import type { GuestRequest, InvocationOutcome } from '@gojinn/sandbox';
import { ApiKeyStore, parseBearer, type ApiKeyEntry, type ApiKeyGrant } from './api-keys.ts';
import { readBody } from './body.ts';
import { checkCors, corsHeaders, isPreflight, preflightResponse, type CorsOptions } from './cors.ts';
import { forwardedResponseHeaders, guestRequestHeaders } from './headers.ts';
import {
  DEFAULT_IP_RATE_LIMIT,
  DEFAULT_KEY_RATE_LIMIT,
  checkRateLimit,
  resolveGatewayLimits,
  type GatewayLimits,
  type RateLimit,
} from './limits.ts';
import { RateLimiter, type Clock } from './rate-limit.ts';
import { parseRoute } from './route.ts';
import { GatewayRefusal, sendError, statusForCode } from './status.ts';
import { newTraceId, traceIdFromTraceparent } from './trace.ts';

/**
 * What the gateway needs of a function's run: the outcome's verdict and response, and the fuel
 * it used when the resolver knows it (reported to `events.invocation`; 0 when absent).
 */
export type GatewayOutcome = Pick<InvocationOutcome, 'ok' | 'response' | 'error'> &
  Partial<Pick<InvocationOutcome, 'fuelUsed'>>;

/** One callable function, as the resolver hands it out. */
export interface GatewayFunction {
  invoke(request: GuestRequest): Promise<GatewayOutcome>;
}

/**
 * Finds the function served under a name. Throws GojinnError `not_found` or `revoked` (or any
 * other code: each maps to a status through STATUS_BY_CODE).
 */
export interface FunctionResolver {
  resolve(name: string): Promise<GatewayFunction>;
}

/** One invocation of a resolved function, as `events.invocation` reports it (for metrics). */
export interface InvocationEvent {
  /** The function's name (a resolved one: names that do not resolve are never reported). */
  name: string;
  /** The request's trace id (from `traceparent`, or a new one): the key into logs, audit and receipts. */
  traceId: string;
  /** 'ok', or the error code the caller was answered with. */
  outcome: 'ok' | ErrorCode;
  /** Wall-clock ms from handing the request to the function to its outcome (queueing included). */
  durationMs: number;
  /** Fuel the guest used; 0 when the invocation never ran or the resolver does not say. */
  fuelUsed: bigint;
}

/** Where the gateway reports what a caller must not see (internal errors) and what it did. */
export interface GatewayEvents {
  internalError?(error: unknown, context: { name: string; traceId: string }): void;
  /**
   * Called once per invocation of a resolved function, whatever its outcome (a guest failure,
   * a full queue), after the outcome is known and before the response is written. Not called
   * for requests refused before that (access, limits, unknown or revoked names). A throw is
   * reported to `internalError` and does not change the response.
   */
  invocation?(event: InvocationEvent): void;
}

export interface GatewayOptions {
  resolver: FunctionResolver;
  /** Functions anyone may call without a key (the operator's choice; default none). */
  publicFunctions?: readonly string[];
  /** API keys (hashed): an ApiKeyStore to revoke from later, or its entries. */
  apiKeys?: ApiKeyStore | readonly ApiKeyEntry[];
  limits?: Partial<GatewayLimits>;
  /** Token bucket per client IP, every request. Default DEFAULT_IP_RATE_LIMIT. */
  ipRateLimit?: RateLimit;
  /** Token bucket per API key unless the key sets its own. Default DEFAULT_KEY_RATE_LIMIT. */
  keyRateLimit?: RateLimit;
  /** CORS is off unless origins are listed here. */
  cors?: CorsOptions;
  /** Milliseconds, monotonic; for the rate limiter. Default performance.now. */
  clock?: Clock;
  events?: GatewayEvents;
}

export type GatewayHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Gateway {
  readonly handler: GatewayHandler;
  readonly limits: Readonly<GatewayLimits>;
  readonly apiKeys: ApiKeyStore;
  /** Invocations running now. */
  readonly inFlight: number;
}

/** The response header carrying the request's trace id back to the caller. */
export const TRACE_ID_HEADER = 'x-gojinn-trace-id';

export function createGateway(options: GatewayOptions): Gateway {
  const limits = resolveGatewayLimits(options.limits);
  const publicFunctions: ReadonlySet<string> = new Set(options.publicFunctions ?? []);
  const apiKeys =
    options.apiKeys instanceof ApiKeyStore ? options.apiKeys : new ApiKeyStore(options.apiKeys ?? []);
  const ipLimit = checkRateLimit(options.ipRateLimit ?? DEFAULT_IP_RATE_LIMIT, 'ipRateLimit');
  const keyLimit = checkRateLimit(options.keyRateLimit ?? DEFAULT_KEY_RATE_LIMIT, 'keyRateLimit');
  const ipBuckets = new RateLimiter(options.clock);
  const keyBuckets = new RateLimiter(options.clock);
  const cors = options.cors;
  if (cors !== undefined) checkCors(cors);
  let inFlight = 0;

  const authorize = (req: IncomingMessage, name: string): ApiKeyGrant | null => {
    if (publicFunctions.has(name)) return null;
    const bearer = parseBearer(req.headers.authorization, limits.maxApiKeyLength);
    const challenge = { 'www-authenticate': 'Bearer' };
    if (bearer.kind === 'absent') {
      throw new GatewayRefusal(
        401,
        {
          code: 'unauthorized',
          message: `function ${name} requires an API key (Authorization: Bearer <key>)`,
        },
        challenge,
      );
    }
    const grant = bearer.kind === 'token' ? apiKeys.authenticate(bearer.token) : null;
    if (grant === null) {
      throw new GatewayRefusal(
        401,
        { code: 'unauthorized', message: 'the API key is not valid' },
        {
          'www-authenticate': 'Bearer error="invalid_token"',
        },
      );
    }
    if (!grant.functions.has(name)) {
      throw new GatewayRefusal(403, {
        code: 'peer_denied',
        message: `API key ${grant.id} may not call function ${name}`,
      });
    }
    return grant;
  };

  const limitRate = (
    limiter: RateLimiter,
    client: string,
    limit: Readonly<RateLimit>,
    what: string,
  ): void => {
    const taken = limiter.take(client, limit);
    if (!taken.ok) {
      throw new GatewayRefusal(
        429,
        {
          code: 'overloaded',
          message: `${what} rate limit exceeded (${limit.perSecond}/s, burst ${limit.burst})`,
        },
        { 'retry-after': String(taken.retryAfterSeconds) },
      );
    }
  };

  const reportInvocation = (
    name: string,
    traceId: string,
    outcome: 'ok' | ErrorCode,
    started: number,
    fuelUsed: bigint,
  ): void => {
    const report = options.events?.invocation;
    if (report === undefined) return;
    try {
      report({ name, traceId, outcome, durationMs: performance.now() - started, fuelUsed });
    } catch (error) {
      options.events?.internalError?.(error, { name, traceId });
    }
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const traceId = traceIdFromTraceparent(headerValue(req.headers.traceparent)) ?? newTraceId();
    const origin = headerValue(req.headers.origin);
    const allowed = corsHeaders(cors, origin);
    const baseHeaders = { [TRACE_ID_HEADER]: traceId, ...allowed };
    let bodyRead = false;
    let name = '';
    try {
      if (Buffer.byteLength(url) > limits.maxUrlBytes) {
        throw new GatewayRefusal(414, {
          code: 'bad_request',
          message: `URL is longer than ${limits.maxUrlBytes} bytes (maxUrlBytes)`,
        });
      }
      if (req.rawHeaders.length / 2 > limits.maxHeaderCount) {
        throw new GatewayRefusal(431, {
          code: 'bad_request',
          message: `request has more than ${limits.maxHeaderCount} header fields (maxHeaderCount)`,
        });
      }
      const route = parseRoute(url);
      if (route === null) {
        throw new GatewayRefusal(404, {
          code: 'not_found',
          message: 'no function here: call /fn/<name>[/<path>]',
        });
      }
      name = route.name;
      if (cors !== undefined && isPreflight(req)) {
        preflightResponse(res, cors, origin, baseHeaders);
        return;
      }
      limitRate(ipBuckets, `ip:${req.socket.remoteAddress ?? 'unknown'}`, ipLimit, 'per-IP');
      const grant = authorize(req, route.name);
      if (grant !== null) limitRate(keyBuckets, grant.id, grant.rateLimit ?? keyLimit, `API key ${grant.id}`);

      const body = await readBody(req, limits.maxBodyBytes, limits.bodyTimeoutMs);
      bodyRead = true;
      if (inFlight >= limits.maxInFlight) {
        throw new GatewayRefusal(
          503,
          {
            code: 'overloaded',
            message: `gateway is running ${limits.maxInFlight} invocations (maxInFlight)`,
          },
          { 'retry-after': '1' },
        );
      }
      inFlight += 1;
      let outcome: GatewayOutcome;
      try {
        const fn = await options.resolver.resolve(route.name);
        const started = performance.now();
        try {
          outcome = await fn.invoke({
            method: req.method ?? 'GET',
            uri: route.uri,
            headers: guestRequestHeaders(req.headers),
            body,
            trace_id: traceId,
          });
        } catch (error) {
          reportInvocation(name, traceId, toErrorInfo(error).code, started, 0n);
          throw error;
        }
        reportInvocation(name, traceId, verdictOf(outcome), started, outcome.fuelUsed ?? 0n);
      } finally {
        inFlight -= 1;
      }
      if (!outcome.ok || outcome.response === undefined) {
        const error = outcome.error ?? NO_ERROR_GIVEN;
        sendError(res, statusForCode(error.code), error, baseHeaders);
        return;
      }
      const response = outcome.response;
      if (!isFinalStatus(response.status)) {
        // 1xx would leave the exchange open; the contract's responses are final ones.
        sendError(
          res,
          502,
          { code: 'bad_response', message: `guest answered status ${response.status}, not 200..599` },
          baseHeaders,
        );
        return;
      }
      const headers = { ...forwardedResponseHeaders(response.headers), ...baseHeaders };
      const bytes = Buffer.from(response.body, 'utf8');
      res.writeHead(response.status, { ...headers, 'content-length': bytes.byteLength });
      res.end(bytes);
    } catch (error) {
      if (error instanceof GatewayRefusal) {
        // An unread body would be parsed as the next request: close instead of draining it.
        sendError(res, error.status, error.error, { ...error.headers, ...baseHeaders }, !bodyRead);
        return;
      }
      if (!(error instanceof GojinnError)) options.events?.internalError?.(error, { name, traceId });
      const info = toErrorInfo(error);
      sendError(res, statusForCode(info.code), info, baseHeaders, !bodyRead);
    }
  };

  const handler: GatewayHandler = (req, res) => {
    serve(req, res).catch((error: unknown) => {
      options.events?.internalError?.(error, { name: '', traceId: '' });
      res.destroy();
    });
  };

  return {
    handler,
    limits,
    apiKeys,
    get inFlight() {
      return inFlight;
    },
  };
}

/** An outcome that failed without saying why (a resolver bug): answered as internal. */
const NO_ERROR_GIVEN = Object.freeze({
  code: 'internal' as const,
  message: 'invocation failed without an error',
});

function isFinalStatus(status: number): boolean {
  return Number.isInteger(status) && status >= 200 && status <= 599;
}

/** What the caller is answered, as a code: the outcome's error, or bad_response for a 1xx. */
function verdictOf(outcome: GatewayOutcome): 'ok' | ErrorCode {
  if (!outcome.ok || outcome.response === undefined) return (outcome.error ?? NO_ERROR_GIVEN).code;
  return isFinalStatus(outcome.response.status) ? 'ok' : 'bad_response';
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
