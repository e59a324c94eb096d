import { GojinnError, toErrorInfo } from '@gojinn/errors';
import type { JsonObject } from '@gojinn/manifest';
import { pageLimit, pageResult, type RouteSpec } from '../http-util.ts';
import type { AdminLimits } from '../limits.ts';
import type { AdminServerOptions } from '../options.ts';

/** Longest `after` cursor of GET /v1/revocations (a store key: publisher and module names). */
const MAX_CURSOR_CHARS = 1024;

/** GET /v1/status, GET and POST /v1/revocations, GET /v1/secrets. */
export function nodeRoutes(options: AdminServerOptions, limits: AdminLimits): RouteSpec[] {
  const started = Date.now();
  const { registry, audit, secrets } = options;
  return [
    {
      method: 'GET',
      path: '/v1/status',
      run: () =>
        Promise.resolve({
          status: 200,
          body: {
            ok: true,
            node: audit.signer,
            uptimeSeconds: Math.floor((Date.now() - started) / 1000),
            // Ever appended; with retention, entries before auditFirstSeq were pruned.
            auditEntries: audit.length,
            auditKept: audit.kept,
            auditFirstSeq: audit.firstSeq,
            ...options.status?.(),
          },
        }),
    },
    {
      method: 'GET',
      path: '/v1/revocations',
      run: async ({ url }) => {
        const after = url.searchParams.get('after') ?? undefined;
        if (after !== undefined && after.length > MAX_CURSOR_CHARS)
          throw new GojinnError(
            'bad_request',
            `admin API: after is longer than ${MAX_CURSOR_CHARS} characters`,
          );
        const page = await registry.listRevocations({
          ...(after === undefined ? {} : { after }),
          limit: pageLimit(url, limits.maxPageSize),
        });
        return pageResult(
          'revocations',
          page.items.map(({ target, revocation }) => ({
            target: target as unknown as JsonObject,
            revocation: revocation as unknown as JsonObject,
          })),
          page.next,
        );
      },
    },
    {
      method: 'POST',
      path: '/v1/revocations',
      run: async ({ body }) => {
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
        let announced: JsonObject = {};
        if (options.onRevoked !== undefined) {
          try {
            const result = await options.onRevoked(revocation);
            announced = result === undefined ? {} : { recipients: result.recipients };
          } catch (error) {
            announced = { announceError: toErrorInfo(error).message };
          }
        }
        return {
          status: 200,
          body: { ok: true, revoked: target, authority, ...announced },
          audit: { revoked: target, authority, ...announced },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/secrets',
      run: async ({ url }) => {
        if (secrets === undefined)
          throw new GojinnError('not_found', 'admin API: this node has no secret store');
        const module = url.searchParams.get('module') ?? undefined;
        // Names only: the listing never carries a value, sealed or not.
        const names = await secrets.list(module);
        return {
          status: 200,
          body: {
            ok: true,
            secrets: names.map(({ module: m, publisher, name }) => ({ module: m, publisher, name })),
          },
        };
      },
    },
  ];
}
