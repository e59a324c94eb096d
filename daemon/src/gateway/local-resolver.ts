/**
 * The resolver of functions installed on this node: the registry finds the active, verified
 * version of a name; the sandbox prepares it (cached by content hash) and runs it in the worker
 * pool; the capability dispatcher serves its host calls with declared ∩ granted rights.
 */
import { GojinnError } from '@gojinn/errors';
import {
  NO_GRANTS,
  effectiveRights,
  grantedTo,
  type HostCallDispatcher,
  type NodeGrants,
} from '@gojinn/capabilities';
import type { ModuleRegistry } from '@gojinn/registry';
import type { GuestRequest, InvocationLimits, Sandbox } from '@gojinn/sandbox';
import type { FunctionResolver, GatewayFunction, GatewayOutcome } from './gateway.ts';

export interface LocalResolverOptions {
  registry: Pick<ModuleRegistry, 'resolve'>;
  sandbox: Sandbox;
  /**
   * Serves the guests' host calls. Without one, functions run with no capability at all: a
   * module that imports a `gojinn` function fails to link (capability_denied).
   */
  dispatcher?: HostCallDispatcher;
  /** What this node grants which modules (the config's `grants`). Default none. */
  grants?: NodeGrants;
  /** Invocation limits for every call (clamped to the sandbox's ceilings). Default the sandbox's defaults. */
  limits?: Partial<InvocationLimits>;
}

export function createLocalResolver(options: LocalResolverOptions): FunctionResolver {
  const { registry, sandbox, dispatcher } = options;
  const grants = options.grants ?? NO_GRANTS;
  const limits = options.limits ?? {};
  const timeoutMs = Math.min(limits.timeoutMs ?? sandbox.defaults.timeoutMs, sandbox.ceilings.timeoutMs);

  return {
    async resolve(name: string): Promise<GatewayFunction> {
      const served = await registry.resolve(name);
      if (served.verified.manifest.name !== name) {
        // The registry keys by manifest name; anything else is a store fault, never served.
        throw new GojinnError('internal', `registry served ${served.verified.manifest.name} for ${name}`);
      }
      const prepared = sandbox.prepare(served.moduleBytes);
      const module = { name, publisher: served.verified.publisher, hash: served.verified.sha256 };
      return {
        invoke(request: GuestRequest): Promise<GatewayOutcome> {
          if (dispatcher === undefined) {
            return sandbox.invoke(prepared, request, { programName: name, limits });
          }
          const rights = effectiveRights({
            declared: served.verified.manifest.capabilities,
            granted: grantedTo(grants, module),
            allowDebug: grants.allowDebug,
          });
          const host = dispatcher.forInvocation({
            module,
            rights,
            traceId: request.trace_id,
            deadline: Date.now() + timeoutMs,
          });
          return sandbox.invoke(prepared, request, {
            granted: host.granted,
            hostHandler: host.handler,
            programName: name,
            limits,
          });
        },
      };
    },
  };
}
