/**
 * The resolver of functions installed on this node: the registry finds the active, verified
 * version of a name; the sandbox prepares it (cached by content hash) and runs it in the worker
 * pool; the capability dispatcher serves its host calls with declared ∩ granted rights.
 */
import { GojinnError } from '@gojinn/errors';
import { NO_GRANTS, type HostCallDispatcher, type NodeGrants } from '@gojinn/capabilities';
import type { ModuleRegistry } from '@gojinn/registry';
import { clampToCeilings, type GuestRequest, type InvocationLimits, type Sandbox } from '@gojinn/sandbox';
import type { FunctionResolver, GatewayFunction, GatewayOutcome } from './gateway.ts';
import { hostedModule, invokeHosted, runLimits } from './hosted-invoke.ts';

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
  /**
   * Ms a resolution (registry lookup, verification and preparation) is reused before the
   * registry is asked again. Bounds how long an install, pin or revocation that nobody reported
   * through `invalidate` takes to reach callers. 0 asks the registry on every request.
   * Default DEFAULT_RESOLUTION_CACHE_MS.
   */
  resolutionCacheMs?: number;
  /** Most names whose resolution is cached; past it the oldest is dropped. Default DEFAULT_MAX_CACHED_RESOLUTIONS. */
  maxCachedResolutions?: number;
  /** Milliseconds, monotonic; for the resolution cache. Default performance.now. */
  clock?: () => number;
}

/**
 * Default `resolutionCacheMs`. Asking the registry costs ~0.5 ms of main-thread time per
 * request (store reads, re-hashing the module, the compiled-module cache lookup hashes it
 * again): more than the rest of the gateway together. One second bounds staleness well below
 * how long a revocation takes to cross the mesh.
 */
export const DEFAULT_RESOLUTION_CACHE_MS = 1_000;

/** Default `maxCachedResolutions`. */
export const DEFAULT_MAX_CACHED_RESOLUTIONS = 1_000;

/** A FunctionResolver whose cache the daemon clears when it changes what a name resolves to. */
export interface LocalResolver extends FunctionResolver {
  /** Forgets the cached resolution of `name`, or of every name: the next request asks the registry. */
  invalidate(name?: string): void;
}

export function createLocalResolver(options: LocalResolverOptions): LocalResolver {
  const { registry, sandbox, dispatcher } = options;
  const grants = options.grants ?? NO_GRANTS;
  // The node's limits for every call, merged and clamped as the sandbox merges an invocation's
  // (here too because the host calls' deadline comes from the timeout). Each module's manifest
  // may lower them (runLimits).
  const nodeLimits = clampToCeilings({ ...sandbox.defaults, ...options.limits }, sandbox.ceilings);
  const cacheMs = options.resolutionCacheMs ?? DEFAULT_RESOLUTION_CACHE_MS;
  if (!Number.isSafeInteger(cacheMs) || cacheMs < 0) {
    throw new RangeError(`resolutionCacheMs must be a non-negative integer, got ${String(cacheMs)}`);
  }
  const maxCached = options.maxCachedResolutions ?? DEFAULT_MAX_CACHED_RESOLUTIONS;
  if (!Number.isSafeInteger(maxCached) || maxCached < 1) {
    throw new RangeError(`maxCachedResolutions must be a positive integer, got ${String(maxCached)}`);
  }
  const now = options.clock ?? (() => performance.now());
  // Only successes are cached: a not_found or revoked name asks the registry every time.
  const cache = new Map<string, { fn: GatewayFunction; until: number }>();

  const load = async (name: string): Promise<GatewayFunction> => {
    const served = await registry.resolve(name);
    if (served.verified.manifest.name !== name) {
      // The registry keys by manifest name; anything else is a store fault, never served.
      throw new GojinnError('internal', `registry served ${served.verified.manifest.name} for ${name}`);
    }
    const prepared = sandbox.prepare(served.moduleBytes);
    const hosted = hostedModule(served, grants);
    const limits = runLimits(nodeLimits, served.verified.manifest.limits);
    return {
      invoke(request: GuestRequest): Promise<GatewayOutcome> {
        if (dispatcher === undefined) {
          return sandbox.invoke(prepared, request, { programName: name, limits });
        }
        return invokeHosted({ sandbox, dispatcher }, prepared, request, { ...hosted, limits });
      },
    };
  };

  return {
    async resolve(name: string): Promise<GatewayFunction> {
      const cached = cache.get(name);
      if (cached !== undefined && now() < cached.until) return cached.fn;
      cache.delete(name);
      const fn = await load(name);
      if (cacheMs > 0) {
        if (cache.size >= maxCached) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
        cache.set(name, { fn, until: now() + cacheMs });
      }
      return fn;
    },
    invalidate(name?: string): void {
      if (name === undefined) cache.clear();
      else cache.delete(name);
    },
  };
}
