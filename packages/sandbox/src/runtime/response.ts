import { GojinnError } from '@gojinn/errors';
import type { GuestResponse } from './types.ts';

/** Lowest and highest HTTP status a guest may answer with. */
export const MIN_STATUS = 100;
export const MAX_STATUS = 599;

/** Longest piece of guest output quoted back in an error message. */
const QUOTE_LIMIT = 64;

/** RFC 9110 token: what an HTTP field name may contain. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What an HTTP field value may contain (Node's own check): no CR, LF, NUL or other controls but tab. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const FIELDS: ReadonlySet<string> = new Set(['status', 'headers', 'body']);

/**
 * Parses what a guest wrote on stdout into its response: UTF-8 JSON
 * `{"status": int 100..599, "headers"?: {name: string}, "body"?: string}` and nothing else.
 * Headers end up in an HTTP response, so names and values are checked here, once, with the
 * rest of the untrusted output. Anything else ⇒ GojinnError bad_response saying what was wrong.
 */
export function parseGuestResponse(stdout: Uint8Array): GuestResponse {
  if (stdout.byteLength === 0) throw bad('is empty: the guest wrote nothing to stdout');
  let text: string;
  try {
    text = STRICT_UTF8.decode(stdout);
  } catch {
    throw bad('is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw bad(`is not JSON: ${cut((error as Error).message, 160)}`);
  }
  return guestResponseFrom(value);
}

/**
 * The checks of `parseGuestResponse` on a value already parsed from JSON (e.g. the `response`
 * of a federated answer, parsed strictly with the rest of it): the same fields, statuses and
 * header rules, the same `bad_response` messages.
 */
export function guestResponseFrom(value: unknown): GuestResponse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(`must be a JSON object, got ${kindOf(value)}`);
  }
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!FIELDS.has(key)) throw bad(`has unknown field ${quote(key)}; allowed are status, headers, body`);
  }
  const { status, headers, body } = fields;
  if (status === undefined)
    throw bad(`has no status; expected an integer from ${MIN_STATUS} to ${MAX_STATUS}`);
  if (typeof status !== 'number' || !Number.isInteger(status) || status < MIN_STATUS || status > MAX_STATUS) {
    throw bad(`status must be an integer from ${MIN_STATUS} to ${MAX_STATUS}, got ${describe(status)}`);
  }
  if (body !== undefined && typeof body !== 'string') throw bad(`body must be a string, got ${kindOf(body)}`);
  return { status, headers: parseHeaders(headers), body: body ?? '' };
}

function parseHeaders(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(`headers must be an object of strings, got ${kindOf(value)}`);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [name, headerValue] of entries) {
    if (!HEADER_NAME.test(name)) throw bad(`header name ${quote(name)} is not a valid HTTP field name`);
    if (typeof headerValue !== 'string')
      throw bad(`headers[${quote(name)}] must be a string, got ${kindOf(headerValue)}`);
    if (!HEADER_VALUE.test(headerValue)) {
      throw bad(`headers[${quote(name)}] contains characters not allowed in an HTTP field value`);
    }
  }
  // fromEntries defines own properties: a "__proto__" key cannot reach a prototype.
  return Object.fromEntries(entries) as Record<string, string>;
}

function bad(detail: string): GojinnError {
  return new GojinnError('bad_response', `response ${detail}`);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : kindOf(value);
}

/** Guest text in a message is cut short: the message must stay readable whatever the guest wrote. */
function cut(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

function quote(text: string): string {
  return JSON.stringify(cut(text, QUOTE_LIMIT));
}
