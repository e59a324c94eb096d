import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { bindServer, type BoundServer } from '../http/bound-server.ts';
import { GojinnError, toErrorInfo } from '@gojinn/errors';
import { isLoopbackHost } from '../config/value-kinds.ts';
import {
  BodyTooLarge,
  STATUS_OF_CODE,
  errorBody,
  readBody,
  send,
  type RouteResult,
  type RouteSpec,
} from './http-util.ts';
import { DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_LIMITS, DEFAULT_ADMIN_PORT, type AdminLimits } from './limits.ts';
import type { AdminServerOptions } from './options.ts';
import { auditRoutes } from './routes/audit-routes.ts';
import { keyRoutes } from './routes/key-routes.ts';
import { meshRoutes } from './routes/mesh-routes.ts';
import { moduleRoutes } from './routes/module-routes.ts';
import { nodeRoutes } from './routes/node-routes.ts';
import { policyRoutes } from './routes/policy-routes.ts';
import { ADMIN_TOKEN_PATTERN, adminTokenMatches, bearerToken } from './token.ts';

export type { AdminServerOptions } from './options.ts';

/** The bound admin API; `url` e.g. http://127.0.0.1:8081. */
export type AdminServer = BoundServer;

/** Exact routes by `METHOD /path`; parameterised ones by `METHOD /path/` (one more segment). */
interface RouteTable {
  exact: ReadonlyMap<string, RouteSpec>;
  withParam: ReadonlyMap<string, RouteSpec>;
}

/**
 * Starts the admin API (docs/admin-api.md): JSON routes for status, peers, modules (list,
 * publish, remove, pins), revocations, policies, secrets (names), API keys, receipts, invoke
 * and the audit log; every request authenticated with the node's bearer token before anything
 * else is read, every authenticated request recorded in the audit log. Refuses (`bad_request`,
 * before binding) a non-loopback host unless `allowNonLoopback` is set.
 */
export async function createAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const host = options.host ?? DEFAULT_ADMIN_HOST;
  if (!isLoopbackHost(host) && options.allowNonLoopback !== true) {
    throw new GojinnError(
      'bad_request',
      `admin API: refusing to bind ${host}, which is not a loopback address: set admin.allowNonLoopback = true to expose the admin API to the network`,
    );
  }
  if (!ADMIN_TOKEN_PATTERN.test(options.token)) {
    throw new GojinnError('bad_request', 'admin API: the admin token must be 64 lowercase hex digits');
  }
  const limits: Readonly<AdminLimits> = Object.freeze({ ...DEFAULT_ADMIN_LIMITS, ...options.limits });
  const routes = routeTable([
    ...nodeRoutes(options, limits),
    ...moduleRoutes(options, limits),
    ...auditRoutes(options, limits),
    ...policyRoutes(options),
    ...keyRoutes(options),
    ...meshRoutes(options),
  ]);
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: 1_000,
    },
    (request, response) => {
      handle(request, response, options, routes, limits).catch(() => {
        if (!response.headersSent) send(response, 500, errorBody('internal', 'internal error'));
        else response.destroy();
      });
    },
  );
  return bindServer(server, options.port ?? DEFAULT_ADMIN_PORT, host);
}

function routeTable(specs: readonly RouteSpec[]): RouteTable {
  const exact = new Map<string, RouteSpec>();
  const withParam = new Map<string, RouteSpec>();
  for (const spec of specs) {
    if (spec.param === true) withParam.set(`${spec.method} ${spec.path}/`, spec);
    else exact.set(`${spec.method} ${spec.path}`, spec);
  }
  return { exact, withParam };
}

/** The route for a request and its decoded path parameter, or undefined. */
function findRoute(
  table: RouteTable,
  method: string,
  path: string,
): { spec: RouteSpec; param: string } | undefined {
  const exact = table.exact.get(`${method} ${path}`);
  if (exact !== undefined) return { spec: exact, param: '' };
  const slash = path.lastIndexOf('/');
  const spec = table.withParam.get(`${method} ${path.slice(0, slash + 1)}`);
  const raw = path.slice(slash + 1);
  if (spec === undefined || raw.length === 0) return undefined;
  let param: string;
  try {
    param = decodeURIComponent(raw);
  } catch {
    throw new GojinnError('bad_request', 'admin API: the path parameter is not valid percent-encoding');
  }
  return { spec, param };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  options: AdminServerOptions,
  routes: RouteTable,
  limits: AdminLimits,
): Promise<void> {
  // Authentication comes first: an unauthenticated request reads no body, reaches no route
  // and writes nothing — not even an audit entry, so it cannot fill the log either.
  const presented = bearerToken(request.headers.authorization);
  if (presented === undefined || !adminTokenMatches(options.token, presented)) {
    response.setHeader('www-authenticate', 'Bearer realm="gojinn-admin"');
    response.setHeader('connection', 'close');
    send(response, 401, errorBody('unauthorized', 'admin API: missing or wrong bearer token'));
    // Reported (never the presented token) so failed logins show in logs and metrics; the
    // daemon rate-limits the log line.
    options.onUnauthorized?.({
      address: request.socket.remoteAddress ?? '',
      presented: presented !== undefined,
    });
    return;
  }
  const url = new URL(request.url ?? '/', 'http://admin.invalid');
  const method = request.method ?? '';
  const routeName = `${method} ${url.pathname}`;
  let result: RouteResult;
  try {
    const found = findRoute(routes, method, url.pathname);
    if (found === undefined)
      throw new GojinnError('not_found', `admin API: no route ${routeName.slice(0, 200)}`);
    const { spec, param } = found;
    const body =
      spec.maxBodyBytes === undefined
        ? await readBody(request, limits.maxBodyBytes, 'maxBodyBytes')
        : await readBody(request, spec.maxBodyBytes, 'maxPublishBytes');
    result = await spec.run({ url, body, param });
  } catch (error) {
    const info = toErrorInfo(error);
    const status = error instanceof BodyTooLarge ? 413 : (STATUS_OF_CODE[info.code] ?? 400);
    // An unread or half-read body cannot be followed by another request on this connection.
    if (error instanceof BodyTooLarge) response.setHeader('connection', 'close');
    result = { status, body: errorBody(info.code, info.message), audit: { error: info.code } };
  }
  await options.audit.append('admin', {
    route: routeName.slice(0, 200),
    status: result.status,
    ...result.audit,
  });
  send(response, result.status, result.body);
}
