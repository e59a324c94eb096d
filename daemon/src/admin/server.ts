import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GojinnError, toErrorInfo, type ErrorCode } from '@gojinn/errors';
import type { JsonObject, JsonValue } from '@gojinn/manifest';
import type { ModuleRegistry } from '@gojinn/registry';
import type { AuditLog } from '../audit/index.ts';
import { DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_LIMITS, DEFAULT_ADMIN_PORT, type AdminLimits } from './limits.ts';
import { isLoopbackHost } from '../config/value-kinds.ts';
import { ADMIN_TOKEN_PATTERN, adminTokenMatches, bearerToken } from './token.ts';

export interface AdminServerOptions {
  /** The node's admin token (`readAdminToken(dataDir)`). */
  token: string;
  registry: ModuleRegistry;
  /** Where every authenticated request is recorded. */
  audit: AuditLog;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8081; 0 picks a free port. */
  port?: number;
  /** Permit a non-loopback `host` (exposes the admin API to the network). Default false. */
  allowNonLoopback?: boolean;
  /** Extra fields for GET /v1/status (pool, peers, ... as the daemon has them). */
  status?: () => JsonObject;
  limits?: Partial<AdminLimits>;
}

export interface AdminServer {
  readonly server: Server;
  /** e.g. http://127.0.0.1:8081 */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** What a route answers: a status and a JSON body, plus what the audit entry records. */
interface RouteResult {
  status: number;
  body: JsonObject;
  audit?: JsonObject;
}

type Route = (request: AdminRequest) => Promise<RouteResult>;

interface AdminRequest {
  url: URL;
  body: Uint8Array;
}

const STATUS_OF_CODE: Partial<Record<ErrorCode, number>> = {
  bad_request: 400,
  signature_invalid: 400,
  untrusted_publisher: 403,
  not_found: 404,
  revoked: 409,
  rollback: 409,
  overloaded: 503,
  internal: 500,
};

/**
 * Starts the admin API (docs/admin-api.md): JSON routes for status, modules, revocations and
 * the audit log, every request authenticated with the node's bearer token before anything
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
  const routes = buildRoutes(options, limits);
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_ADMIN_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    host: address.address,
    port: address.port,
    url: `http://${urlHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  options: AdminServerOptions,
  routes: ReadonlyMap<string, Route>,
  limits: AdminLimits,
): Promise<void> {
  // Authentication comes first: an unauthenticated request reads no body, reaches no route
  // and writes nothing — not even an audit entry, so it cannot fill the log either.
  const presented = bearerToken(request.headers.authorization);
  if (presented === undefined || !adminTokenMatches(options.token, presented)) {
    response.setHeader('www-authenticate', 'Bearer realm="gojinn-admin"');
    response.setHeader('connection', 'close');
    send(response, 401, errorBody('unauthorized', 'admin API: missing or wrong bearer token'));
    return;
  }
  const url = new URL(request.url ?? '/', 'http://admin.invalid');
  const routeName = `${request.method ?? ''} ${url.pathname}`;
  let result: RouteResult;
  try {
    const route = routes.get(routeName);
    if (route === undefined) throw new GojinnError('not_found', `admin API: no route ${routeName}`);
    const body = await readBody(request, limits.maxBodyBytes);
    result = await route({ url, body });
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

function buildRoutes(options: AdminServerOptions, limits: AdminLimits): ReadonlyMap<string, Route> {
  const started = Date.now();
  const { registry, audit } = options;
  return new Map<string, Route>([
    [
      'GET /v1/status',
      () =>
        Promise.resolve({
          status: 200,
          body: {
            ok: true,
            node: audit.signer,
            uptimeSeconds: Math.floor((Date.now() - started) / 1000),
            auditEntries: audit.length,
            ...options.status?.(),
          },
        }),
    ],
    [
      'GET /v1/modules',
      async ({ url }) => {
        const after = url.searchParams.get('after') ?? undefined;
        const limit = pageLimit(url, limits);
        const page = await registry.list({ ...(after === undefined ? {} : { after }), limit });
        return {
          status: 200,
          body: {
            ok: true,
            modules: page.items as unknown as JsonValue[],
            ...(page.next === undefined ? {} : { next: page.next }),
          },
        };
      },
    ],
    [
      'POST /v1/revocations',
      async ({ body }) => {
        if (body.byteLength === 0)
          throw new GojinnError('bad_request', 'admin API: the body must be a signed revocation record');
        const { revocation, authority } = await registry.applyRevocation(body);
        const target: JsonObject =
          revocation.kind === 'version'
            ? {
                kind: 'version',
                publisher: revocation.publisher,
                name: revocation.name,
                version: revocation.version,
              }
            : { kind: 'publisher', publisher: revocation.publisher };
        return {
          status: 200,
          body: { ok: true, revoked: target, authority },
          audit: { revoked: target, authority },
        };
      },
    ],
    [
      'GET /v1/audit',
      async ({ url }) => {
        const afterText = url.searchParams.get('after');
        const after = afterText === null ? undefined : parseWhole(afterText, 'after');
        const page = await audit.list({
          ...(after === undefined ? {} : { after }),
          limit: pageLimit(url, limits),
        });
        return {
          status: 200,
          body: {
            ok: true,
            entries: page.items as unknown as JsonValue[],
            ...(page.next === undefined ? {} : { next: page.next }),
          },
        };
      },
    ],
    [
      'GET /v1/audit/verify',
      async () => {
        const report = await audit.verify();
        return { status: 200, body: { ...report } as unknown as JsonObject };
      },
    ],
  ]);
}

function pageLimit(url: URL, limits: AdminLimits): number {
  const text = url.searchParams.get('limit');
  if (text === null) return limits.maxPageSize;
  return Math.max(1, Math.min(parseWhole(text, 'limit'), limits.maxPageSize));
}

function parseWhole(text: string, name: string): number {
  if (!/^\d{1,15}$/.test(text))
    throw new GojinnError('bad_request', `admin API: ${name} must be a whole number`);
  return Number(text);
}

class BodyTooLarge extends GojinnError {}

/** Reads the body up to `max` bytes; a longer one (declared or sent) is refused unread. */
async function readBody(request: IncomingMessage, max: number): Promise<Uint8Array> {
  const tooLarge = (): BodyTooLarge =>
    new BodyTooLarge('bad_request', `admin API: request body is larger than maxBodyBytes (${max})`);
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

function errorBody(code: ErrorCode, message: string): JsonObject {
  return { ok: false, error: { code, message } };
}

function send(response: ServerResponse, status: number, body: JsonObject): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(text);
}
