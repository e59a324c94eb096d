import { createHash } from 'node:crypto';
import type { Capability } from '@gojinn/abi';
import { GojinnError } from '@gojinn/errors';
import { CompiledModuleCache } from './compiled-module-cache.ts';
import {
  DEFAULT_INVOCATION_LIMITS,
  DEFAULT_MODULE_LIMITS,
  WASM_PAGE_BYTES,
  clampToCeilings,
  type InvocationLimits,
  type ModuleLimits,
} from './limits.ts';
import type { HostHandler } from './pool/host-call-server.ts';
import type { PoolOptions } from './pool/pool-options.ts';
import { WorkerPool } from './pool/worker-pool.ts';
import { buildRequest, encodeRequest, newSeed, parseSeed, runInvocation } from './runtime/index.ts';
import type { GuestRequest, HostImports, InvocationOutcome, InvocationSpec } from './runtime/types.ts';
import { prepareWasm, type ModuleInfo } from './wasm/index.ts';

/** Prepared modules a Sandbox keeps compiled (LRU by content hash). */
export const DEFAULT_MODULE_CACHE_SIZE = 256;

/**
 * Fuel for the one warm-up run a module gets when it is prepared: enough for a request
 * handler's first pass (so V8 compiles the functions it uses before the first real call),
 * small enough that a hostile module costs the preparing thread a few milliseconds at most.
 */
export const WARMUP_FUEL = 5_000_000n;

export interface SandboxOptions {
  /** Static limits checked when a module is prepared. */
  moduleLimits?: Partial<ModuleLimits>;
  /** The node's ceilings: no invocation may exceed them, whatever it asks for. */
  ceilings?: Partial<InvocationLimits>;
  /** Limits an invocation gets when it asks for none (clamped to the ceilings). */
  defaults?: Partial<InvocationLimits>;
  /** The worker pool (started on the first `invoke`). */
  pool?: Partial<PoolOptions>;
  moduleCacheSize?: number;
  /**
   * Reuse instances, reset to their initial state, instead of creating one per invocation
   * (default true; docs/sandbox.md, "Instance reuse"). Results are identical either way.
   */
  reuseInstances?: boolean;
}

/** A caller's seed, validated (GojinnError bad_request) and lower-cased. */
function checkedSeed(seed: string): string {
  parseSeed(seed);
  return seed.toLowerCase();
}

/** A module validated, rewritten, compiled and warmed: what `invoke` runs. */
export interface PreparedModule {
  /** Hex sha-256 of the original (unrewritten) bytes. */
  readonly hash: string;
  readonly module: WebAssembly.Module;
  readonly info: ModuleInfo;
}

export interface InvokeOptions {
  /** Lower limits for this invocation; anything above the node's ceilings is clamped. */
  limits?: Partial<InvocationLimits>;
  /** 64 hex characters; a fresh random seed when absent. */
  seed?: string;
  /** Capabilities the guest may link against. Default: none. */
  granted?: readonly Capability[];
  /** Main-thread handler of the guest's host calls (worker path only). */
  hostHandler?: HostHandler;
  /** The guest's argv[0]. */
  programName?: string;
}

/** The request a guest reads: a partial request (defaults fill the rest) or ready stdin bytes. */
export type RequestInput = Partial<GuestRequest> | Uint8Array;

/**
 * The sandbox as one object (wasmtime's Engine + Linker + Store, in one place): prepare a
 * module once, then run it as many times as needed, each time in a fresh instance or in a
 * reused one reset to exactly that state.
 *
 * `invoke` runs in the worker pool, where the wall-clock timeout is enforced by terminating a
 * runaway worker and host functions may be async on the main thread. `invokeInThread` runs in
 * the calling thread: fastest, bounded by fuel and the memory ceiling, but with no wall-clock
 * timeout and no async host calls — for trusted tooling and benchmarks, not for serving.
 */
export class Sandbox {
  readonly moduleLimits: Readonly<ModuleLimits>;
  readonly ceilings: Readonly<InvocationLimits>;
  readonly defaults: Readonly<InvocationLimits>;
  readonly #cache: CompiledModuleCache<PreparedModule>;
  readonly #poolOptions: Partial<PoolOptions>;
  readonly #reuseInstances: boolean;
  #pool: WorkerPool | undefined;
  #closed = false;

