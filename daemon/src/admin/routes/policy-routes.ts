import { GojinnError } from '@gojinn/errors';
import type { JsonObject, JsonValue } from '@gojinn/manifest';
import type { PolicyStore } from '../../policies/index.ts';
import { effectivePolicies } from '../../policies/index.ts';
import { jsonObjectBody, type RouteSpec } from '../http-util.ts';
import type { AdminServerOptions } from '../options.ts';

/** GET /v1/policies, PUT /v1/policies/<peerId>, DELETE /v1/policies/<peerId>. */
export function policyRoutes(options: AdminServerOptions): RouteSpec[] {
  const configPeers = options.configPeers ?? [];
  const store = (): PolicyStore => {
    if (options.policies === undefined)
      throw new GojinnError('not_found', 'admin API: this node has no policy store');
    return options.policies;
  };
  const effective = (policies: PolicyStore) => effectivePolicies(configPeers, policies.list());
  const changed = async (policies: PolicyStore): Promise<void> => {
    await options.onPoliciesChanged?.(effective(policies).map((entry) => entry.policy));
  };
  const listed = (policies: PolicyStore): JsonValue[] =>
    effective(policies).map(({ policy, source }) => ({ ...policy, source }) as unknown as JsonObject);
  return [
    {
      method: 'GET',
      path: '/v1/policies',
      run: () => Promise.resolve({ status: 200, body: { ok: true, policies: listed(store()) } }),
    },
    {
      method: 'PUT',
      path: '/v1/policies',
      param: true,
      run: async ({ body, param }) => {
        const policies = store();
        const request = jsonObjectBody(
          body,
          'a peer policy {modules, capabilities?, ratePerSecond?, maxConcurrent?}',
        );
        if (request.id !== undefined && request.id !== param)
          throw new GojinnError(
            'bad_request',
            `admin API: policy.id ${JSON.stringify(request.id).slice(0, 80)} is not the peer id of the path`,
          );
        const policy = await policies.put({ ...request, id: param });
        await changed(policies);
        return {
          status: 200,
          body: { ok: true, policy: { ...policy, source: 'admin' } as unknown as JsonObject },
          audit: { peer: policy.id, policy: policy as unknown as JsonObject },
        };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/policies',
      param: true,
      run: async ({ param }) => {
        const policies = store();
        if (!(await policies.delete(param))) {
          const inConfig = configPeers.some((peer) => peer.id === param);
          throw new GojinnError(
            'not_found',
            inConfig
              ? `admin API: the policy of ${param} comes from the config file's [[peers]]; edit the config to change it`
              : `admin API: no policy for peer ${param.slice(0, 128)}`,
          );
        }
        await changed(policies);
        const fallback = configPeers.find((peer) => peer.id === param);
        return {
          status: 200,
          body: { ok: true, removed: param, now: fallback === undefined ? null : 'config' },
          audit: { peer: param, removed: true },
        };
      },
    },
  ];
}
