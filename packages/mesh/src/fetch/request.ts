/**
 * The fetch request `{ "sha256", "offset", "length" }`: encoded by the caller, parsed once and
 * strictly by the server (unknown fields, duplicate keys and out-of-range numbers refused with
 * `bad_request`, the message naming the field).
 */
import { GojinnError } from '@gojinn/errors';
import { parseStrictJson } from '@gojinn/manifest';
import { FETCH_MAX_REQUEST_BYTES, MAX_FETCH_CHUNK_BYTES } from './protocol.ts';

export interface FetchRequest {
  /** 64 lowercase hex digits. */
  sha256: string;
  /** Integer ≥ 0; the server also requires it to be below the module's size. */
  offset: number;
  /** Integer 1..MAX_FETCH_CHUNK_BYTES. */
  length: number;
}

export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

const FIELDS = ['sha256', 'offset', 'length'] as const;

export function encodeFetchRequest(request: FetchRequest): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ sha256: request.sha256, offset: request.offset, length: request.length }),
  );
}

/** Parses untrusted request bytes (already bounded by maxRequestBytes in the framing). */
export function parseFetchRequest(bytes: Uint8Array): FetchRequest {
  if (bytes.byteLength > FETCH_MAX_REQUEST_BYTES) {
    throw new GojinnError(
      'bad_request',
      `fetch request of ${bytes.byteLength} bytes exceeds maxRequestBytes (${FETCH_MAX_REQUEST_BYTES} bytes)`,
    );
  }
  const value = parseStrictJson(bytes, 'fetch request', 'bad_request');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GojinnError('bad_request', 'fetch request must be a JSON object');
  }
  for (const key of Object.keys(value)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw new GojinnError(
        'bad_request',
        `fetch request has unknown field ${JSON.stringify(key).slice(0, 80)}`,
      );
    }
  }
  const { sha256, offset, length } = value;
  if (typeof sha256 !== 'string' || !SHA256_HEX_PATTERN.test(sha256)) {
    throw new GojinnError('bad_request', 'fetch request sha256 must be 64 lowercase hex digits');
  }
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new GojinnError('bad_request', 'fetch request offset must be an integer ≥ 0');
  }
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 1) {
    throw new GojinnError('bad_request', 'fetch request length must be an integer ≥ 1');
  }
  if (length > MAX_FETCH_CHUNK_BYTES) {
    throw new GojinnError(
      'bad_request',
      `fetch request length ${length} exceeds MAX_FETCH_CHUNK_BYTES (${MAX_FETCH_CHUNK_BYTES})`,
    );
  }
  return { sha256, offset, length };
}
