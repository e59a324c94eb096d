import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { bindServer, type BoundServer } from '../http/bound-server.ts';
import { GojinnError } from '@gojinn/errors';
import { adminTokenMatches, bearerToken } from '../admin/token.ts';
import { isLoopbackHost } from '../config/value-kinds.ts';
import type { NodeMetrics } from './metrics.ts';

/** Default metrics address (the config's `metrics.listen` default): loopback only. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';
/** Default metrics port (the OpenTelemetry Prometheus exporter's usual 9464). */
export const DEFAULT_METRICS_PORT = 9464;

/** The metrics listener's limits (docs/observability.md, "The /metrics listener"). */
export interface MetricsServerLimits {
  /** Headers must arrive within this many ms. */
  headersTimeoutMs: number;
  /** The whole request must arrive within this many ms (no body is ever read). */
  requestTimeoutMs: number;
  /** Largest request header block, bytes (a scrape sends a few hundred). */
  maxHeaderBytes: number;
  /** Connections open at once; more are refused by the listener. */
  maxConnections: number;
}

export const DEFAULT_METRICS_SERVER_LIMITS: Readonly<MetricsServerLimits> = Object.freeze({
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  maxHeaderBytes: 8 * 1024,
  maxConnections: 32,
});

export interface MetricsServerOptions {
  metrics: NodeMetrics;
  /** Default DEFAULT_METRICS_HOST. */
  host?: string;
  /** Default DEFAULT_METRICS_PORT; 0 picks a free port. */
  port?: number;
  /** Permit a non-loopback `host` (anyone who can reach it reads the metrics). Default false. */
  allowNonLoopback?: boolean;
  /**
   * When set, every request must carry `Authorization: Bearer <token>` (compared in constant
   * time) or gets 401 and nothing else (config `metrics.requireToken`, metrics-token.ts).
   */
  token?: string;
  limits?: Partial<MetricsServerLimits>;
}

/** The bound metrics listener; `url` e.g. http://127.0.0.1:9464 — the metrics are at /metrics. */
export type MetricsServer = BoundServer;

/**
 * Serves `GET /metrics` (and HEAD) in the Prometheus text format on a listener of its own;
 * every other method or path is 404. No request body is read: a request that announces one
 * gets its answer and the connection is closed. Refuses (`bad_request`, before binding) a
 * non-loopback host unless `allowNonLoopback` is set, like the admin API. With a `token`, a
 * request without that bearer token is answered 401 before anything else is looked at.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? DEFAULT_METRICS_HOST;
  if (!isLoopbackHost(host) && options.allowNonLoopback !== true) {
    throw new GojinnError(
      'bad_request',
      `metrics: refusing to bind ${host}, which is not a loopback address: set metrics.allowNonLoopback = true to expose the metrics to the network`,
    );
  }
  const limits: Readonly<MetricsServerLimits> = Object.freeze({
    ...DEFAULT_METRICS_SERVER_LIMITS,
    ...options.limits,
  });
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      connectionsCheckingInterval: 1_000,
    },
    (request, response) => {
      handle(request, response, options.metrics, options.token).catch(() => {
        if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else response.destroy();
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  return bindServer(server, options.port ?? DEFAULT_METRICS_PORT, host);
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  metrics: NodeMetrics,
  token: string | undefined,
): Promise<void> {
  // A body is never read; the connection cannot carry another request after an unread one.
  const hasBody =
    request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
  if (hasBody) response.setHeader('connection', 'close');
  if (token !== undefined && !adminTokenMatches(token, bearerToken(request.headers.authorization) ?? '')) {
    response.setHeader('www-authenticate', 'Bearer realm="gojinn-metrics"');
    send(
      response,
      401,
      'text/plain; charset=utf-8',
      'unauthorized: send Authorization: Bearer <metrics token>\n',
    );
    return;
  }
  const path = (request.url ?? '').split('?', 1)[0];
  const method = request.method ?? '';
  if (path !== '/metrics' || (method !== 'GET' && method !== 'HEAD')) {
    send(response, 404, 'text/plain; charset=utf-8', 'not found: the metrics are at GET /metrics\n');
    return;
  }
  const text = await metrics.scrape();
  send(response, 200, metrics.contentType, method === 'HEAD' ? undefined : text, Buffer.byteLength(text));
}

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string | undefined,
  length = body === undefined ? 0 : Buffer.byteLength(body),
): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': length,
    'cache-control': 'no-store',
  });
  response.end(body);
}
