/**
 * CORS, off unless the operator lists origins. Only exact origins (scheme://host[:port]) are
 * accepted — no wildcard, and never credentials — so a browser page elsewhere cannot drive a
 * user's API key against this gateway unless the operator chose that origin.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CorsOptions {
  /** Exact origins allowed, e.g. "https://app.example". */
  origins: readonly string[];
  /** Seconds a browser may cache a preflight answer. Default 600. */
  maxAgeSeconds?: number;
}

export const DEFAULT_CORS_MAX_AGE_SECONDS = 600;

const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/;

export function checkCors(cors: CorsOptions): void {
  for (const origin of cors.origins) {
    if (!ORIGIN.test(origin))
      throw new RangeError(`CORS origin ${JSON.stringify(origin)} must be scheme://host[:port]`);
  }
}

/** Headers for an actual (non-preflight) response; empty when CORS is off or the origin is not listed. */
export function corsHeaders(
  cors: CorsOptions | undefined,
  origin: string | undefined,
): Record<string, string> {
  if (cors === undefined || origin === undefined || !cors.origins.includes(origin)) return {};
  return {
    'access-control-allow-origin': origin,
    vary: 'Origin',
    'access-control-expose-headers': 'x-gojinn-trace-id',
  };
}

export function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
}

/** Answers a preflight itself (204); CORS headers only when the origin is listed. */
export function preflightResponse(
  res: ServerResponse,
  cors: CorsOptions,
  origin: string | undefined,
  baseHeaders: Readonly<Record<string, string>>,
): void {
  const allowed = origin !== undefined && cors.origins.includes(origin);
  res.writeHead(204, {
    ...baseHeaders,
    ...(allowed
      ? {
          'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
          'access-control-allow-headers': 'authorization, content-type, traceparent',
          'access-control-max-age': String(cors.maxAgeSeconds ?? DEFAULT_CORS_MAX_AGE_SECONDS),
        }
      : {}),
  });
  res.end();
}
