/**
 * `/gojinn/fetch/1.0.0` (protocols/fetch.md): its limits and the one protocol definition that
 * both the server and the caller use, so the two sides can never disagree on a limit.
 */
import { defineProtocol } from '../request-response.ts';

export const FETCH_PROTOCOL_NAME = 'fetch';

/** Largest chunk one request may ask for, and the largest success body: 1 MiB. */
export const MAX_FETCH_CHUNK_BYTES = 1_048_576;

/** A request is a small JSON object (hash, offset, length): 256 bytes is ample. */
export const FETCH_MAX_REQUEST_BYTES = 256;

/** Deadline of one chunk (stream open to the last byte of the response). */
export const FETCH_TIMEOUT_MS = 10_000;

/** Concurrent fetch streams per connection; libp2p resets the next one before any handler runs. */
export const FETCH_MAX_INBOUND_STREAMS = 8;

export const fetchProtocol = defineProtocol({
  name: FETCH_PROTOCOL_NAME,
  maxRequestBytes: FETCH_MAX_REQUEST_BYTES,
  maxResponseBytes: MAX_FETCH_CHUNK_BYTES,
  timeoutMs: FETCH_TIMEOUT_MS,
  maxInboundStreams: FETCH_MAX_INBOUND_STREAMS,
  maxOutboundStreams: FETCH_MAX_INBOUND_STREAMS,
});

export const FETCH_PROTOCOL_ID = fetchProtocol.id;
