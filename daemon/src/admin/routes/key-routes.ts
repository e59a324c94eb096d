import { GojinnError } from '@gojinn/errors';
import type { JsonObject, JsonValue } from '@gojinn/manifest';
import type { PersistentApiKeys } from '../../api-keys/index.ts';
import { jsonObjectBody, type RouteSpec } from '../http-util.ts';
import type { AdminServerOptions } from '../options.ts';

/** GET/POST /v1/api-keys, DELETE /v1/api-keys/<id>. The key itself appears once: in the POST answer. */
export function keyRoutes(options: AdminServerOptions): RouteSpec[] {
  const keys = (): PersistentApiKeys => {
    if (options.apiKeys === undefined)
      throw new GojinnError('not_found', 'admin API: this node has no API key store');
    return options.apiKeys;
  };
  return [
    {
      method: 'GET',
      path: '/v1/api-keys',
      run: () =>
        Promise.resolve({ status: 200, body: { ok: true, keys: keys().list() as unknown as JsonValue[] } }),
    },
    {
      method: 'POST',
      path: '/v1/api-keys',
      run: async ({ body }) => {
        const request = jsonObjectBody(body, '{"functions": [names], "id"?, "rateLimit"?}');
        const { key, info } = await keys().create(request);
        // The audit entry records which key was made and for what — never the key.
        return {
          status: 201,
          body: { ok: true, key, ...(info as unknown as JsonObject) },
          audit: { created: info.id, functions: info.functions },
        };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/api-keys',
      param: true,
      run: async ({ param }) => {
        if (!(await keys().remove(param)))
          throw new GojinnError(
            'not_found',
            `admin API: no API key ${param.slice(0, 64)} was created through the admin API`,
          );
        return { status: 200, body: { ok: true, removed: param }, audit: { removed: param } };
      },
    },
  ];
}
