/**
 * The main-thread side of every `gojinn` host call. One HostCallDispatcher per node holds the
 * capability handlers, the log sinks and the per-module log rates; `forInvocation` builds the
 * sandbox's HostHandler for one invocation from who is calling and what it may do.
 *
 * Each call is checked here before any handler runs — the function's capability must be among
 * the invocation's effective rights, even though the linker already refused modules importing
 * anything else (deny twice, cheaply) — then routed by capability. Handlers see only their own
 * capability's scope. Every denial is counted and logged as a security event without the data.
 */
import { HOST_ERRNO, HOST_FUNCTIONS, type Capability, type HostErrnoName } from '@gojinn/abi';
import { GojinnError } from '@gojinn/errors';
import type { HostHandler } from '@gojinn/sandbox';
import {
  HostCallFailure,
  type AnyCapabilityHandler,
  type CallContext,
  type CapabilityRights,
  type ModuleIdentity,
} from './handler.ts';
import { HOST_CALL_MAX_RESPONSE_BYTES, MAX_LOG_MESSAGE_BYTES } from './limits.ts';
import { DEFAULT_GUEST_LOG_LIMITS, InvocationLog, type GuestLogLimits } from './log/invocation-log.ts';
import { ModuleLogRates } from './log/module-log-rates.ts';
import { NO_COUNTERS, type CounterSink, type LogSink } from './observability.ts';
import { FLAG_NONDETERMINISTIC, decodeLogRequest, encodeReply } from './wire.ts';
import { deadlineSignal } from './deadline-timer.ts';

/** What the pool tells a host handler about the calling invocation (not re-exported by the sandbox's index). */
type HostHandlerContext = Parameters<HostHandler>[2];

export interface HostCallDispatcherOptions {
  /** One handler per capability (kv.read, kv.write, db.query, net.http, secrets.read). */
  handlers?: readonly AnyCapabilityHandler[];
  /** Structured records: guest log lines, debug events, security events, host errors. */
  log: LogSink;
  counters?: CounterSink;
  logLimits?: Partial<GuestLogLimits>;
  /**
   * Whether this node allows debug.enable at all (NodeGrants.allowDebug; never on a strict
   * node). Checked here too, so rights that skipped `effectiveRights` still cannot enable debug.
   * Default false.
   */
  allowDebug?: boolean;
  /** Monotonic clock (ms) for the per-module log rate; tests pass their own. */
  now?: () => number;
}

/** Who runs, with which rights, until when: what the dispatcher needs to serve one invocation. */
export interface InvocationGrant {
  module: ModuleIdentity;
  /** Effective rights (grants.ts `effectiveRights`): declared ∩ granted ∩ any peer ceiling. */
  rights: CapabilityRights;
  /** The request's trace id, carried into every record. */
  traceId: string;
  /** Epoch ms (Date.now clock) when the invocation's time is up; handlers' signals fire then. */
  deadline: number;
}

/** The dispatcher's side of one invocation: hand `granted` and `handler` to `Sandbox.invoke`. */
export interface InvocationHost {
  /** Capabilities the guest may link against: the rights this node can serve (a handler exists). */
  readonly granted: readonly Capability[];
  readonly handler: HostHandler;
  /** False once a handler marked a call non-deterministic (the outcome says so too). */
  readonly deterministic: boolean;
  /** Calls refused with -DENIED so far. */
  readonly denials: number;
}

/** Capabilities served by the dispatcher itself rather than by a registered handler. */
const BUILT_IN: ReadonlySet<Capability> = new Set(['debug.enable']);

const EMPTY = new Uint8Array(0);

export class HostCallDispatcher {
  readonly #parts: DispatcherParts;