  constructor(options: SandboxOptions = {}) {
    this.moduleLimits = Object.freeze({ ...DEFAULT_MODULE_LIMITS, ...options.moduleLimits });
    this.ceilings = Object.freeze({ ...DEFAULT_INVOCATION_LIMITS, ...options.ceilings });
    this.defaults = Object.freeze(
      clampToCeilings({ ...DEFAULT_INVOCATION_LIMITS, ...options.defaults }, this.ceilings),
    );
    this.#cache = new CompiledModuleCache(options.moduleCacheSize ?? DEFAULT_MODULE_CACHE_SIZE);
    this.#poolOptions = options.pool ?? {};
    this.#reuseInstances = options.reuseInstances ?? true;
  }

  /**
   * Validates, rewrites, compiles and warms a module, once per content hash. Throws
   * GojinnError `invalid_module` (bad bytes, unsupported feature, static limit) or
   * `memory_limit` (initial memory above the ceiling).
   */
  prepare(bytes: Uint8Array): PreparedModule {
    const hash = createHash('sha256').update(bytes).digest('hex');
    const cached = this.#cache.get(hash);
    if (cached !== undefined) return cached;
    const rewritten = prepareWasm(bytes, {
      limits: this.moduleLimits,
      memoryCeilingPages: Math.floor(this.ceilings.memoryBytes / WASM_PAGE_BYTES),
      // Fresh instances get a recycled, zeroed memory (docs/sandbox.md, "Fresh instances and recycled memories").
      importMemory: true,
    });
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(rewritten.bytes);
    } catch (error) {
      // prepareWasm validated the input, so this is a rewriter bug: never blame the module silently.
      throw new GojinnError('internal', 'internal error: rewritten module failed to compile', {
        cause: error,
      });
    }
    const prepared: PreparedModule = Object.freeze({ hash, module, info: rewritten.info });
    this.#warm(prepared);
    this.#cache.set(hash, prepared);
    return prepared;
  }

  /** Runs one invocation in the worker pool (timeout enforced). Never rejects for guest failures. */
  async invoke(
    prepared: PreparedModule,
    request: RequestInput,
    options: InvokeOptions = {},
  ): Promise<InvocationOutcome> {
    const spec = this.#spec(prepared, request, options);
    return this.#workerPool().run(prepared, spec, { hostHandler: options.hostHandler });
  }

  /** Runs one invocation in this thread, synchronously: no wall-clock timeout (see the class comment). */
  invokeInThread(
    prepared: PreparedModule,
    request: RequestInput,
    options: Omit<InvokeOptions, 'hostHandler'> & { host?: HostImports } = {},
  ): InvocationOutcome {
    return runInvocation(
      prepared.module,
      prepared.info,
      this.#spec(prepared, request, options),
      options.host,
    );
  }

  /**
   * Starts the worker pool now instead of on the first `invoke`, and resolves once every worker
   * is ready: a worker takes ~115–150 ms to start, which the first call would otherwise wait
   * for. Each worker runs only the runtime's built-in warm-up guest; no module is compiled or
   * cached. Rejects with `overloaded` when the sandbox is closed, `internal` when workers
   * cannot start. Calling it again (or after `invoke`) waits for the same pool.
   */
  async warmUp(): Promise<void> {
    await this.#workerPool().ready();
  }

  /** The worker pool, started on first use (metrics read its getters). */
  get pool(): WorkerPool | undefined {
    return this.#pool;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#pool?.close();
  }

  #workerPool(): WorkerPool {
    if (this.#closed) throw new GojinnError('overloaded', 'sandbox is closed');
    this.#pool ??= new WorkerPool(this.#poolOptions);
    return this.#pool;
  }

  #spec(prepared: PreparedModule, request: RequestInput, options: InvokeOptions): InvocationSpec {
    // A seed made here is 64 lowercase hex digits by construction; a given one is checked.
    const seed = options.seed === undefined ? newSeed() : checkedSeed(options.seed);
    return {
      moduleHash: prepared.hash,
      stdin: request instanceof Uint8Array ? request : encodeRequest(buildRequest(request)),
      limits: clampToCeilings({ ...this.defaults, ...options.limits }, this.ceilings),
      seed,
      granted: options.granted ?? [],
      ...(options.programName === undefined ? {} : { programName: options.programName }),
      ...(this.#reuseInstances ? {} : { reuseInstances: false }),
    };
  }

  /** One bounded run so V8 compiles the functions a request touches before the first real call. */
  #warm(prepared: PreparedModule): void {
    const limits = {
      ...this.defaults,
      fuel: WARMUP_FUEL < this.defaults.fuel ? WARMUP_FUEL : this.defaults.fuel,
    };
    this.invokeInThread(prepared, {}, { limits, seed: '0'.repeat(64) });
  }
}
