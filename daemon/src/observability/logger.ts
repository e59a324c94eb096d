import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger } from 'pino';
import { createScrubber } from './redaction.ts';
import { redactSensitiveFields } from './sensitive-fields.ts';

/** The levels of `logging.level` (pino's, lowest first); `silent` writes nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The node's logger: pino's, writing one JSON object per line. */
export type NodeLogger = Logger;

export interface NodeLoggerOptions {
  /** Lowest level written (`logging.level`). */
  level: LogLevel;
  /**
   * Where lines go. Default: stderr, written synchronously, so the lines before a crash or an
   * exit are not lost in a buffer.
   */
  destination?: DestinationStream;
  /**
   * The sensitive strings to scrub from every line (admin token, master key, decrypted secret
   * values, API keys), read on each line written, so values registered later are covered. A
   * `SensitiveStrings` set fits: `secrets: () => sensitive`.
   */
  secrets: () => Iterable<string>;
  /** Fields on every line (e.g. `{ peerId }`); pid and hostname are always there. */
  base?: Record<string, string | number | boolean>;
}

/**
 * Creates the node's logger (docs/observability.md): JSON lines with `level` as its name
 * (`"info"`), an ISO `time`, `pid`, `hostname`, the `base` fields, then the line's own fields
 * and `msg`. Errors go under `err` (or `error`) with type, message, stack and cause.
 * Credential-named fields (SENSITIVE_KEYS) are replaced by `[redacted]`, and then every
 * registered sensitive string is scrubbed from the serialized line — at every level.
 */
export function createNodeLogger(options: NodeLoggerOptions): NodeLogger {
  const scrub = createScrubber(options.secrets);
  const logger = pino(
    {
      level: options.level,
      base: { pid: process.pid, hostname: hostname(), ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        bindings: redactSensitiveFields,
        log: redactSensitiveFields,
      },
      serializers: { err: pino.stdSerializers.errWithCause, error: pino.stdSerializers.errWithCause },
      hooks: { streamWrite: scrub },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
  // pino gives children no bindings formatter (it formats only `base`), so a child's bindings
  // are walked here. Children are made by Object.create(parent): grandchildren inherit this.
  const originalChild = logger.child as unknown as ChildFunction;
  logger.child = function (this: NodeLogger, bindings: Record<string, unknown>, childOptions?: unknown) {
    return originalChild.call(this, redactSensitiveFields(bindings), childOptions);
  } as unknown as NodeLogger['child'];
  return logger;
}

type ChildFunction = (this: NodeLogger, bindings: Record<string, unknown>, options?: unknown) => NodeLogger;
