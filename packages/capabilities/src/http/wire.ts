import { GojinnError } from '@gojinn/errors';
import { parseStrictJson, type JsonObject, type JsonValue } from '@gojinn/manifest';
import { HttpFailure } from './http-failure.ts';
import type { HttpLimits } from './limits.ts';
import { HTTP_METHODS, type HttpFetchRequest, type HttpFetchResponse, type HttpMethod } from './types.ts';

/**
 * The bytes of `gojinn.http_request` (docs/capabilities-http.md, "Wire format"): the guest sends
 * one UTF-8 JSON object, the host answers with one. Bodies travel as standard base64 (with
 * padding) so they may be any bytes.
 *
 * Request:  {"url": string, "method"?: string, "headers"?: {name: value}, "body"?: base64,
 *            "redirect"?: "follow"|"manual", "timeout_ms"?: integer}
 * Response: {"status": integer, "headers": {name: value}, "body": base64, "url": string,
 *            "redirects": integer}
 */
const REQUEST_FIELDS: ReadonlySet<string> = new Set([
  'url',
  'method',
  'headers',
  'body',
  'redirect',
  'timeout_ms',
]);
const METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Nesting of a request: the object and its headers object. */
const REQUEST_JSON_DEPTH = 2;

function invalid(message: string): HttpFailure {
  return new HttpFailure('bad_request', `http_request ${message}`);
}

/** Decodes a guest's request bytes once, strictly (unknown fields, wrong types and bad base64 refused). */
export function decodeHttpRequest(
  bytes: Uint8Array,
  limits: Pick<HttpLimits, 'maxRequestBodyBytes'>,
): HttpFetchRequest {
  let value: JsonValue;
  try {
    value = parseStrictJson(bytes, 'http_request request', 'bad_request', REQUEST_JSON_DEPTH);
  } catch (error) {
    if (error instanceof GojinnError) throw new HttpFailure('bad_request', error.message);
    throw error;
  }
  if (!isObject(value)) throw invalid('request must be a JSON object');
  for (const key of Object.keys(value)) {
    if (!REQUEST_FIELDS.has(key))
      throw invalid(`request has an unknown field ${JSON.stringify(key.slice(0, 64))}`);
  }
  const { url, method = 'GET', headers = {}, body = '', redirect = 'follow', timeout_ms: timeoutMs } = value;
  if (typeof url !== 'string') throw invalid("request field 'url' must be a string");
  if (typeof method !== 'string' || !METHODS.has(method)) {
    throw invalid(`request field 'method' must be one of ${HTTP_METHODS.join(', ')}`);
  }
  if (!isObject(headers)) throw invalid("request field 'headers' must be an object of strings");
  const headerPairs: [string, string][] = [];
  for (const [name, headerValue] of Object.entries(headers)) {
    if (typeof headerValue !== 'string')
      throw invalid("request field 'headers' must be an object of strings");
    headerPairs.push([name, headerValue]);
  }
  if (typeof body !== 'string') throw invalid("request field 'body' must be a base64 string");
  // Bound before decoding: base64 is 4 characters per 3 bytes.
  if (body.length > Math.ceil(limits.maxRequestBodyBytes / 3) * 4) {
    throw new HttpFailure(
      'request_too_large',
      `http_request body exceeds maxRequestBodyBytes (${limits.maxRequestBodyBytes} bytes)`,
    );
  }
  if (!BASE64.test(body)) throw invalid("request field 'body' is not padded standard base64");
  if (redirect !== 'follow' && redirect !== 'manual')
    throw invalid('request field \'redirect\' must be "follow" or "manual"');
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
  ) {
    throw invalid("request field 'timeout_ms' must be a positive integer");
  }
  return {
    method: method as HttpMethod,
    url,
    headers: headerPairs,
    body: new Uint8Array(Buffer.from(body, 'base64')),
    redirect,
    timeoutMs,
  };
}

/**
 * Encodes a response for the guest. Header lines repeated under one name are joined with ", "
 * (RFC 9110 §5.3), so `headers` is a plain object of strings like the guest's own request.
 */
export function encodeHttpResponse(response: HttpFetchResponse): Uint8Array {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of response.headers) {
    const previous = headers[name];
    headers[name] = previous === undefined ? value : `${previous}, ${value}`;
  }
  const json = JSON.stringify({
    status: response.status,
    headers,
    body: Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength).toString(
      'base64',
    ),
    url: response.url,
    redirects: response.redirects,
  });
  return new Uint8Array(Buffer.from(json, 'utf8'));
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
