/**
 * Running an installed module with its host calls served — the one piece the gateway's local
 * resolver and the mesh's module executor share: who the module is to the capabilities, what
 * it may do here (declared ∩ granted, ∩ a calling peer's ceiling when there is one), and the
 * invocation in the worker pool with the dispatcher bound to those rights until the deadline.
 */
import {
  effectiveRights,
  grantedTo,
  type CapabilityRights,
  type HostCallDispatcher,
  type ModuleIdentity,
  type NodeGrants,
} from '@gojinn/capabilities';
import type { ServedModule } from '@gojinn/registry';
import type {
  GuestRequest,
  InvocationLimits,
  InvocationOutcome,
  PreparedModule,
  Sandbox,
} from '@gojinn/sandbox';

export interface HostedModule {
  identity: ModuleIdentity;
  rights: CapabilityRights;
}

/** The served module's identity and its effective rights on this node. */
export function hostedModule(
  served: ServedModule,
  grants: NodeGrants,
  ceiling?: CapabilityRights,
): HostedModule {
  const identity = {
    name: served.verified.manifest.name,
    publisher: served.verified.publisher,
    hash: served.verified.sha256,
  };
  const rights = effectiveRights({
    declared: served.verified.manifest.capabilities,
    granted: grantedTo(grants, identity),
    allowDebug: grants.allowDebug,
    ...(ceiling === undefined ? {} : { ceiling }),
  });
  return { identity, rights };
}

/** One invocation in the pool; the dispatcher serves host calls under the module's rights until `timeoutMs`. */
export function invokeHosted(
  parts: { sandbox: Sandbox; dispatcher: HostCallDispatcher },
  prepared: PreparedModule,
  request: GuestRequest,
  run: HostedModule & { timeoutMs: number; limits: Partial<InvocationLimits>; seed?: string | undefined },
): Promise<InvocationOutcome> {
  const host = parts.dispatcher.forInvocation({
    module: run.identity,
    rights: run.rights,
    traceId: request.trace_id,
    deadline: Date.now() + run.timeoutMs,
  });
  return parts.sandbox.invoke(prepared, request, {
    granted: host.granted,
    hostHandler: host.handler,
    programName: run.identity.name,
    limits: run.limits,
    ...(run.seed === undefined ? {} : { seed: run.seed }),
  });
}
