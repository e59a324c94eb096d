/**
 * One sandbox with a real worker pool whose workers load the capabilities' host imports, a
 * dispatcher that records every log record and counter, and helpers to run the driver guest.
 */
import type { Capability } from '@gojinn/abi';
import { keyPairFromSeed } from '@gojinn/manifest';
import {
  Sandbox,
  type HostHandler,
  type InvocationOutcome,
  type InvocationSpec,
  type PreparedModule,
} from '@gojinn/sandbox';
import {
  HostCallDispatcher,
  type HostCallDispatcherOptions,
  type InvocationHost,
} from '../../src/dispatcher.ts';
import type { CapabilityRights, ModuleIdentity } from '../../src/handler.ts';
import { HOST_IMPORTS_URL } from '../../src/index.ts';
import type { LogRecord } from '../../src/observability.ts';
import {
  decodeResults,
  driverGuest,
  encodeScript,
  type CallResult,
  type ScriptCall,
} from './driver-guest.ts';

/** Two real publisher keys (fixed seeds), text form. */
export const PUBLISHER_A = keyPairFromSeed(new Uint8Array(32).fill(1)).publicKey;
export const PUBLISHER_B = keyPairFromSeed(new Uint8Array(32).fill(2)).publicKey;

export function moduleIdentity(name = 'app', publisher = PUBLISHER_A): ModuleIdentity {
  return { name, publisher, hash: 'f'.repeat(64) };
}

export const TRACE_ID = '0123456789abcdef0123456789abcdef';

export interface RunOptions {
  module?: ModuleIdentity;
  fuel?: bigint;
  /** Capabilities to link against instead of the dispatcher's `granted`. */
  granted?: readonly Capability[];
  timeoutMs?: number;
  /** The dispatcher's deadline, ms from now (default: timeoutMs, else 5000). */
  deadlineMs?: number;
}

export interface Counted {
  name: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * What the pool passes a host handler, for tests that call a dispatcher's handler directly on
 * the main thread (many calls in flight at once, without workers). The dispatcher reads only
 * the signal; the spec is a placeholder.
 */
export function handlerContext(
  signal: AbortSignal = new AbortController().signal,
): Parameters<HostHandler>[2] {
  return { spec: {} as InvocationSpec, signal };
}

export class Harness {
  readonly sandbox: Sandbox;
  dispatcher: HostCallDispatcher;
  readonly records: LogRecord[] = [];
  readonly counted: Counted[] = [];
  readonly #drivers = new Map<string, PreparedModule>();

  constructor(options: Omit<HostCallDispatcherOptions, 'log' | 'counters'> = {}, poolSize = 1) {
    this.sandbox = new Sandbox({ pool: { size: poolSize, hostImportsUrl: HOST_IMPORTS_URL } });
    this.dispatcher = this.newDispatcher(options);
  }

  /** A dispatcher reporting to this harness's records and counters (replaces `dispatcher`). */
  newDispatcher(options: Omit<HostCallDispatcherOptions, 'log' | 'counters'>): HostCallDispatcher {
    this.dispatcher = new HostCallDispatcher({
      ...options,
      log: (record) => this.records.push(record),
      counters: (name, labels) => this.counted.push({ name, labels }),
    });
    return this.dispatcher;
  }

  /** Records of one type, for assertions. */
  recordsOf<T extends LogRecord['type']>(type: T): Extract<LogRecord, { type: T }>[] {
    return this.records.filter((record): record is Extract<LogRecord, { type: T }> => record.type === type);
  }

  async driver(functions: readonly string[]): Promise<PreparedModule> {
    const key = functions.join(',');
    let prepared = this.#drivers.get(key);
    if (prepared === undefined) {
      prepared = this.sandbox.prepare(await driverGuest(functions));
      this.#drivers.set(key, prepared);
    }
    return prepared;
  }

  /** Runs a prepared guest through the pool with a handler of this harness's dispatcher. */
  async invoke(
    prepared: PreparedModule,
    stdin: Uint8Array,
    rights: CapabilityRights,
    options: RunOptions = {},
  ): Promise<{ outcome: InvocationOutcome; host: InvocationHost }> {
    const host = this.dispatcher.forInvocation({
      module: options.module ?? moduleIdentity(),
      rights,
      traceId: TRACE_ID,
      deadline: Date.now() + (options.deadlineMs ?? options.timeoutMs ?? 5000),
    });
    const outcome = await this.sandbox.invoke(prepared, stdin, {
      granted: options.granted ?? host.granted,
      hostHandler: host.handler,
      limits: {
        ...(options.fuel === undefined ? {} : { fuel: options.fuel }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      },
    });
    return { outcome, host };
  }

  /** Runs the driver importing `functions` with `calls` as its script. */
  async run(
    functions: readonly string[],
    calls: readonly ScriptCall[],
    rights: CapabilityRights,
    options: RunOptions = {},
  ): Promise<{ outcome: InvocationOutcome; results: CallResult[] | undefined; host: InvocationHost }> {
    const prepared = await this.driver(functions);
    const { outcome, host } = await this.invoke(prepared, encodeScript(functions, calls), rights, options);
    const results = outcome.ok ? decodeResults(calls, outcome.response?.body ?? '') : undefined;
    return { outcome, results, host };
  }

  close(): Promise<void> {
    return this.sandbox.close();
  }
}
