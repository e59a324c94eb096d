import { GojinnError } from '@gojinn/errors';

/**
 * Every limit of the net.http capability, with its default (docs/capabilities-http.md says why
 * each default is what it is). A node may lower or raise each one; each has a test at the limit.
 */
export interface HttpLimits {
  /** Longest URL a guest may ask for, in characters (the URL as the guest wrote it). */
  maxUrlLength: number;
  /** Request headers a guest may send in one request. */
  maxRequestHeaders: number;
  /** Sum of the UTF-8 lengths of every request header name and value, in bytes. */
  maxRequestHeaderBytes: number;
  /** Largest request body, in bytes (decoded). */
  maxRequestBodyBytes: number;
  /** Largest response header block Node's parser accepts (its `maxHeaderSize`), in bytes. */
  maxResponseHeaderBytes: number;
  /** Largest response body, in bytes: the read stops and the call fails one byte past it. */
  maxResponseBodyBytes: number;
  /** Redirects followed in one call; one more fails the call. 0 follows none. */
  maxRedirects: number;
  /**
   * Wall-clock budget of one call (all hops, body included), in ms. A call never outlives its
   * invocation either: the invocation's deadline aborts it first when it comes sooner.
   */
  timeoutMs: number;
}

/**
 * Defaults. The body limits are sized so one encoded request or response (base64 body, JSON
 * envelope) fits in the host-call bridge's default 1 MiB payload/result: 512 KiB of body is
 * 683 KiB of base64, leaving room for headers.
 */
export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxUrlLength: 8192,
  maxRequestHeaders: 64,
  maxRequestHeaderBytes: 16 * 1024,
  maxRequestBodyBytes: 512 * 1024,
  maxResponseHeaderBytes: 16 * 1024,
  maxResponseBodyBytes: 512 * 1024,
  maxRedirects: 5,
  timeoutMs: 10_000,
});

/** Upper bounds a node's configuration may not exceed (sanity, not policy). */
const LIMIT_CEILINGS: Readonly<HttpLimits> = Object.freeze({
  maxUrlLength: 64 * 1024,
  maxRequestHeaders: 1024,
  maxRequestHeaderBytes: 1024 * 1024,
  maxRequestBodyBytes: 64 * 1024 * 1024,
  maxResponseHeaderBytes: 1024 * 1024,
  maxResponseBodyBytes: 64 * 1024 * 1024,
  maxRedirects: 20,
  timeoutMs: 10 * 60_000,
});

const LIMIT_MINIMUMS: Readonly<HttpLimits> = Object.freeze({
  maxUrlLength: 16,
  maxRequestHeaders: 0,
  maxRequestHeaderBytes: 0,
  maxRequestBodyBytes: 0,
  maxResponseHeaderBytes: 1024,
  maxResponseBodyBytes: 0,
  maxRedirects: 0,
  timeoutMs: 1,
});

/** The defaults overridden by `overrides`, each checked to be an integer in its range (`bad_request`). */
export function resolveHttpLimits(overrides: Partial<HttpLimits> = {}): HttpLimits {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS };
  for (const name of Object.keys(DEFAULT_HTTP_LIMITS) as (keyof HttpLimits)[]) {
    const value = overrides[name];
    if (value === undefined) continue;
    const min = LIMIT_MINIMUMS[name];
    const max = LIMIT_CEILINGS[name];
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new GojinnError('bad_request', `http limit ${name} must be an integer from ${min} to ${max}`);
    }
    limits[name] = value;
  }
  for (const name of Object.keys(overrides)) {
    if (!Object.hasOwn(DEFAULT_HTTP_LIMITS, name)) {
      throw new GojinnError('bad_request', `unknown http limit ${JSON.stringify(name.slice(0, 64))}`);
    }
  }
  return limits;
}
