/**
 * The contract between the host-call dispatcher and the capability handlers (kv, db, http,
 * secrets, debug): what a handler receives for one guest call, and how it answers.
 *
 * A handler runs on the main thread and may be async. It receives the guest's request bytes
 * exactly as the guest wrote them (docs/guest-abi.md gives each function's format), parses them
 * once, bounded, and returns the response bytes. It reports a failure the guest should see by
 * throwing a HostCallFailure (or calling `ctx.deny`); the guest then gets `-HOST_ERRNO[name]`.
 * Anything else it throws is a host failure: logged for the operator, `-UNAVAILABLE` to the guest.
 */
import type { Capability, HostErrnoName } from '@gojinn/abi';
import type { DeclaredCapabilities } from '@gojinn/manifest';

/** Who is calling: the module as the node installed it. */
export interface ModuleIdentity {
  /** The manifest's module name. */
  readonly name: string;
  /** The publisher key, text form `ed25519:<base64url>`. */
  readonly publisher: string;
  /** Hex sha-256 of the module bytes (which version is running). */
  readonly hash: string;
}

/**
 * Capabilities with their scopes, keyed by capability; absent ⇒ not held. The same shape as a
 * manifest's declared capabilities; effective rights (grants.ts) are declared ∩ granted ∩ ceiling.
 */
export type CapabilityRights = DeclaredCapabilities;

/** The scope of one capability: kv prefixes, http host patterns, secret names, or `{}`. */
export type ScopeOf<C extends Capability> = NonNullable<CapabilityRights[C]>;

/**
 * What a handler knows and may do during one guest call. Valid only until `handle` settles.
 * Nothing here carries guest data into logs: `deny` takes a reason written by the handler,
 * which must name the rule that refused (e.g. "key outside kv.read prefixes"), never the key.
 */
export interface CallContext<C extends Capability = Capability> {
  readonly module: ModuleIdentity;
  /** The capability this call exercises (the function's, from HOST_FUNCTIONS). */
  readonly capability: C;
  /** The `gojinn` function the guest called, e.g. `kv_get`. */
  readonly method: string;
  /** The module's effective scope for `capability`: already declared ∩ granted ∩ ceiling. */
  readonly scope: ScopeOf<C>;
  /** The request's trace id (32 hex characters). */
  readonly traceId: string;
  /** Epoch milliseconds (Date.now() clock) at which the invocation's deadline passes. */
  readonly deadline: number;
  /**
   * Aborted when the deadline passes or the invocation ends (finished, timed out, worker
   * died). Pass it to anything that waits (fetch, a query); a handler whose work is aborted
   * may just throw — the guest is gone or gets `-TIMEOUT`.
   */
  readonly signal: AbortSignal;
  /**
   * Declares that this call's result depends on something outside the invocation's inputs,
   * seed and node state (the network, the real clock): the outcome says `deterministic: false`.
   */
  markNondeterministic(reason: string): void;
  /**
   * Refuses the call: counted, logged as a security event (module, capability, function,
   * reason, trace id — no request data), and `-DENIED` to the guest. Never returns.
   */
  deny(reason: string): never;
}

/** Serves the `gojinn` functions of one capability (HOST_FUNCTIONS maps each function to one). */
export interface CapabilityHandler<C extends Capability = Capability> {
  readonly capability: C;
  /**
   * Answers one call of `method` (a function of `capability`). Resolves with the response
   * bytes (at most HOST_CALL_MAX_RESPONSE_BYTES; more ⇒ `-LIMIT` to the guest).
   */
  handle(method: string, request: Uint8Array, ctx: CallContext<C>): Promise<Uint8Array>;
}

/** A handler of any one capability (what the dispatcher holds). */
export type AnyCapabilityHandler = { [C in Capability]: CapabilityHandler<C> }[Capability];

/**
 * A failure the guest is told about, as `-HOST_ERRNO[errno]`. `detail` is for tests and the
 * node's debug log only — it never reaches the guest, and must not carry secret values.
 */
export class HostCallFailure extends Error {
  override readonly name = 'HostCallFailure';
  readonly errno: HostErrnoName;

  constructor(errno: HostErrnoName, detail: string) {
    super(detail);
    this.errno = errno;
  }
}
