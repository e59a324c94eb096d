/**
 * The gateway's limits, each with a name and a documented default (docs/gateway.md, "Limits").
 * Every one is tested at the limit in daemon/test/gateway-*.test.ts.
 */

export interface GatewayLimits {
  /** Bytes of request body accepted; more ⇒ 413 (checked on Content-Length before reading, and while reading). */
  maxBodyBytes: number;
  /** Ms to receive the whole request body once the headers are in; slower ⇒ 408 (slowloris). */
  bodyTimeoutMs: number;
  /** Ms for the request headers to arrive (node:http `headersTimeout`, set by `listen`). */
  headersTimeoutMs: number;
  /** Request header fields accepted (counted as sent, repeats included); more ⇒ 431. */
  maxHeaderCount: number;
  /** Bytes of the request line plus headers (node:http `maxHeaderSize`, set by `listen`); more ⇒ 431. */
  maxHeaderBytes: number;
  /** Bytes of the URL (path and query); longer ⇒ 414. */
  maxUrlBytes: number;
  /** Invocations running at once through this gateway; one more ⇒ 503 overloaded. */
  maxInFlight: number;
  /** Characters of a bearer token; longer is refused as malformed (401) without hashing it. */
  maxApiKeyLength: number;
}

export const DEFAULT_GATEWAY_LIMITS: Readonly<GatewayLimits> = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  bodyTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  maxHeaderCount: 100,
  maxHeaderBytes: 16 * 1024,
  maxUrlBytes: 8 * 1024,
  maxInFlight: 256,
  maxApiKeyLength: 256,
});

/** A token bucket's shape: `burst` requests at once, refilled at `perSecond`. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/** Per-IP limit applied to every request, public or not. */
export const DEFAULT_IP_RATE_LIMIT: Readonly<RateLimit> = Object.freeze({ perSecond: 50, burst: 100 });
/** Per-key limit applied to requests carrying a valid API key (a key may set its own). */
export const DEFAULT_KEY_RATE_LIMIT: Readonly<RateLimit> = Object.freeze({ perSecond: 20, burst: 40 });

/**
 * Most clients (IPs or keys) whose buckets are remembered at once. When full, the bucket idle
 * longest is forgotten; a forgotten client starts again with a full bucket, which only ever
 * favours a client the gateway has not seen for the longest time.
 */
export const MAX_TRACKED_CLIENTS = 10_000;

/** Most API keys a gateway holds (every key is compared on each authenticated request). */
export const MAX_API_KEYS = 10_000;

export function resolveGatewayLimits(overrides: Partial<GatewayLimits> = {}): Readonly<GatewayLimits> {
  const limits = { ...DEFAULT_GATEWAY_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`gateway limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return Object.freeze(limits);
}

export function checkRateLimit(limit: RateLimit, what: string): Readonly<RateLimit> {
  if (!(Number.isFinite(limit.perSecond) && limit.perSecond > 0)) {
    throw new RangeError(`${what}.perSecond must be a positive number, got ${String(limit.perSecond)}`);
  }
  if (!Number.isSafeInteger(limit.burst) || limit.burst < 1) {
    throw new RangeError(`${what}.burst must be a positive integer, got ${String(limit.burst)}`);
  }
  return Object.freeze({ perSecond: limit.perSecond, burst: limit.burst });
}
