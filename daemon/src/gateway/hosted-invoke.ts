/**
 * Running an installed module with its host calls served — the one piece the gateway's local
 * resolver and the mesh's module executor share: who the module is to the capabilities, what
 * it may do here (declared ∩ granted, ∩ a calling peer's ceiling when there is one), and the
 * invocation in the worker pool with the dispatcher bound to those rights until the deadline,
 * under the node's limits lowered by the manifest's (`runLimits`).
 */
import {
  effectiveRights,
  grantedTo,
  type CapabilityRights,
  type HostCallDispatcher,
  type ModuleIdentity,
  type NodeGrants,
} from '@gojinn/capabilities';
import type { RequestedLimits } from '@gojinn/manifest';
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

/** What a caller asks of one run, on top of the manifest (a federated call's deadline and fuel). */
export interface CallerLimits {
  deadlineMs?: number | undefined;
  fuel?: number | undefined;
}

/**
 * The limits of one run: the node's, each lowered — never widened — by what the module's
 * manifest requests (docs/manifest.md, "Requested limits") and by the caller's deadline and
 * fuel. The gateway and the mesh both run modules with exactly these, so a call gives the same
 * outcome (fuel exhaustion included) whichever way it arrives, and a deterministic re-execution
 * reproduces it.
 */
export function runLimits(
  node: InvocationLimits,
  requested: RequestedLimits,
  caller: CallerLimits = {},
): InvocationLimits {
  let fuel = node.fuel;
  if (requested.fuel !== undefined && BigInt(requested.fuel) < fuel) fuel = BigInt(requested.fuel);
  if (caller.fuel !== undefined && BigInt(caller.fuel) < fuel) fuel = BigInt(caller.fuel);
  return {
    ...node,
    timeoutMs: Math.max(1, lower(lower(node.timeoutMs, requested.timeoutMs), caller.deadlineMs)),
    fuel,
    memoryBytes: lower(node.memoryBytes, requested.memoryBytes),
  };
}

function lower(a: number, b: number | undefined): number {
  return b === undefined ? a : Math.min(a, b);
}

/** One invocation in the pool; the dispatcher serves host calls under the module's rights until `timeoutMs`. */
export function invokeHosted(
  parts: { sandbox: Sandbox; dispatcher: HostCallDispatcher },
  prepared: PreparedModule,
  request: GuestRequest,
  run: HostedModule & { limits: InvocationLimits; seed?: string | undefined },
): Promise<InvocationOutcome> {
  const host = parts.dispatcher.forInvocation({
    module: run.identity,
    rights: run.rights,
    traceId: request.trace_id,
    deadline: Date.now() + run.limits.timeoutMs,
  });
  return parts.sandbox.invoke(prepared, request, {
    granted: host.granted,
    hostHandler: host.handler,
    programName: run.identity.name,
    limits: run.limits,
    ...(run.seed === undefined ? {} : { seed: run.seed }),
  });
}
