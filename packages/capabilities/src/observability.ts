/**
 * Where the host-call layer reports to: structured log records and counters. The daemon
 * connects these to its JSON log and its Prometheus metrics; tests collect them.
 *
 * Records never carry a guest's request or response data (keys, values, URLs, secret values),
 * except `guest_log` and `debug_event`, whose message is what the guest chose to log.
 */
import type { Capability } from '@gojinn/abi';
import type { ModuleIdentity } from './handler.ts';

export type GuestLogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogRecord =
  /** A line the guest logged through gojinn.log. */
  | {
      type: 'guest_log';
      level: GuestLogLevel;
      module: ModuleIdentity;
      traceId: string;
      message: string;
      /** The guest's message was longer than MAX_LOG_MESSAGE_BYTES and was cut. */
      truncated: boolean;
    }
  /** An event from gojinn.debug_event (debug.enable granted and allowed by the node). */
  | { type: 'debug_event'; module: ModuleIdentity; traceId: string; event: string; truncated: boolean }
  /** Once per invocation, when its log lines start being dropped, and why. */
  | { type: 'guest_log_dropped'; module: ModuleIdentity; traceId: string; reason: GuestLogDropReason }
  /** A call refused: outside the granted scope, or a capability not held. No request data. */
  | {
      type: 'security';
      event: 'host_call_denied';
      module: ModuleIdentity;
      traceId: string;
      capability: Capability | 'log';
      function: string;
      reason: string;
    }
  /** A handler failed unexpectedly (a bug or a backend failure); the guest got -UNAVAILABLE. */
  | {
      type: 'host_error';
      module: ModuleIdentity;
      traceId: string;
      capability: Capability;
      function: string;
      error: string;
    };

export type GuestLogDropReason =
  'invocation_lines' | 'invocation_bytes' | 'module_rate' | 'debug_not_enabled';

export type LogSink = (record: LogRecord) => void;

/**
 * Counter increments, Prometheus-style: a metric name and its labels. Names used:
 * `host_calls_total{function,result}` (result: ok or an errno name),
 * `host_calls_denied_total{capability,function,module}`,
 * `guest_log_lines_total{module}`, `guest_log_dropped_total{module,reason}`.
 */
export type CounterSink = (name: string, labels: Readonly<Record<string, string>>) => void;

export const NO_COUNTERS: CounterSink = () => {};
