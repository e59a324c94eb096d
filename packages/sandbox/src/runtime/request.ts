import { GojinnError } from '@gojinn/errors';
import { randomHex } from './random-hex.ts';
import type { GuestRequest } from './types.ts';

/** The request a guest sees when the caller gives none: an empty GET of "/". */
export const DEFAULT_REQUEST: Readonly<Omit<GuestRequest, 'trace_id'>> = Object.freeze({
  method: 'GET',
  uri: '/',
  headers: Object.freeze({}),
  body: '',
});

const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/;
const FIELDS: ReadonlySet<string> = new Set(['method', 'uri', 'headers', 'body', 'trace_id']);

/** A fresh trace id: 16 random bytes as 32 lowercase hex characters (the W3C trace-id form). */
export function newTraceId(): string {
  return randomHex(16);
}

/**
 * A complete request from the fields given, the rest from DEFAULT_REQUEST and a fresh trace id.
 * Fields are checked at run time too (callers pass parsed JSON): a wrong type, an unknown field
 * or a malformed trace id ⇒ GojinnError bad_request naming the field.
 */
export function buildRequest(fields: Partial<GuestRequest> = {}): GuestRequest {
  for (const key of Object.keys(fields)) {
    if (!FIELDS.has(key))
      throw new GojinnError('bad_request', `request has unknown field ${JSON.stringify(key)}`);
  }
  const request: GuestRequest = {
    method: stringField(fields, 'method') ?? DEFAULT_REQUEST.method,
    uri: stringField(fields, 'uri') ?? DEFAULT_REQUEST.uri,
    headers: headersField(fields.headers),
    body: stringField(fields, 'body') ?? DEFAULT_REQUEST.body,
    trace_id: stringField(fields, 'trace_id') ?? newTraceId(),
  };
  if (!TRACE_ID_PATTERN.test(request.trace_id)) {
    throw new GojinnError('bad_request', 'request.trace_id must be 32 lowercase hex characters');
  }
  return request;
}

/**
 * The stdin bytes of a request: UTF-8 JSON with the fields in a fixed order, so the same request
 * is the same bytes everywhere (determinism covers the guest's input too).
 */
export function encodeRequest(request: GuestRequest): Uint8Array {
  const { method, uri, headers, body, trace_id } = request;
  return Buffer.from(JSON.stringify({ method, uri, headers, body, trace_id }), 'utf8');
}

function stringField(
  fields: Partial<GuestRequest>,
  key: 'method' | 'uri' | 'body' | 'trace_id',
): string | undefined {
  const value: unknown = fields[key];
  if (value === undefined || typeof value === 'string') return value;
  throw new GojinnError('bad_request', `request.${key} must be a string, got ${typeof value}`);
}

function headersField(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GojinnError('bad_request', 'request.headers must be an object of strings');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [name, headerValue] of entries) {
    if (typeof headerValue !== 'string') {
      throw new GojinnError('bad_request', `request.headers[${JSON.stringify(name)}] must be a string`);
    }
  }
  // fromEntries defines own properties, so a "__proto__" header stays a header.
  return Object.fromEntries(entries) as Record<string, string>;
}
