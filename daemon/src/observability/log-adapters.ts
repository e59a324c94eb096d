import type { LogRecord, LogSink } from '@gojinn/capabilities';
import type { NodeLogger } from './logger.ts';

/**
 * Adapters from the parts' log callbacks to the node's logger. Each line carries an `event`
 * naming what happened (docs/observability.md lists them) and a fixed `msg`: text a guest chose
 * (its log line, its debug event) stays in its own field, so it can never pose as a node message.
 */

/** Longest runtime `type` of an unexpected record echoed into the log. */
const MAX_UNKNOWN_TYPE_LENGTH = 64;

/**
 * The HostCallDispatcher's `log` option: guest log lines at the guest's level, debug events at
 * debug, dropped guest lines and denied host calls at warn, handler failures at error.
 */
export function logRecordSink(logger: NodeLogger): LogSink {
  return (record: LogRecord) => {
    switch (record.type) {
      case 'guest_log':
        logger[record.level](
          {
            event: 'guest_log',
            module: record.module,
            traceId: record.traceId,
            message: record.message,
            truncated: record.truncated,
          },
          'guest log line',
        );
        return;
      case 'debug_event':
        logger.debug(
          {
            event: 'debug_event',
            module: record.module,
            traceId: record.traceId,
            debugEvent: record.event,
            truncated: record.truncated,
          },
          'guest debug event',
        );
        return;
      case 'guest_log_dropped':
        logger.warn(
          {
            event: 'guest_log_dropped',
            module: record.module,
            traceId: record.traceId,
            reason: record.reason,
          },
          'guest log lines dropped for the rest of this invocation',
        );
        return;
      case 'security':
        logger.warn(
          {
            event: record.event,
            module: record.module,
            traceId: record.traceId,
            capability: record.capability,
            function: record.function,
            reason: record.reason,
          },
          'host call denied',
        );
        return;
      case 'host_error':
        logger.error(
          {
            event: 'host_error',
            module: record.module,
            traceId: record.traceId,
            capability: record.capability,
            function: record.function,
            error: record.error,
          },
          'host call failed in the node',
        );
        return;
      default: {
        // A record type added to the capabilities package and not yet here: still seen.
        const type = (record as { type?: unknown }).type;
        logger.warn(
          { event: 'unknown_log_record', type: String(type).slice(0, MAX_UNKNOWN_TYPE_LENGTH) },
          'log record of an unknown type',
        );
      }
    }
  };
}

/** The gateway's `events.internalError`: an error hidden from the caller (500 internal). */
export function internalErrorLogger(
  logger: NodeLogger,
): (error: unknown, context: { name: string; traceId: string }) => void {
  return (error, context) => {
    logger.error(
      {
        event: 'gateway_internal_error',
        function: context.name,
        traceId: context.traceId,
        err: asError(error),
      },
      'gateway internal error (the caller got 500 internal)',
    );
  };
}

/** Keys every line already has: a part's field of the same name is written as `<key>_`. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'event']);

/**
 * A `(level, event, fields)` callback for the parts that log named events (the mesh peer's
 * `log` option): one line at `level` with `event` and the fields; `msg` is the event name.
 */
export function eventLogger(
  logger: NodeLogger,
): (
  level: 'debug' | 'info' | 'warn' | 'error',
  event: string,
  fields: Readonly<Record<string, unknown>>,
) => void {
  return (level, event, fields) => {
    const line: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) line[RESERVED_KEYS.has(key) ? `${key}_` : key] = value;
    line.event = event;
    logger[level](line, event);
  };
}

/** A thrown value as something the `err` serializer prints (anything can be thrown). */
function asError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  let text: string;
  try {
    text = String(thrown);
  } catch {
    text = Object.prototype.toString.call(thrown);
  }
  return new Error(`non-Error thrown: ${text}`);
}
