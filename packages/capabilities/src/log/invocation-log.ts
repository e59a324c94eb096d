/**
 * Guest logging for one invocation: `gojinn.log` lines and `gojinn.debug_event` events become
 * structured records (module, trace id, level, message), bounded per invocation (lines and
 * bytes) and per module (a shared rate). Over a limit, lines are dropped and counted, and one
 * `guest_log_dropped` record says so; the guest is not told (log always returns 0).
 */
import type { ModuleIdentity } from '../handler.ts';
import type { CounterSink, GuestLogDropReason, GuestLogLevel, LogSink } from '../observability.ts';
import type { ModuleLogRates } from './module-log-rates.ts';
import { utf8BoundaryLength } from './utf8-cut.ts';

export interface GuestLogLimits {
  /** Lines (log and debug events together) one invocation may log. */
  linesPerInvocation: number;
  /** Bytes of message one invocation may log. */
  bytesPerInvocation: number;
  /** Lines per second one module may log across all its invocations (the bucket's refill). */
  moduleLinesPerSecond: number;
  /** Lines a module may log in a burst (the bucket's size). */
  moduleBurstLines: number;
}

export const DEFAULT_GUEST_LOG_LIMITS: Readonly<GuestLogLimits> = Object.freeze({
  linesPerInvocation: 100,
  bytesPerInvocation: 64 * 1024,
  moduleLinesPerSecond: 100,
  moduleBurstLines: 1000,
});

/** gojinn.log levels 0..3; a level below 0 logs as debug, above 3 as error. */
const LEVELS: readonly GuestLogLevel[] = ['debug', 'info', 'warn', 'error'];

export function guestLogLevel(level: number): GuestLogLevel {
  return LEVELS[Math.max(0, Math.min(LEVELS.length - 1, level))] as GuestLogLevel;
}

const decoder = new TextDecoder();

export interface InvocationLogInit {
  module: ModuleIdentity;
  traceId: string;
  /** debug.enable is among the invocation's effective rights: debug lines are kept. */
  debugEnabled: boolean;
  limits: GuestLogLimits;
  rates: ModuleLogRates;
  sink: LogSink;
  counters: CounterSink;
}

export class InvocationLog {
  readonly #init: InvocationLogInit;
  readonly #moduleKey: string;
  #lines = 0;
  #bytes = 0;
  #droppedReported = false;

  constructor(init: InvocationLogInit) {
    this.#init = init;
    this.#moduleKey = `${init.module.publisher}/${init.module.name}`;
  }

  /** One gojinn.log line. `fullLength` is the message's length in the guest (more when it was cut). */
  line(level: number, message: Uint8Array, fullLength: number): void {
    const { module, traceId, sink } = this.#init;
    const name = guestLogLevel(level);
    if (name === 'debug' && !this.#init.debugEnabled) {
      this.#count('debug_not_enabled');
      return;
    }
    const truncated = fullLength > message.byteLength;
    const text = this.#admit(message, truncated);
    if (text === undefined) return;
    sink({ type: 'guest_log', level: name, module, traceId, message: text, truncated });
  }

  /** One gojinn.debug_event event (only reachable when debug.enable is granted and allowed). */
  event(message: Uint8Array, truncated: boolean): void {
    const { module, traceId, sink } = this.#init;
    const text = this.#admit(message, truncated);
    if (text === undefined) return;
    sink({ type: 'debug_event', module, traceId, event: text, truncated });
  }

  get lines(): number {
    return this.#lines;
  }

  /** The message as text if the limits admit it; a cut message is cut back to a character boundary. */
  #admit(message: Uint8Array, truncated: boolean): string | undefined {
    const { limits, rates } = this.#init;
    if (this.#lines >= limits.linesPerInvocation) return this.#drop('invocation_lines');
    if (this.#bytes + message.byteLength > limits.bytesPerInvocation) return this.#drop('invocation_bytes');
    if (!rates.take(this.#moduleKey)) return this.#drop('module_rate');
    this.#lines++;
    this.#bytes += message.byteLength;
    this.#init.counters('guest_log_lines_total', { module: this.#init.module.name });
    return decoder.decode(truncated ? message.subarray(0, utf8BoundaryLength(message)) : message);
  }

  #drop(reason: GuestLogDropReason): undefined {
    this.#count(reason);
    if (!this.#droppedReported) {
      this.#droppedReported = true;
      const { module, traceId } = this.#init;
      this.#init.sink({ type: 'guest_log_dropped', module, traceId, reason });
    }
    return undefined;
  }

  #count(reason: GuestLogDropReason): void {
    this.#init.counters('guest_log_dropped_total', { module: this.#init.module.name, reason });
  }
}
