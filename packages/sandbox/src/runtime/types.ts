import type { Capability } from '@gojinn/abi';
import type { ErrorInfo } from '@gojinn/errors';
import type { InvocationLimits } from '../limits.ts';

/** The request a guest reads on stdin (the Gojinn guest contract, docs/guest-abi.md). */
export interface GuestRequest {
  method: string;
  uri: string;
  headers: Record<string, string>;
  body: string;
  trace_id: string;
}

/** The response a guest writes on stdout. */
export interface GuestResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What a host function may do to the invocation that called it. */
export interface HostCallContext {
  /** Reads guest memory (bounds-checked; throws a trap on out-of-bounds). */
  read(ptr: number, len: number): Uint8Array;
  /** Writes into guest memory (bounds-checked). */
  write(ptr: number, bytes: Uint8Array): void;
  /** Charges fuel for host work; throws fuel_exhausted when it runs out. */
  chargeFuel(units: bigint): void;
  /**
   * Declares that this invocation saw something not derived from its inputs and seed (the real
   * clock, the network, data that changes): its outcome is reported `deterministic: false`.
   */
  markNonDeterministic(reason: string): void;
}

/**
 * A `gojinn` host function as the embedder provides it: the invocation's context first, then the
 * guest's arguments (i32 values; HOST_FUNCTIONS in @gojinn/abi has the signatures). It returns the
 * i32 result. Throwing a GojinnError fails the invocation with that error; any other throw fails
 * it as `internal`.
 */
export type HostFunction = (ctx: HostCallContext, ...args: number[]) => number;

/**
 * Host functions the embedder offers for one invocation, by `gojinn` function name. In a
 * worker these are proxies through the host-call bridge; the functions themselves live on the
 * main thread and may be async there. A function is linked only if its capability is granted.
 */
export type HostImports = Readonly<Record<string, HostFunction>>;

/**
 * What the runtime needs to know about a module that its compiled form does not say. The
 * `ModuleInfo` that prepareWasm returns satisfies it.
 */
export interface RuntimeModuleInfo {
  /** The module's own memory (initial size in 64 KiB pages), or null when it defines none. */
  memory: { initialPages: number } | null;
}

/** Everything one invocation needs besides the compiled module. Plain data: it crosses threads. */
export interface InvocationSpec {
  /** Content hash (hex sha-256) of the original module bytes, the compiled-module cache key. */
  moduleHash: string;
  /** The request JSON bytes exactly as the guest will read them on stdin. */
  stdin: Uint8Array;
  limits: InvocationLimits;
  /** 32 bytes, hex. Derives the guest's clock and random_get stream. */
  seed: string;
  /** Capabilities the guest may link against (declared ∩ granted ∩ any peer ceiling). */
  granted: readonly Capability[];
  /** The guest's argv[0] (e.g. the module's name); "gojinn-guest" when absent. */
  programName?: string;
  /**
   * false: always run in a fresh instance. Absent or true: reuse an idle instance of the module,
   * reset to its initial state, when the module allows it (docs/sandbox.md, "Instance reuse").
   */
  reuseInstances?: boolean;
}

/** What an invocation produced. `fuelUsed` counts start function, `_start` and host calls. */
export interface InvocationOutcome {
  ok: boolean;
  response?: GuestResponse;
  error?: ErrorInfo;
  fuelUsed: bigint;
  durationMs: number;
  seed: string;
  /** Guest stderr, truncated to limits.maxStderrBytes. */
  stderr: Uint8Array;
  stderrTruncated: boolean;
  /** False when a non-deterministic capability (net.http, real clock) was used. */
  deterministic: boolean;
}
