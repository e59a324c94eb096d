import type { GojinnError } from '@gojinn/errors';

/** Why the shim (or a host function) stopped the guest. The first one recorded decides the outcome. */
export type HaltReason =
  | { kind: 'exit'; status: number }
  | { kind: 'output_limit' }
  | { kind: 'fuel_exhausted' }
  | { kind: 'host_error'; error: GojinnError };

/**
 * Thrown from inside a host call to unwind the guest. Not an Error subclass: `proc_exit(0)` is
 * how many toolchains end every run, so stopping must not pay for a stack capture.
 *
 * A guest cannot turn a halt into success by catching it (were exception handling ever
 * admitted): the reason is recorded in the invocation's context before the throw, and the
 * runtime consults that record, not the way the guest's call ended.
 */
export class GuestHalt {
  readonly reason: HaltReason;

  constructor(reason: HaltReason) {
    this.reason = reason;
  }
}
