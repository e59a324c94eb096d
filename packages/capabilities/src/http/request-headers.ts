import type { HttpLimits } from './limits.ts';
import { HttpFailure } from './http-failure.ts';

/** RFC 9110 token: the only header names sent. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Header values: visible Latin-1 and tab; never CR, LF, NUL or other controls (no header smuggling). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Request headers a guest may not set. Each one either lets a guest steer the connection or the
 * message framing around the host's checks (`host` would send a request for one origin to the
 * address of another; `connection`, `transfer-encoding`, `content-length`, `te`, `trailer`,
 * `upgrade`, `expect`, `keep-alive`, `http2-settings` would let it desynchronise or take over the
 * connection), or speak for the node to a proxy or upstream (`proxy-*`, `forwarded`, `via`,
 * `x-forwarded-*`, `x-real-ip`). The host sets `host` and `content-length` itself.
 */
export const DENIED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'content-length',
  'expect',
  'forwarded',
  'host',
  'http2-settings',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'via',
  'x-real-ip',
]);

/** Name prefixes denied like DENIED_REQUEST_HEADERS (`proxy-authorization`, `x-forwarded-for`, …). */
export const DENIED_REQUEST_HEADER_PREFIXES: readonly string[] = ['proxy-', 'x-forwarded-'];

/**
 * Headers a guest set that carry credentials: dropped when a redirect leaves the origin the guest
 * sent them to, as browsers and fetch() do, so a redirect cannot hand them to another host.
 */
export const CREDENTIAL_HEADERS: readonly string[] = ['authorization', 'cookie'];

export function isDeniedRequestHeader(lowercaseName: string): boolean {
  return (
    DENIED_REQUEST_HEADERS.has(lowercaseName) ||
    DENIED_REQUEST_HEADER_PREFIXES.some((prefix) => lowercaseName.startsWith(prefix))
  );
}

/**
 * Checks a guest's request headers once and returns them with lowercase names, in the guest's
 * order. Refuses (`bad_request`) a malformed name or value, a name given twice in any case, a
 * denied header, and more than maxRequestHeaders headers or maxRequestHeaderBytes bytes.
 */
export function checkRequestHeaders(
  headers: readonly (readonly [string, string])[],
  limits: Pick<HttpLimits, 'maxRequestHeaders' | 'maxRequestHeaderBytes'>,
): [string, string][] {
  if (headers.length > limits.maxRequestHeaders) {
    throw new HttpFailure(
      'request_too_large',
      `http request has ${headers.length} headers; the limit is maxRequestHeaders (${limits.maxRequestHeaders})`,
    );
  }
  let bytes = 0;
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const [name, value] of headers) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
    if (bytes > limits.maxRequestHeaderBytes) {
      throw new HttpFailure(
        'request_too_large',
        `http request headers exceed maxRequestHeaderBytes (${limits.maxRequestHeaderBytes} bytes)`,
      );
    }
    if (!TOKEN.test(name))
      throw new HttpFailure(
        'bad_request',
        `http request header name ${quoteName(name)} is not a valid token`,
      );
    const lower = name.toLowerCase();
    if (isDeniedRequestHeader(lower)) {
      throw new HttpFailure('bad_request', `http request header ${lower} may not be set by a guest`);
    }
    if (seen.has(lower))
      throw new HttpFailure('bad_request', `http request header ${lower} is given more than once`);
    seen.add(lower);
    if (!FIELD_VALUE.test(value)) {
      throw new HttpFailure(
        'bad_request',
        `http request header ${lower} has a control or non-Latin-1 character in its value`,
      );
    }
    out.push([lower, value]);
  }
  return out;
}

function quoteName(name: string): string {
  return JSON.stringify(name.slice(0, 64));
}
