/**
 * The worker-side `gojinn` host functions (PoolOptions.hostImportsUrl points here). Each one
 * reads the guest's request out of its memory, charges fuel, makes one synchronous `callHost`
 * round trip to the main-thread dispatcher, and writes the response back — or holds it for
 * `result_take` when it does not fit. docs/guest-abi.md, "Host functions", is the contract.
 *
 * Charging happens before the round trip (base + request bytes), so a guest that cannot pay
 * never causes a side effect; response bytes are charged when they arrive.
 */
import { HOST_ERRNO, HOST_FUNCTIONS } from '@gojinn/abi';
import { GojinnError } from '@gojinn/errors';
import type { HostCallContext, HostFunction, HostImports } from '@gojinn/sandbox';
// The sandbox's index does not re-export the worker half of the bridge yet; this must be the
// very module instance the pool worker attached, which the same file URL guarantees.
import { callHost } from '../../sandbox/src/pool/call-host.ts';
import {
  HOST_CALL_BASE_FUEL,
  HOST_CALL_BYTE_FUEL,
  HOST_CALL_MAX_REQUEST_BYTES,
  MAX_LOG_MESSAGE_BYTES,
} from './limits.ts';
import { FLAG_NONDETERMINISTIC, decodeReply, encodeLogRequest } from './wire.ts';

const FOUR_GIB = 2 ** 32;

/** Per-invocation state, keyed by the invocation's HostCallContext (one per invocation, dropped with it). */
interface InvocationState {
  /** The response a call held back with -TOO_SMALL, until result_take or the next call. */
  held: Uint8Array | undefined;
}

const states = new WeakMap<HostCallContext, InvocationState>();

function stateOf(ctx: HostCallContext): InvocationState {
  let state = states.get(ctx);
  if (state === undefined) {
    state = { held: undefined };
    states.set(ctx, state);
  }
  return state;
}

/**
 * Traps (through the context's bounds check) unless `[ptr, ptr + len)` lies in guest memory,
 * without copying it: checked before a call so that a bad output buffer never follows a side effect.
 */
function checkRange(ctx: HostCallContext, ptr: number, len: number): void {
  const start = ptr >>> 0;
  const length = len >>> 0;
  if (length === 0 || start + length > FOUR_GIB) {
    ctx.read(ptr, length === 0 ? 0 : len); // throws for any range past 4 GiB
    return;
  }
  ctx.read(start, 0);
  ctx.read(start + length - 1, 1);
}

function bytesFuel(bytes: number): bigint {
  return BigInt(bytes) * HOST_CALL_BYTE_FUEL;
}

/** One capability call: fn(req_ptr, req_len, out_ptr, out_cap) → bytes written | -errno. */
function capabilityCall(name: string): HostFunction {
  return (ctx, reqPtr = 0, reqLen = 0, outPtr = 0, outCap = 0) => {
    const state = stateOf(ctx);
    state.held = undefined;
    const requestLength = reqLen >>> 0;
    checkRange(ctx, reqPtr, reqLen);
    checkRange(ctx, outPtr, outCap);
    if (requestLength > HOST_CALL_MAX_REQUEST_BYTES) return -HOST_ERRNO.LIMIT;
    ctx.chargeFuel(HOST_CALL_BASE_FUEL + bytesFuel(requestLength));
    const reply = decodeReply(callHost(name, ctx.read(reqPtr, reqLen)));
    if ((reply.flags & FLAG_NONDETERMINISTIC) !== 0) ctx.markNonDeterministic(`gojinn.${name}`);
    if (reply.status < 0) return reply.status;
    const body = reply.body;
    ctx.chargeFuel(bytesFuel(body.byteLength));
    if (body.byteLength > outCap >>> 0) {
      state.held = body;
      return -HOST_ERRNO.TOO_SMALL;
    }
    ctx.write(outPtr, body);
    return body.byteLength;
  };
}

/** result_take(out_ptr, out_cap) → size of the held response (written iff size ≤ out_cap) | -NO_RESULT. */
const resultTake: HostFunction = (ctx, outPtr = 0, outCap = 0) => {
  const state = stateOf(ctx);
  const held = state.held;
  if (held === undefined) return -HOST_ERRNO.NO_RESULT;
  if (held.byteLength <= outCap >>> 0) {
    ctx.write(outPtr, held);
    state.held = undefined;
  }
  return held.byteLength;
};

/**
 * log(level, msg_ptr, msg_len) → 0. Always 0: whether a line was kept or dropped by a rate
 * limit depends on other invocations and the clock, which the guest must not observe.
 */
const log: HostFunction = (ctx, level = 0, ptr = 0, len = 0) => {
  const fullLength = len >>> 0;
  checkRange(ctx, ptr, len);
  const kept = Math.min(fullLength, MAX_LOG_MESSAGE_BYTES);
  ctx.chargeFuel(HOST_CALL_BASE_FUEL + bytesFuel(kept));
  try {
    callHost('log', encodeLogRequest(level, fullLength, ctx.read(ptr, kept)));
  } catch (error) {
    // An invocation run without a dispatcher has nowhere to log: drop the line, keep running.
    if (!(error instanceof GojinnError && error.code === 'capability_denied')) throw error;
  }
  return 0;
};

function buildHostImports(): HostImports {
  const imports: Record<string, HostFunction> = { log, result_take: resultTake };
  for (const [name, spec] of Object.entries(HOST_FUNCTIONS)) {
    if (spec.capability !== 'log') imports[name] = capabilityCall(name);
  }
  return Object.freeze(imports);
}

/** What the pool worker loads: every `gojinn` function, each a proxy to the main-thread dispatcher. */
export const hostImports: HostImports = buildHostImports();
