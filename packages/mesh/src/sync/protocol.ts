/**
 * `/gojinn/sync/1.0.0` (protocols/sync.md): its limits, its request/response framing through
 * defineProtocol, and the strict codecs of its two JSON messages. Both messages come from the
 * network: they are bounded by the framing, parsed once with the strict JSON parser, and any
 * deviation is `bad_request` (at the server) or `bad_response` (at the caller).
 */
import { GojinnError } from '@gojinn/errors';
import { MAX_JSON_DEPTH, parseStrictJson } from '@gojinn/manifest';
import type { JsonObject, JsonValue } from '@gojinn/manifest';
import { defineProtocol } from '../request-response.ts';
import { MAX_GOSSIP_MESSAGE_BYTES, encodeGossipMessage } from '../gossip/message.ts';
import type { GossipRecord } from '../gossip/message.ts';
import { MAX_SYNC_PAGE_RECORDS } from '../gossip/ledger.ts';
import type { LedgerPage } from '../gossip/ledger.ts';
import { MAX_SYNC_CURSOR_CHARS } from '../gossip/ledger-cursor.ts';

export { MAX_SYNC_PAGE_RECORDS, MAX_SYNC_CURSOR_CHARS };

/** Pages a caller reads from one peer per round; a larger ledger continues in the next round. */
export const MAX_SYNC_PAGES = 256;

/** How often a node syncs with every connected peer that serves the protocol (5 minutes). */
export const SYNC_INTERVAL_MS = 5 * 60 * 1000;

export const SYNC_MAX_REQUEST_BYTES = 1024;

/** A full page of records at the gossip maximum, plus the response's own fields. */
export const SYNC_MAX_RESPONSE_BYTES = MAX_SYNC_PAGE_RECORDS * MAX_GOSSIP_MESSAGE_BYTES + 1024;

export const SYNC_TIMEOUT_MS = 10_000;

/** Concurrent sync streams one connection may open to a server. */
export const SYNC_MAX_INBOUND_STREAMS = 2;

export const SYNC_PROTOCOL = defineProtocol({
  name: 'sync',
  version: '1.0.0',
  maxRequestBytes: SYNC_MAX_REQUEST_BYTES,
  maxResponseBytes: SYNC_MAX_RESPONSE_BYTES,
  timeoutMs: SYNC_TIMEOUT_MS,
  maxInboundStreams: SYNC_MAX_INBOUND_STREAMS,
  maxOutboundStreams: SYNC_MAX_INBOUND_STREAMS,
});

/** `/gojinn/sync/1.0.0`. */
export const SYNC_PROTOCOL_ID = SYNC_PROTOCOL.id;

export interface SyncRequest {
  /** Undefined for the first page (`null` on the wire). */
  cursor: string | undefined;
  limit: number;
}

export interface SyncResponse {
  /** Each an object to be judged as a gossip message; not yet validated. */
  records: JsonObject[];
  next: string;
  more: boolean;
}

const utf8 = new TextEncoder();

export function encodeSyncRequest(request: SyncRequest): Uint8Array {
  return utf8.encode(JSON.stringify({ cursor: request.cursor ?? null, limit: request.limit }));
}

export function parseSyncRequest(bytes: Uint8Array): SyncRequest {
  const value = parseStrictJson(bytes, 'sync request', 'bad_request');
  const object = exactObject(value, ['cursor', 'limit'], 'sync request', 'bad_request');
  const { cursor, limit } = object;
  if (cursor !== null && !isCursor(cursor)) {
    throw new GojinnError(
      'bad_request',
      `sync request field 'cursor' must be null or a string of 1..${MAX_SYNC_CURSOR_CHARS} characters`,
    );
  }
  if (
    typeof limit !== 'number' ||
    !Number.isSafeInteger(limit) ||
    limit < 1 ||
    limit > MAX_SYNC_PAGE_RECORDS
  ) {
    throw new GojinnError(
      'bad_request',
      `sync request field 'limit' must be an integer 1..${MAX_SYNC_PAGE_RECORDS} (MAX_SYNC_PAGE_RECORDS)`,
    );
  }
  return { cursor: cursor ?? undefined, limit };
}

/** The records are the gossip messages' own canonical bytes, unchanged. */
export function encodeSyncResponse(page: LedgerPage): Uint8Array {
  const records = page.records.map((record: GossipRecord) => encodeGossipMessage(record));
  const head = utf8.encode('{"records":[');
  const tail = utf8.encode(`],"next":${JSON.stringify(page.next)},"more":${String(page.more)}}`);
  const commas = Math.max(0, records.length - 1);
  const out = new Uint8Array(
    head.byteLength + tail.byteLength + commas + records.reduce((sum, r) => sum + r.byteLength, 0),
  );
  let at = 0;
  out.set(head, at);
  at += head.byteLength;
  records.forEach((record, i) => {
    if (i > 0) out[at++] = 0x2c; // ','
    out.set(record, at);
    at += record.byteLength;
  });
  out.set(tail, at);
  return out;
}

/** `limit` is what the caller asked for: a page holding more is a misbehaving server. */
export function parseSyncResponse(bytes: Uint8Array, limit: number): SyncResponse {
  // Three levels above a manifest's own: the response, its records array, the envelope.
  const value = parseStrictJson(bytes, 'sync response', 'bad_response', MAX_JSON_DEPTH + 3);
  const object = exactObject(value, ['records', 'next', 'more'], 'sync response', 'bad_response');
  const { records, next, more } = object;
  if (!Array.isArray(records) || records.length > limit) {
    throw new GojinnError(
      'bad_response',
      `sync response field 'records' must be an array of at most ${limit} records (the requested limit)`,
    );
  }
  const envelopes = records.map((record, i) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new GojinnError('bad_response', `sync response record ${i} is not a JSON object`);
    }
    return record;
  });
  if (!isCursor(next)) {
    throw new GojinnError(
      'bad_response',
      `sync response field 'next' must be a string of 1..${MAX_SYNC_CURSOR_CHARS} characters`,
    );
  }
  if (typeof more !== 'boolean') {
    throw new GojinnError('bad_response', "sync response field 'more' must be a boolean");
  }
  return { records: envelopes, next, more };
}

function isCursor(value: JsonValue | undefined): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= MAX_SYNC_CURSOR_CHARS;
}

function exactObject(
  value: JsonValue,
  fields: readonly string[],
  what: string,
  code: 'bad_request' | 'bad_response',
): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GojinnError(code, `${what} must be a JSON object`);
  }
  const keys = Object.keys(value);
  const unknown = keys.find((key) => !fields.includes(key));
  if (unknown !== undefined || keys.length !== fields.length) {
    throw new GojinnError(
      code,
      `${what} must have exactly the fields ${fields.map((f) => `'${f}'`).join(', ')}` +
        (unknown === undefined ? '' : ` (found ${JSON.stringify(unknown.slice(0, 64))})`),
    );
  }
  return value;
}
