import { GojinnError, toErrorInfo, type ErrorInfo } from '@gojinn/errors';
import { WASM_PAGE_BYTES } from '../limits.ts';
import { METER_EXPORTS } from '../meter-abi.ts';
import { DEFAULT_PROGRAM_NAME, FuelMeter, WasiContext } from '../wasi/index.ts';
import { ACTIVE } from './active-invocation.ts';
import { classifyFailure } from './failure.ts';
import { HostCallFrame } from './host-call-frame.ts';
import { threadInstancePool } from './instance-pool.ts';
import { checkGrants, linkPlanFor } from './linker.ts';
import { parseGuestResponse } from './response.ts';
import { parseSeed } from './seed.ts';
import type { HostImports, InvocationOutcome, InvocationSpec, RuntimeModuleInfo } from './types.ts';

/** Pages a 32-bit memory can have at most: the ceiling handed to the guest never exceeds it. */
const MAX_MEMORY_PAGES = 65536;

const NOTHING_THROWN = Symbol('nothing thrown');

/**
 * Runs one invocation of a prepared module, synchronously, in this thread: link (deny by
 * default), a fresh instance (or a reused one restored to exactly the state of a fresh one,
 * instance-pool.ts), the start function and `_start` under the invocation's fuel and memory
 * ceiling, then the guest's stdout parsed into a response. Never throws: every failure is an
 * outcome with a stable error code. Knows nothing of workers or timeouts (the pool stops a
 * guest that runs too long by terminating its thread).
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

  const pool = spec.reuseInstances === false ? null : threadInstancePool;
  let instance = pool?.take(module) ?? null;
  let returnable = instance !== null;
  if (instance === null) {
    instance = instantiate(module, plan.importObject);
    returnable = pool?.adopt(module, instance) ?? false;
  }
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
  // Only a clean success returns the instance: after a trap, an exit or any failure its state
  // is not worth reasoning about, so it is dropped.
  if (returnable && error === undefined && thrown === NOTHING_THROWN && halt === null) {
    pool?.give(module, instance);
  }
  return {
    ok: error === undefined,
    ...(error === undefined ? { response } : { error }),
    fuelUsed: fuel.used(),
    durationMs: performance.now() - startedAt,
    seed: spec.seed,
    stderr: wasi.stderr.toBytes(),
    stderrTruncated: wasi.stderrTruncated,
    deterministic: frame?.deterministic ?? true,
  };
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
