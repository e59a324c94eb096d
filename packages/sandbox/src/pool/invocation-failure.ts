import type { ErrorInfo } from '@gojinn/errors';
import type { InvocationOutcome, InvocationSpec } from '../runtime/types.ts';

/**
 * The outcome of an invocation the pool stopped or lost (timeout, crashed worker, runner
 * failure): no response, no fuel figure the pool can vouch for, and never deterministic.
 */
export function failedOutcome(spec: InvocationSpec, error: ErrorInfo, durationMs: number): InvocationOutcome {
  return {
    ok: false,
    error,
    fuelUsed: 0n,
    durationMs,
    seed: spec.seed,
    stderr: new Uint8Array(0),
    stderrTruncated: false,
    deterministic: false,
  };
}
