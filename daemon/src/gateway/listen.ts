/**
 * A node:http server for a gateway, with the limits node:http enforces itself set from the
 * gateway's (header bytes and time), malformed requests answered with the JSON error body,
 * and a close that stops accepting, then waits for in-flight exchanges up to a bound.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Gateway } from './gateway.ts';

export interface ListenOptions {
  /** Default 127.0.0.1: exposing the gateway beyond this machine is the operator's explicit choice. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Ms `close` waits for in-flight exchanges before cutting them. Default DEFAULT_DRAIN_MS. */
  drainMs?: number;
}

export const DEFAULT_DRAIN_MS = 10_000;

/** How often node:http checks header/request timeouts (its default, 30 s, would make them coarse). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export interface ListeningGateway {
  readonly server: Server;
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  close(): Promise<void>;
}

/** The raw response for a request node:http could not parse (no handler ever sees it). */
function clientErrorResponse(code: string | undefined): string {
  const [status, reason, message] =
    code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'request headers are larger than maxHeaderBytes']
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request headers not received within headersTimeoutMs']
        : [400, 'Bad Request', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code: status === 408 ? 'timeout' : 'bad_request', message } });
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

export async function listen(gateway: Gateway, options: ListenOptions = {}): Promise<ListeningGateway> {
  const { limits } = gateway;
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs + TIMEOUT_CHECK_INTERVAL_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      // Header names and values are checked strictly by llhttp (no lenient parsing).
      insecureHTTPParser: false,
    },
    gateway.handler,
  );
  server.maxHeadersCount = limits.maxHeaderCount + 1; // one over, so the gateway sees and refuses it
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && !socket.destroyed) socket.end(clientErrorResponse(error.code));
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), drainMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