  constructor(options: HostCallDispatcherOptions) {
    const handlers = new Map<Capability, AnyCapabilityHandler>();
    for (const handler of options.handlers ?? []) {
      if (BUILT_IN.has(handler.capability) || handlers.has(handler.capability)) {
        throw new GojinnError('internal', `a handler for ${handler.capability} is already registered`);
      }
      handlers.set(handler.capability, handler);
    }
    const logLimits = { ...DEFAULT_GUEST_LOG_LIMITS, ...options.logLimits };
    this.#parts = {
      handlers,
      allowDebug: options.allowDebug ?? false,
      log: options.log,
      counters: options.counters ?? NO_COUNTERS,
      logLimits,
      rates: new ModuleLogRates(logLimits.moduleLinesPerSecond, logLimits.moduleBurstLines, options.now),
    };
  }

  /** Capabilities this dispatcher can serve (registered handlers, and debug.enable when allowed). */
  get served(): readonly Capability[] {
    const parts = this.#parts;
    return [
      ...parts.handlers.keys(),
      ...[...BUILT_IN].filter((c) => c !== 'debug.enable' || parts.allowDebug),
    ].sort();
  }

  forInvocation(grant: InvocationGrant): InvocationHost {
    return new Invocation(this.#parts, grant);
  }
}

interface DispatcherParts {
  handlers: ReadonlyMap<Capability, AnyCapabilityHandler>;
  allowDebug: boolean;
  log: LogSink;
  counters: CounterSink;
  logLimits: GuestLogLimits;
  rates: ModuleLogRates;
}

class Invocation implements InvocationHost {
  readonly granted: readonly Capability[];
  readonly handler: HostHandler;
  readonly #parts: DispatcherParts;
  readonly #grant: InvocationGrant;
  readonly #guestLog: InvocationLog;
  #deterministic = true;
  #denials = 0;

