import { GojinnError, toErrorInfo } from '@gojinn/errors';
import type { JsonObject, JsonValue } from '@gojinn/manifest';
import {
  booleanQuery,
  jsonObjectBody,
  onlyKeys,
  pageLimit,
  pageResult,
  stringField,
  type RouteSpec,
} from '../http-util.ts';
import type { AdminLimits } from '../limits.ts';
import type { AdminServerOptions } from '../options.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Standard base64 characters with at most two '=' at the end: one character class, linear time. */
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes strict standard base64 (what Buffer.toString('base64') writes). Buffer.from alone
 * skips junk, so the decoded bytes must re-encode to exactly the text given: one canonical
 * spelling per byte string, checked in linear time whatever the size.
 */
function base64Field(object: Record<string, unknown>, key: string): Uint8Array {
  const value = object[key];
  const refuse = (): GojinnError =>
    new GojinnError('bad_request', `admin API: publish body.${key} must be standard base64`);
  if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64_CHARS.test(value)) throw refuse();
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw refuse();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** GET/POST /v1/modules, DELETE /v1/modules/<sha256>, POST/DELETE /v1/pins. */
export function moduleRoutes(options: AdminServerOptions, limits: AdminLimits): RouteSpec[] {
  const { registry } = options;
  return [
    {
      method: 'GET',
      path: '/v1/modules',
      run: async ({ url }) => {
        const after = url.searchParams.get('after') ?? undefined;
        const page = await registry.list({
          ...(after === undefined ? {} : { after }),
          limit: pageLimit(url, limits.maxPageSize),
        });
        return pageResult('modules', page.items as unknown as JsonValue[], page.next);
      },
    },
    {
      method: 'POST',
      path: '/v1/modules',
      maxBodyBytes: limits.maxPublishBytes,
      run: async ({ body }) => {
        const request = jsonObjectBody(body, '{"module": base64, "manifest": base64}');
        onlyKeys(request, ['module', 'manifest'], 'publish body');
        const moduleBytes = base64Field(request, 'module');
        const manifestBytes = base64Field(request, 'manifest');
        const install = await registry.install(moduleBytes, manifestBytes);
        const { record, state } = install;
        const module: JsonObject = {
          name: record.name,
          version: record.version,
          publisher: record.publisher,
          hash: record.hash,
          size: record.size,
          active: state.active === record.version,
        };
        let announced: JsonObject | null = null;
        if (options.onPublished !== undefined) {
          try {
            const result = await options.onPublished({ install, manifestBytes });
            announced = { ok: true, recipients: result?.recipients ?? 0 };
          } catch (error) {
            // The install is done and stays: the answer says the announcement failed, and why.
            announced = { ok: false, error: { ...toErrorInfo(error) } };
          }
        }
        return {
          status: install.installed ? 201 : 200,
          body: { ok: true, installed: install.installed, module, announced },
          audit: { module, installed: install.installed, announced },
        };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/modules',
      param: true,
      run: async ({ url, param }) => {
        if (!SHA256_HEX.test(param))
          throw new GojinnError(
            'bad_request',
            'admin API: DELETE /v1/modules/<sha256>: 64 lower-case hex digits',
          );
        const force = booleanQuery(url, 'force');
        const result = await registry.remove(param, { force });
        const removed = result.removed.map(({ name, publisher, version }) => ({ name, publisher, version }));
        const states = result.states.map(({ name, publisher, state }) => ({
          name,
          publisher,
          active: state?.active ?? null,
        }));
        return {
          status: 200,
          body: { ok: true, hash: param, removed, states },
          audit: { hash: param, force, removed },
        };
      },
    },
    {
      method: 'POST',
      path: '/v1/pins',
      run: async ({ body }) => {
        const request = jsonObjectBody(body, '{"publisher", "name", "version"}');
        onlyKeys(request, ['publisher', 'name', 'version'], 'pin body');
        const publisher = stringField(request, 'publisher', 'pin body') ?? '';
        const name = stringField(request, 'name', 'pin body') ?? '';
        const version = stringField(request, 'version', 'pin body') ?? '';
        const result = await registry.pin(publisher, name, version);
        const target = { publisher, name, version };
        return {
          status: 200,
          body: { ok: true, pinned: target, active: result.state?.active ?? null },
          audit: { pinned: target },
        };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/pins',
      run: async ({ body }) => {
        const request = jsonObjectBody(body, '{"publisher", "name"}');
        onlyKeys(request, ['publisher', 'name'], 'unpin body');
        const publisher = stringField(request, 'publisher', 'unpin body') ?? '';
        const name = stringField(request, 'name', 'unpin body') ?? '';
        const state = await registry.unpin(publisher, name);
        return {
          status: 200,
          body: { ok: true, unpinned: { publisher, name }, active: state?.active ?? null },
          audit: { unpinned: { publisher, name } },
        };
      },
    },
  ];
}
