/**
 * The gateway's resolver on a node in a mesh: a function installed here runs here (the local
 * resolver, unchanged); a name this node does not serve is routed to a peer that does
 * (docs/mesh.md, "Routing"), and the peer's answer — or its error code — comes back as the
 * gateway's outcome. Any other failure of the local lookup (revoked, untrusted…) is final: a
 * revoked module is never fetched from elsewhere.
 */
import { GojinnError, toErrorInfo } from '@gojinn/errors';
import type { GatewayFunction, GatewayOutcome, LocalResolver } from '../gateway/index.ts';
import type { MeshPeer } from './mesh-peer.ts';

export interface RoutedResolverOptions {
  local: LocalResolver;
  mesh: Pick<MeshPeer, 'invoke'>;
  /** The time a routed call gets (the node's limits.timeoutMs). */
  deadlineMs: number;
}

export function createRoutedResolver(options: RoutedResolverOptions): LocalResolver {
  const { local, mesh, deadlineMs } = options;
  const remote = (name: string): GatewayFunction => ({
    async invoke(request): Promise<GatewayOutcome> {
      try {
        const { routed } = await mesh.invoke({ module: { name, range: '*' }, request, deadlineMs });
        const fuelUsed = routed.where === 'local' ? routed.fuelUsed : routed.receipt.fuelUsed;
        return { ok: true, response: routed.response, fuelUsed: BigInt(fuelUsed) };
      } catch (error) {
        return { ok: false, error: toErrorInfo(error) };
      }
    },
  });
  return {
    async resolve(name) {
      try {
        return await local.resolve(name);
      } catch (error) {
        if (error instanceof GojinnError && error.code === 'not_found') return remote(name);
        throw error;
      }
    },
    invalidate: (name) => local.invalidate(name),
  };
}
