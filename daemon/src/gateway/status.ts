/**
 * Error code → HTTP status, and the JSON error body every failure carries. One table so the
 * mapping is reviewed in one place and tested entry by entry (docs/gateway.md, "Statuses").
 */
import type { ServerResponse } from 'node:http';
import type { ErrorCode, ErrorInfo } from '@gojinn/errors';

export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = Object.freeze({
  bad_request: 400,
  capability_denied: 403,
  peer_denied: 403,
  unauthorized: 401,
  not_found: 404,
  // A revoked function existed and was withdrawn on purpose: 410 tells callers not to retry.
  revoked: 410,
  overloaded: 503,
  timeout: 504,
  // The guest failed: the gateway worked, the function behind it did not.
  trap: 502,
  guest_exit: 502,
  bad_response: 502,
  output_limit: 502,
  fuel_exhausted: 502,
  memory_limit: 502,
  stack_overflow: 502,
  // The module installed under the name cannot be run (or, federated, the peer cannot be reached).
  invalid_module: 502,
  signature_invalid: 502,
  untrusted_publisher: 502,
  rollback: 502,
  peer_unreachable: 502,
  internal: 500,
});

export function statusForCode(code: ErrorCode): number {
  return STATUS_BY_CODE[code];
}

/** An error the gateway produces itself, with a status that the code alone does not decide (401, 408, 413, 429…). */
export class GatewayRefusal {
  readonly status: number;
  readonly error: ErrorInfo;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, error: ErrorInfo, headers: Record<string, string> = {}) {
    this.status = status;
    this.error = error;
    this.headers = headers;
  }
}

/** Writes `{"error":{"code","message"}}` with the given status (and closes the connection when asked). */
export function sendError(
  res: ServerResponse,
  status: number,
  error: ErrorInfo,
  headers: Readonly<Record<string, string>> = {},
  closeConnection = false,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(closeConnection ? { connection: 'close' } : {}),
  });
  res.end(body);
}
