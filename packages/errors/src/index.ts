/**
 * The stable error codes of Gojinn (docs/errors.md lists them with their meaning).
 *
 * Every failure that reaches a user — CLI `--json` output, HTTP error bodies, federated
 * replies, logs — carries exactly one of these codes and a message a person can act on.
 * Codes are part of the public contract: never rename one; add a new one when a failure fits
 * none of these, and document it in the same commit.
 */
export const ERROR_CODES = [
  'invalid_module',
  'capability_denied',
  'fuel_exhausted',
  'memory_limit',
  'stack_overflow',
  'timeout',
  'trap',
  'guest_exit',
  'output_limit',
  'bad_response',
  'overloaded',
  'not_found',
  'signature_invalid',
  'untrusted_publisher',
  'revoked',
  'rollback',
  'peer_denied',
  'peer_unreachable',
  'bad_request',
  'unauthorized',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODE_SET.has(value);
}

/** The plain, serialisable shape of an error: what crosses threads, wires and JSON. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
}

/** An error with a stable code. `name` is fixed so it survives structured cloning checks. */
export class GojinnError extends Error {
  override readonly name = 'GojinnError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  toJSON(): ErrorInfo {
    return { code: this.code, message: this.message };
  }

  static fromInfo(info: ErrorInfo): GojinnError {
    return new GojinnError(info.code, info.message);
  }
}

/**
 * Turns anything thrown into an ErrorInfo. Errors that are not GojinnErrors become
 * `internal` with a generic message: their text may carry host details (paths, secrets)
 * that must not reach a caller; log the original where it is caught instead.
 */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof GojinnError) return error.toJSON();
  return { code: 'internal', message: 'internal error' };
}

export { raceAbort } from './race-abort.ts';
