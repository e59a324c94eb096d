/**
 * Runs an installed module for the mesh: calls that arrive over the invoke protocol (with the
 * calling peer's capability ceiling), the router's local runs, and deterministic re-execution
 * of a remote receipt. A module is named by name + semver range (+ publisher) or by hash; the
 * registry serves it (hash re-checked, revocations looked up); effective rights are
 * declared ∩ granted ∩ ceiling; limits are the node's, lowered by the manifest's and by the
 * caller's deadline and fuel.
 */
import semver from 'semver';
import { GojinnError } from '@gojinn/errors';
import {
  NO_GRANTS,
  type CapabilityRights,
  type HostCallDispatcher,
  type NodeGrants,
} from '@gojinn/capabilities';
import type { ModuleRegistry, ServedModule } from '@gojinn/registry';
import { hostedModule, invokeHosted, runLimits } from '../gateway/hosted-invoke.ts';
import type { GuestRequest, InvocationLimits, InvocationOutcome, Sandbox } from '@gojinn/sandbox';

/** The mesh's module reference (protocols/invoke.md): by name and range, or by exact hash. */
export type ModuleReference = { name: string; range: string; publisher?: string } | { sha256: string };

export interface ModuleRun {
  module: ModuleReference;
  request: GuestRequest;
  /** The caller's deadline, ms: the run's timeout is the smaller of it and the node's. */
  deadlineMs: number;
  fuel?: number | undefined;
  /** 64 hex digits; a fresh one when absent. */
  seed?: string | undefined;
  /** The calling peer's ceiling; undefined for this node's own callers (no ceiling). */
  ceiling?: CapabilityRights | undefined;
  /** Called with the resolved module's name before anything runs (the peer policy's module check). */
  authorize?: (name: string) => void;
}

export interface ModuleRunResult {
  outcome: InvocationOutcome;
  moduleSha256: string;
  name: string;
}

export interface ModuleExecutorOptions {
  registry: Pick<ModuleRegistry, 'resolve' | 'get'>;
  sandbox: Sandbox;
  dispatcher: HostCallDispatcher;
  grants?: NodeGrants;
  /** The node's invocation limits (config `limits`). */
  limits: InvocationLimits;
}

/** A module found here, resolved once: `run` uses exactly it (no second registry lookup). */
export interface FoundModule {
  run(run: Omit<ModuleRun, 'module'>): Promise<ModuleRunResult>;
}

export interface ModuleExecutor {
  /** The module when it is installed here and served (trusted, not revoked); undefined otherwise. */
  find(module: ModuleReference): Promise<FoundModule | undefined>;
  /** Resolves the module (throwing `not_found`, `revoked`, …) and runs it. */
  run(run: ModuleRun): Promise<ModuleRunResult>;
}

async function served(
  registry: ModuleExecutorOptions['registry'],
  ref: ModuleReference,
): Promise<ServedModule> {
  if ('sha256' in ref) return registry.get(ref.sha256);
  const module = await registry.resolve(ref.name, ref.publisher);
  const version = module.verified.manifest.version;
  if (!semver.satisfies(version, ref.range, { includePrerelease: false })) {
    throw new GojinnError(
      'not_found',
      `${ref.name} is installed here at ${version}, which is outside the range ${ref.range}`,
    );
  }
  return module;
}

export function createModuleExecutor(options: ModuleExecutorOptions): ModuleExecutor {
  const { registry, sandbox, dispatcher } = options;
  const grants = options.grants ?? NO_GRANTS;
  const runServed = async (
    module: ServedModule,
    run: Omit<ModuleRun, 'module'>,
  ): Promise<ModuleRunResult> => {
    const manifest = module.verified.manifest;
    run.authorize?.(manifest.name);
    const prepared = sandbox.prepare(module.moduleBytes);
    const hosted = hostedModule(module, grants, run.ceiling);
    const limits = runLimits(options.limits, manifest.limits, {
      deadlineMs: run.deadlineMs,
      fuel: run.fuel,
    });
    const outcome = await invokeHosted({ sandbox, dispatcher }, prepared, run.request, {
      ...hosted,
      limits,
      seed: run.seed,
    });
    return { outcome, moduleSha256: module.verified.sha256, name: manifest.name };
  };
  return {
    async find(ref) {
      let module: ServedModule;
      try {
        module = await served(registry, ref);
      } catch (error) {
        if (error instanceof GojinnError && error.code !== 'internal') return undefined;
        throw error;
      }
      return { run: (run) => runServed(module, run) };
    },
    async run(run) {
      return runServed(await served(registry, run.module), run);
    },
  };
}
