import { GojinnError, toErrorInfo, type ErrorInfo } from '@gojinn/errors';
import { MAX_MEMORY_PAGES, WASM_PAGE_BYTES } from '../limits.ts';
import { METER_EXPORTS } from '../meter-abi.ts';
import { DEFAULT_PROGRAM_NAME, FuelMeter, WasiContext } from '../wasi/index.ts';
import type { MemoryShape } from '../wasm/runtime-imports.ts';
import { ACTIVE } from './active-invocation.ts';
import { classifyFailure } from './failure.ts';
import { HostCallFrame } from './host-call-frame.ts';
import { threadInstancePool } from './instance-pool.ts';
import { checkGrants, importsWithMemory, linkPlanFor, type LinkPlan } from './linker.ts';
import { threadMemoryPool } from './memory-pool.ts';
import { parseGuestResponse } from './response.ts';
import { parseSeed } from './seed.ts';
import type { HostImports, InvocationOutcome, InvocationSpec, RuntimeModuleInfo } from './types.ts';

const NOTHING_THROWN = Symbol('nothing thrown');

/**
 * Runs one invocation of a prepared module, synchronously, in this thread: link (deny by
 * default), a fresh instance (or a reused one restored to exactly the state of a fresh one,
 * instance-pool.ts), the start function and `_start` under the invocation's fuel and memory
 * ceiling, then the guest's stdout parsed into a response. Never throws: every failure is an
 * outcome with a stable error code. Knows nothing of workers or timeouts (the pool stops a
 * guest that runs too long by terminating its thread).
 *
 * A module that imports its memory from the runtime (prepared with `importMemory`) gets, for
 * each new instance, a zeroed memory from this thread's MemoryPool, and the memory of every
 * instance that is dropped afterwards (whatever the outcome, or when instantiation itself
 * failed) goes back to it. An instance the InstancePool keeps keeps its memory.
 */
export function runInvocation(
  module: WebAssembly.Module,
  info: RuntimeModuleInfo,
  spec: InvocationSpec,
  host?: HostImports,
): InvocationOutcome {
  const startedAt = performance.now();
  try {
    return invoke(module, info, spec, host, startedAt);
  } catch (error) {
    // Refused before any guest code ran (bad seed, oversized request, linking), or a bug here.
    return {
      ok: false,
      error: toErrorInfo(error),
      fuelUsed: 0n,
      durationMs: performance.now() - startedAt,
      seed: spec.seed,
      stderr: new Uint8Array(0),
      stderrTruncated: false,
      deterministic: true,
    };
  }
}

function invoke(
  module: WebAssembly.Module,
  info: RuntimeModuleInfo,
  spec: InvocationSpec,
  host: HostImports | undefined,
  startedAt: number,
): InvocationOutcome {
  const { limits } = spec;
  const seed = parseSeed(spec.seed);
  if (spec.stdin.byteLength > limits.maxStdinBytes) {
    throw new GojinnError(
      'bad_request',
      `request is ${spec.stdin.byteLength} bytes; limit maxStdinBytes is ${limits.maxStdinBytes}`,
    );
  }
  const plan = linkPlanFor(module);
  const refusal = plan.error ?? checkGrants(plan, spec.granted, host);
  if (refusal !== null) throw GojinnError.fromInfo(refusal);
  if (info.memory === null) throw new GojinnError('invalid_module', 'module defines no memory');
  const ceilingPages = Math.min(Math.floor(limits.memoryBytes / WASM_PAGE_BYTES), MAX_MEMORY_PAGES);
  if (info.memory.initialPages > ceilingPages) {
    throw new GojinnError(
      'memory_limit',
      `module needs ${info.memory.initialPages} initial pages (${info.memory.initialPages * WASM_PAGE_BYTES} bytes); ` +
        `limit memoryBytes is ${limits.memoryBytes} (${ceilingPages} pages)`,
    );
  }

  const shape = plan.memoryShape;
  const pool = spec.reuseInstances === false ? null : threadInstancePool;
  const reused = pool?.take(module) ?? null;
  const instance = reused ?? instantiateFresh(module, plan, shape);
  let kept = false;
  try {
    const returnable = reused !== null || (pool?.adopt(module, instance) ?? false);
    const { outcome, clean } = run(instance, plan, spec, host, seed, ceilingPages, startedAt);
    // Only a clean success returns the instance: after a trap, an exit or any failure its state
    // is not worth reasoning about, so it is dropped.
    if (returnable && clean) kept = pool?.give(module, instance) ?? false;
    return outcome;
  } finally {
    // The instance will never run again unless the instance pool kept it: its memory may serve
    // the next one (zeroed when taken).
    if (shape !== null && !kept) {
      threadMemoryPool.give(module, instance.exports.memory as WebAssembly.Memory, shape);
    }
  }
}

