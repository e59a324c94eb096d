/**
 * The trace id of a request: taken from a valid W3C `traceparent` header
 * (https://www.w3.org/TR/trace-context/#traceparent-header), otherwise a new random one.
 */
import { randomHex } from '@gojinn/sandbox';

// version 00..fe (ff is forbidden), 32-hex trace id, 16-hex parent id, 2-hex flags. Version 00
// has exactly four fields; later versions may append more after a dash.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO_TRACE = '0'.repeat(32);
const ALL_ZERO_PARENT = '0'.repeat(16);

/** The trace id in a traceparent value, or null when the value is not a valid one. */
export function traceIdFromTraceparent(value: string | undefined): string | null {
  if (value === undefined) return null;
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return null;
  const [, version, traceId, parentId, , extra] = match;
  if (version === 'ff' || traceId === ALL_ZERO_TRACE || parentId === ALL_ZERO_PARENT) return null;
  if (version === '00' && extra !== undefined) return null;
  return traceId ?? null;
}

export function newTraceId(): string {
  return randomHex(16);
}
