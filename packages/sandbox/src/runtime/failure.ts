import type { ErrorInfo } from '@gojinn/errors';
import type { FuelMeter, HaltReason } from '../wasi/index.ts';

/** The meter readings that tell one way of failing from another once the guest has stopped. */
export interface MeterReadings {
  fuel: FuelMeter;
  /** `__gojinn_stack` after the run; < 0 ⇒ the call-depth budget ran out. */
  stackRemaining: number;
  /** `__gojinn_stack` before the run: the budget. */
  stackBudget: number;
  /** `__gojinn_memory_denied`: 0, or the page delta (an i32, read unsigned) of the first denied memory.grow. */
  memoryDenied: number;
  ceilingPages: number;
  memoryBytes: number;
  maxStdoutBytes: number;
}

const STACK_EXHAUSTED = /Maximum call stack size exceeded/;

/**
 * Why an invocation that did not finish cleanly failed, as a stable code and a message naming
 * the limit involved. Order matters: what the host recorded (output limit, a host function's
 * error) is certain; then the meters, because instrumented code stops with a plain
 * `unreachable` trap whose cause only the meter globals reveal; then the guest's own exit
 * status; then what V8 threw.
 */
export function classifyFailure(thrown: unknown, halt: HaltReason | null, meters: MeterReadings): ErrorInfo {
  if (halt?.kind === 'output_limit') {
    return {
      code: 'output_limit',
      message: `stdout exceeded limit maxStdoutBytes (${meters.maxStdoutBytes} bytes)`,
    };
  }
  if (halt?.kind === 'host_error') return halt.error.toJSON();
  if (meters.fuel.remaining() < 0n) {
    return { code: 'fuel_exhausted', message: `fuel limit ${meters.fuel.limit} exhausted` };
  }
  if (meters.stackRemaining < 0) {
    return { code: 'stack_overflow', message: `call stack budget of ${meters.stackBudget} units exhausted` };
  }
  if (meters.memoryDenied !== 0) {
    return {
      code: 'memory_limit',
      message:
        `memory.grow by ${meters.memoryDenied >>> 0} pages denied: ceiling is ${meters.ceilingPages} pages ` +
        `(limit memoryBytes ${meters.memoryBytes})`,
    };
  }
  if (halt?.kind === 'exit')
    return { code: 'guest_exit', message: `guest exited with status ${halt.status}` };
  if (thrown instanceof RangeError && STACK_EXHAUSTED.test(thrown.message)) {
    // The budget should always trip first; if the host stack ran out anyway, still say what happened.
    return {
      code: 'stack_overflow',
      message: `call stack exhausted the host stack before the budget of ${meters.stackBudget} units ran out`,
    };
  }
  if (thrown instanceof WebAssembly.RuntimeError) return { code: 'trap', message: `trap: ${thrown.message}` };
  return { code: 'internal', message: 'internal error' };
}
