import type { IncomingMessage, ServerResponse } from 'node:http';
import { GojinnError, type ErrorCode } from '@gojinn/errors';
import type { JsonObject, JsonValue } from '@gojinn/manifest';

/** What a route answers: a status and a JSON body, plus what the audit entry records. */
export interface RouteResult {
  status: number;
  body: JsonObject;
  audit?: JsonObject;
}

export interface AdminRequest {
  url: URL;
  body: Uint8Array;
  /** The last path segment of a parameterised route (`/v1/policies/<peerId>`), decoded; '' otherwise. */
  param: string;
}

/** One admin route: `METHOD path` or, with `param`, `METHOD path/<one segment>`. */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  param?: boolean;
  /** This route's body limit, when not the API's maxBodyBytes (publish). */
  maxBodyBytes?: number;
  run(request: AdminRequest): Promise<RouteResult>;
}

/** An error's HTTP status in the admin API (docs/admin-api.md, "Errors"). */
export const STATUS_OF_CODE: Partial<Record<ErrorCode, number>> = {
  bad_request: 400,
  signature_invalid: 400,
  invalid_module: 400,
  unauthorized: 401,
  untrusted_publisher: 403,
  capability_denied: 403,
  peer_denied: 403,
  not_found: 404,
  revoked: 409,
  rollback: 409,
  peer_unreachable: 502,
  overloaded: 503,
  timeout: 504,
  internal: 500,
};

export class BodyTooLarge extends GojinnError {}

/** Reads the body up to `max` bytes; a longer one (declared or sent) is refused unread. */
export async function readBody(
  request: IncomingMessage,
  max: number,
  limitName: string,
): Promise<Uint8Array> {
  const tooLarge = (): BodyTooLarge =>
    new BodyTooLarge('bad_request', `admin API: request body is larger than ${limitName} (${max})`);
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > max) throw tooLarge();
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The body as a JSON object: `bad_request` naming the route's expectation otherwise. */
export function jsonObjectBody(body: Uint8Array, expected: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch {
    throw new GojinnError('bad_request', `admin API: the body must be JSON: ${expected}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new GojinnError('bad_request', `admin API: the body must be a JSON object: ${expected}`);
  return value as Record<string, unknown>;
}

/** Refuses keys of `object` outside `allowed` (`bad_request` naming the first). */
export function onlyKeys(object: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key))
      throw new GojinnError(
        'bad_request',
        `admin API: ${what} has unknown field ${JSON.stringify(key).slice(0, 66)} (expected: ${allowed.join(', ')})`,
      );
  }
}

/** A string field (required unless `optional`), at most `max` characters. */
export function stringField(
  object: Record<string, unknown>,
  key: string,
  what: string,
  options: { optional?: boolean; max?: number } = {},
): string | undefined {
  const value = object[key];
  if (value === undefined && options.optional === true) return undefined;
  const max = options.max ?? 1024;
  if (typeof value !== 'string' || value.length > max)
    throw new GojinnError(
      'bad_request',
      `admin API: ${what}.${key} must be a string of at most ${max} characters`,
    );
  return value;
}

export function parseWhole(text: string, name: string): number {
  if (!/^\d{1,15}$/.test(text))
    throw new GojinnError('bad_request', `admin API: ${name} must be a whole number`);
  return Number(text);
}

/** A listing route's answer: `{ ok: true, <field>: items, next? }`, `next` the cursor that resumes after the last item. */
export function pageResult(
  field: string,
  items: JsonValue[],
  next: string | number | undefined,
): RouteResult {
  return { status: 200, body: { ok: true, [field]: items, ...(next === undefined ? {} : { next }) } };
}

export function pageLimit(url: URL, maxPageSize: number): number {
  const text = url.searchParams.get('limit');
  if (text === null) return maxPageSize;
  return Math.max(1, Math.min(parseWhole(text, 'limit'), maxPageSize));
}

/** `?name=true|false` (absent: false); anything else is `bad_request`. */
export function booleanQuery(url: URL, name: string): boolean {
  const text = url.searchParams.get(name);
  if (text === null || text === 'false') return false;
  if (text === 'true') return true;
  throw new GojinnError('bad_request', `admin API: ${name} must be true or false`);
}

export function errorBody(code: ErrorCode, message: string): JsonObject {
  return { ok: false, error: { code, message } };
}

export function send(response: ServerResponse, status: number, body: JsonObject): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(text);
}
