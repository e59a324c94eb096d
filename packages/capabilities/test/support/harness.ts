/**
 * One sandbox with a real worker pool whose workers load the capabilities' host imports, a
 * dispatcher that records every log record and counter, and helpers to run the driver guest.
 */
import type { Capability } from '@gojinn/abi';
import { keyPairFromSeed } from '@gojinn/manifest';
import { Sandbox, type InvocationOutcome, type PreparedModule } from '@gojinn/sandbox';
import { HostCallDispatcher, type HostCallDispatcherOptions } from '../../src/dispatcher.ts';
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

export interface Counted {
  name: string;
  labels: Readonly<Record<string, string>>;
}

export class Harness {
  readonly sandbox: Sandbox;
  readonly dispatcher: HostCallDispatcher;
  readonly records: LogRecord[] = [];
  readonly counted: Counted[] = [];
  readonly #drivers = new Map<string, PreparedModule>();

  constructor(options: Omit<HostCallDispatcherOptions, 'log' | 'counters'> = {}, poolSize = 1) {
    this.sandbox = new Sandbox({ pool: { size: poolSize, hostImportsUrl: HOST_IMPORTS_URL } });
    this.dispatcher = new HostCallDispatcher({
      ...options,
      log: (record) => this.records.push(record),
      counters: (name, labels) => this.counted.push({ name, labels }),
    });
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

  /** Runs the driver importing `functions` through the pool with the dispatcher's handler. */
  async run(
    functions: readonly string[],
    calls: readonly ScriptCall[],
    rights: CapabilityRights,
    options: {
      module?: ModuleIdentity;
      fuel?: bigint;
      granted?: readonly Capability[];
      timeoutMs?: number;
    } = {},
  ): Promise<{ outcome: InvocationOutcome; results: CallResult[] | undefined; denials: number }> {
    const prepared = await this.driver(functions);
    const host = this.dispatcher.forInvocation({
      module: options.module ?? moduleIdentity(),
      rights,
      traceId: '0123456789abcdef0123456789abcdef',
      deadline: Date.now() + (options.timeoutMs ?? 5000),
    });
    const outcome = await this.sandbox.invoke(prepared, encodeScript(functions, calls), {
      granted: options.granted ?? host.granted,
      hostHandler: host.handler,
      limits: {
        ...(options.fuel === undefined ? {} : { fuel: options.fuel }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      },
    });
    const results = outcome.ok ? decodeResults(calls, outcome.response?.body ?? '') : undefined;
    return { outcome, results, denials: host.denials };
  }

  close(): Promise<void> {
    return this.sandbox.close();
  }
}