/** Runs the start function and `_start` of an instance ready to run, and reads the outcome. */
function run(
  instance: WebAssembly.Instance,
  plan: LinkPlan,
  spec: InvocationSpec,
  host: HostImports | undefined,
  seed: Uint8Array,
  ceilingPages: number,
  startedAt: number,
): { outcome: InvocationOutcome; clean: boolean } {
  const { limits } = spec;
  const exports = instance.exports;
  const memory = exports.memory as WebAssembly.Memory;
  if (memory.buffer.byteLength > ceilingPages * WASM_PAGE_BYTES) {
    // The info said otherwise; the instance is what counts.
    throw new GojinnError(
      'memory_limit',
      `module starts with ${memory.buffer.byteLength} bytes of memory; limit memoryBytes is ${limits.memoryBytes}`,
    );
  }
  const fuel = new FuelMeter(exports[METER_EXPORTS.fuel] as WebAssembly.Global, limits.fuel);
  (exports[METER_EXPORTS.memoryLimitPages] as WebAssembly.Global).value = ceilingPages;
  const stack = exports[METER_EXPORTS.stack] as WebAssembly.Global;
  const stackBudget = stack.value as number;

  const wasi = new WasiContext({
    memory,
    fuel,
    stdin: spec.stdin,
    seed,
    programName: spec.programName ?? DEFAULT_PROGRAM_NAME,
    maxStdoutBytes: limits.maxStdoutBytes,
    maxStderrBytes: limits.maxStderrBytes,
  });
  const frame = plan.hostImports.length > 0 ? new HostCallFrame(wasi, host) : null;

  let thrown: unknown = NOTHING_THROWN;
  const outerWasi = ACTIVE.current;
  const outerHost = ACTIVE.host;
  ACTIVE.current = wasi;
  ACTIVE.host = frame;
  try {
    if (plan.hasStartFunction) (exports[METER_EXPORTS.start] as () => void)();
    (exports._start as () => void)();
  } catch (error) {
    thrown = error;
  } finally {
    ACTIVE.current = outerWasi;
    ACTIVE.host = outerHost;
    frame?.close();
  }

  // The first halt decides: proc_exit(0) is a clean finish however the guest's frames unwound.
  const halt = wasi.halt;
  const finished = halt === null ? thrown === NOTHING_THROWN : halt.kind === 'exit' && halt.status === 0;
  let response: InvocationOutcome['response'];
  let error: ErrorInfo | undefined;
  if (finished && fuel.remaining() >= 0n) {
    try {
      response = parseGuestResponse(wasi.stdout.view());
    } catch (parseError) {
      error = toErrorInfo(parseError);
    }
  } else {
    error = classifyFailure(thrown, halt, {
      fuel,
      stackRemaining: stack.value as number,
      stackBudget,
      memoryDenied: (exports[METER_EXPORTS.memoryDenied] as WebAssembly.Global).value as number,
      ceilingPages,
      memoryBytes: limits.memoryBytes,
      maxStdoutBytes: limits.maxStdoutBytes,
    });
  }
  const outcome: InvocationOutcome = {
    ok: error === undefined,
    ...(error === undefined ? { response } : { error }),
    fuelUsed: fuel.used(),
    durationMs: performance.now() - startedAt,
    seed: spec.seed,
    stderr: wasi.stderr.toBytes(),
    stderrTruncated: wasi.stderrTruncated,
    deterministic: frame?.deterministic ?? true,
  };
  return { outcome, clean: error === undefined && thrown === NOTHING_THROWN && halt === null };
}

/**
 * A new instance: with its own memory when the module defines one, or with a zeroed memory from
 * this thread's pool when it imports it. A memory whose instantiation failed goes back to the
 * pool: it holds whatever data segments were written before the failing one, which the zeroing
 * at take erases.
 */
function instantiateFresh(
  module: WebAssembly.Module,
  plan: LinkPlan,
  shape: MemoryShape | null,
): WebAssembly.Instance {
  if (shape === null) return instantiate(module, plan.importObject);
  const memory = threadMemoryPool.take(module, shape);
  try {
    return instantiate(module, importsWithMemory(plan, memory));
  } catch (error) {
    threadMemoryPool.give(module, memory, shape);
    throw error;
  }
}

function instantiate(module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.Instance {
  try {
    return new WebAssembly.Instance(module, imports);
  } catch (error) {
    if (error instanceof WebAssembly.LinkError) {
      throw new GojinnError('invalid_module', `module does not link: ${error.message}`);
    }
    // A data or element segment out of bounds traps during instantiation.
    if (error instanceof WebAssembly.RuntimeError) throw new GojinnError('trap', `trap: ${error.message}`);
    throw error;
  }
}