  constructor(parts: DispatcherParts, grant: InvocationGrant) {
    this.#parts = parts;
    this.#grant = grant;
    const held = (Object.keys(grant.rights) as Capability[]).filter(
      (capability) => grant.rights[capability] !== undefined,
    );
    const served = (capability: Capability): boolean =>
      capability === 'debug.enable' ? parts.allowDebug : this.#parts.handlers.has(capability);
    this.granted = Object.freeze(held.filter(served).sort());
    this.#guestLog = new InvocationLog({
      module: grant.module,
      traceId: grant.traceId,
      debugEnabled: this.granted.includes('debug.enable'),
      limits: this.#parts.logLimits,
      rates: this.#parts.rates,
      sink: this.#parts.log,
      counters: this.#parts.counters,
    });
    this.handler = (method, payload, context) => this.#call(method, payload, context);
  }

  get deterministic(): boolean {
    return this.#deterministic;
  }

  get denials(): number {
    return this.#denials;
  }

  async #call(method: string, payload: Uint8Array, context: HostHandlerContext): Promise<Uint8Array> {
    if (method === 'log') return this.#logLine(payload);
    const spec = Object.hasOwn(HOST_FUNCTIONS, method) ? HOST_FUNCTIONS[method] : undefined;
    if (spec === undefined || spec.capability === 'log') {
      // Only our own host imports talk to this handler, and they send known names.
      throw new GojinnError('internal', 'host call to an unknown gojinn function');
    }
    const capability = spec.capability;
    const flags = { value: 0 };
    try {
      if (!this.granted.includes(capability)) {
        throw new HostCallFailure('DENIED', `capability ${capability} is not among the invocation's rights`);
      }
      // The deadline is the invocation's: once it has passed no call starts, however quick it
      // would be (backends stop at the deadline by this same clock: deadline-timer.ts).
      if (Date.now() >= this.#grant.deadline) {
        throw new HostCallFailure('TIMEOUT', 'the invocation reached its deadline');
      }
      const response = await this.#route(capability, method, payload, context, flags);
      if (response.byteLength > HOST_CALL_MAX_RESPONSE_BYTES) {
        throw new HostCallFailure(
          'LIMIT',
          `response of ${response.byteLength} bytes exceeds HOST_CALL_MAX_RESPONSE_BYTES (${HOST_CALL_MAX_RESPONSE_BYTES})`,
        );
      }
      this.#parts.counters('host_calls_total', { function: method, result: 'ok' });
      return encodeReply(0, flags.value, response);
    } catch (error) {
      const errno = this.#failure(capability, method, error, context);
      this.#parts.counters('host_calls_total', { function: method, result: errno });
      return encodeReply(-HOST_ERRNO[errno], flags.value);
    }
  }

  async #route(
    capability: Capability,
    method: string,
    payload: Uint8Array,
    context: HostHandlerContext,
    flags: { value: number },
  ): Promise<Uint8Array> {
    if (capability === 'debug.enable') {
      const truncated = payload.byteLength > MAX_LOG_MESSAGE_BYTES;
      this.#guestLog.event(truncated ? payload.subarray(0, MAX_LOG_MESSAGE_BYTES) : payload, truncated);
      return EMPTY;
    }
    const handler = this.#parts.handlers.get(capability);
    const scope = this.#grant.rights[capability];
    if (handler === undefined || scope === undefined) {
      throw new HostCallFailure('DENIED', `capability ${capability} is not served`);
    }
    const ctx = this.#callContext(capability, method, scope, context, flags);
    return (handler.handle as (m: string, r: Uint8Array, c: CallContext) => Promise<Uint8Array>)(
      method,
      payload,
      ctx,
    );
  }

  #callContext(
    capability: Capability,
    method: string,
    scope: NonNullable<CapabilityRights[Capability]>,
    context: HostHandlerContext,
    flags: { value: number },
  ): CallContext {
    const { module, traceId, deadline } = this.#grant;
    let signal: AbortSignal | undefined;
    const markNondeterministic = (_reason: string): void => {
      flags.value |= FLAG_NONDETERMINISTIC;
      this.#deterministic = false;
    };
    return {
      module,
      capability,
      method,
      scope,
      traceId,
      deadline,
      // Built on first use: most calls (kv) never wait on anything abortable.
      get signal(): AbortSignal {
        signal ??= AbortSignal.any([context.signal, deadlineSignal(deadline)]);
        return signal;
      },
      markNondeterministic,
      deny(reason: string): never {
        throw new HostCallFailure('DENIED', reason);
      },
    };
  }

  /** The errno for a failed call; denials are counted and logged, unexpected errors logged. */
  #failure(
    capability: Capability,
    method: string,
    error: unknown,
    context: HostHandlerContext,
  ): HostErrnoName {
    const { module, traceId, deadline } = this.#grant;
    if (error instanceof HostCallFailure) {
      if (error.errno === 'DENIED') {
        this.#denials++;
        this.#parts.counters('host_calls_denied_total', {
          capability,
          function: method,
          module: module.name,
        });
        this.#parts.log({
          type: 'security',
          event: 'host_call_denied',
          module,
          traceId,
          capability,
          function: method,
          reason: error.message,
        });
      }
      return error.errno;
    }
    // Past the deadline a failure is the deadline's doing (an aborted fetch or query); once the
    // invocation is over nobody reads the reply at all.
    if (Date.now() >= deadline || context.signal.aborted) return 'TIMEOUT';
    this.#parts.log({
      type: 'host_error',
      module,
      traceId,
      capability,
      function: method,
      error: error instanceof Error ? `${error.name}: ${error.message}` : 'non-error thrown',
    });
    return 'UNAVAILABLE';
  }

  #logLine(payload: Uint8Array): Uint8Array {
    const request = decodeLogRequest(payload);
    if (request === undefined) throw new GojinnError('internal', 'malformed gojinn.log request');
    const message =
      request.message.byteLength > MAX_LOG_MESSAGE_BYTES
        ? request.message.subarray(0, MAX_LOG_MESSAGE_BYTES)
        : request.message;
    this.#guestLog.line(request.level, message, Math.max(request.fullLength, request.message.byteLength));
    return encodeReply(0, 0);
  }
}
