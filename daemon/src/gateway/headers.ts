/**
 * Headers across the gateway, both ways. Requests: lower-cased names, hop-by-hop fields and
 * the caller's credentials dropped (a guest is untrusted code: it never sees the API key).
 * Responses: fields with an effect beyond the one function are dropped (docs/gateway.md,
 * "Response headers").
 */
import type { IncomingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the non-standard ones proxies still send. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Request fields never handed to a guest: the gateway consumed them (credentials) or re-derives them. */
const WITHHELD_FROM_GUEST: ReadonlySet<string> = new Set(['authorization', 'content-length']);

/**
 * Response fields a guest may not set. Every function shares the gateway's origin, so a cookie,
 * an HSTS policy, an Alt-Svc or CORS grant from one function would apply to all of them; framing
 * fields (length, encoding, connection) are the gateway's job.
 */
export const DROPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'content-length',
  'set-cookie',
  'set-cookie2',
  'strict-transport-security',
  'alt-svc',
  'clear-site-data',
  'public-key-pins',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-allow-methods',
  'access-control-expose-headers',
  'access-control-max-age',
]);

/** The request's headers as the guest sees them: one string per lower-cased name. */
export function guestRequestHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const named = new Set<string>();
  for (const token of (headerText(headers.connection) ?? '').split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '') named.add(name);
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    // node:http already lower-cases names and joins repeats (cookie with "; ", others with ", ").
    if (HOP_BY_HOP.has(name) || WITHHELD_FROM_GUEST.has(name) || named.has(name)) continue;
    const text = headerText(value);
    if (text !== undefined) out[name] = text;
  }
  return out;
}

/** The guest's response headers the gateway passes on (names lower-cased). */
export function forwardedResponseHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (DROPPED_RESPONSE_HEADERS.has(lower) || lower.startsWith('x-gojinn-')) continue;
    out[lower] = value;
  }
  return out;
}

function headerText(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value;
}
