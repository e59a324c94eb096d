import { GojinnError, toErrorInfo, type ErrorInfo } from '@gojinn/errors';
import type { InvocationSpec } from '../runtime/types.ts';
import { takeRequest, writeReply } from './host-mailbox.ts';
import { MAX_HOST_METHOD_LENGTH } from './pool-options.ts';
import type { SharedState } from './shared-state.ts';

/** What a host handler learns about the invocation that called it. */
export interface HostHandlerContext {
  readonly spec: InvocationSpec;
  /** Aborted when the invocation ends for any reason (done, timeout, crash): stop working then. */
  readonly signal: AbortSignal;
}

/**
 * Serves the guest side's `callHost` on the main thread. May be async; its bytes (at most
 * maxHostCallResultBytes) are what `callHost` returns. A GojinnError it throws reaches
 * `callHost` with its code and message; any other throw arrives as `internal`.
 */
export type HostHandler = (
  method: string,
  payload: Uint8Array,
  context: HostHandlerContext,
) => Uint8Array | Promise<Uint8Array>;

/** The main-side view of the invocation that made a host call. */
export interface HostCallOwner {
  readonly spec: InvocationSpec;
  readonly hostHandler: HostHandler | undefined;
  /** Created on the first host call; aborted when the invocation settles. */
  controller: AbortController | undefined;
}

export interface HostCallRequest {
  callId: number;
  method: unknown;
}

/**
 * Copies the request out of `shared`, runs the handler, and writes the reply back only if
 * `stillWaiting()` holds then — never for an invocation that timed out or a worker that died
 * (a replacement worker has its own buffer, so a late reply cannot reach it either way).
 */
export function serveHostCall(
  shared: SharedState,
  request: HostCallRequest,
  owner: HostCallOwner,
  limits: { maxHostCallPayloadBytes: number; maxHostCallResultBytes: number },
  stillWaiting: () => boolean,
): void {
  const { callId, method } = request;
  const payload = takeRequest(shared, callId, limits.maxHostCallPayloadBytes);
  // A request not in the mailbox cannot be answered; the invocation's timeout ends the wait.
  if (payload === undefined) return;
  const fail = (error: ErrorInfo): void => void writeReply(shared, callId, { ok: false, error });
  if (typeof method !== 'string' || method.length === 0 || method.length > MAX_HOST_METHOD_LENGTH) {
    fail({ code: 'internal', message: 'host call with an invalid method name' });
    return;
  }
  const handler = owner.hostHandler;
  if (handler === undefined) {
    fail({
      code: 'capability_denied',
      message: `host call ${method} denied: no host handler for this invocation`,
    });
    return;
  }
  owner.controller ??= new AbortController();
  const context: HostHandlerContext = { spec: owner.spec, signal: owner.controller.signal };
  new Promise<Uint8Array>((resolve) => resolve(handler(method, payload, context))).then(
    (result) => {
      if (!stillWaiting()) return;
      if (!(result instanceof Uint8Array)) {
        fail({ code: 'internal', message: `host handler for ${method} returned something other than bytes` });
      } else if (result.byteLength > limits.maxHostCallResultBytes) {
        fail({
          code: 'internal',
          message: `host call ${method} result is ${result.byteLength} bytes; limit maxHostCallResultBytes is ${limits.maxHostCallResultBytes} bytes`,
        });
      } else {
        writeReply(shared, callId, { ok: true, bytes: result });
      }
    },
    (error: unknown) => {
      if (!stillWaiting()) return;
      fail(error instanceof GojinnError ? error.toJSON() : toErrorInfo(error));
    },
  );
}
