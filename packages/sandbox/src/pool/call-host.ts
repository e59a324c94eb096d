import type { MessagePort } from 'node:worker_threads';
import { GojinnError } from '@gojinn/errors';
import { awaitReply, postRequest } from './host-mailbox.ts';
import { MAX_HOST_METHOD_LENGTH } from './pool-options.ts';
import type { WorkerMessage } from './protocol.ts';
import type { SharedState } from './shared-state.ts';

/**
 * The guest side of the host-call bridge: runs inside a pool worker, on the thread that runs
 * the guest. Host functions linked into a guest call `callHost` and see a blocking call while
 * the handler on the main thread may be async (a database, the network).
 */

interface BridgeEndpoint {
  port: MessagePort;
  shared: SharedState;
  maxPayloadBytes: number;
}

let endpoint: BridgeEndpoint | undefined;
/** Sequence number of the task whose guest is running, 0 between tasks. */
let activeSeq = 0;
let lastCallId = 0;

/** Called once by the pool worker at start-up. */
export function attachHostBridge(port: MessagePort, shared: SharedState, maxPayloadBytes: number): void {
  endpoint = { port, shared, maxPayloadBytes };
}

/** Called by the pool worker around each task, so a call is tagged with the task that made it. */
export function setActiveTask(seq: number): void {
  activeSeq = seq;
}

/**
 * Calls `method` on the main thread's host handler for the running invocation and blocks until
 * it answers. Returns the handler's bytes; throws a GojinnError with the handler's code (or
 * `internal` when the handler failed without one). The invocation's timeout keeps running
 * while this blocks: when it expires the worker is stopped, so this never returns.
 *
 * @throws GojinnError('output_limit') when `payload` exceeds maxHostCallPayloadBytes
 */
export function callHost(method: string, payload: Uint8Array): Uint8Array {
  if (endpoint === undefined || activeSeq === 0) {
    throw new GojinnError('internal', 'callHost used outside an invocation running in a pool worker');
  }
  if (typeof method !== 'string' || method.length === 0 || method.length > MAX_HOST_METHOD_LENGTH) {
    throw new GojinnError(
      'internal',
      `host call method name must be 1 to ${MAX_HOST_METHOD_LENGTH} characters`,
    );
  }
  if (!(payload instanceof Uint8Array)) {
    throw new GojinnError('internal', `host call ${method} payload must be a Uint8Array`);
  }
  if (payload.byteLength > endpoint.maxPayloadBytes) {
    throw new GojinnError(
      'output_limit',
      `host call ${method} payload is ${payload.byteLength} bytes; limit maxHostCallPayloadBytes is ${endpoint.maxPayloadBytes} bytes`,
    );
  }
  lastCallId = lastCallId >= 0x7fffffff ? 1 : lastCallId + 1;
  postRequest(endpoint.shared, lastCallId, payload);
  const message: WorkerMessage = { type: 'host', seq: activeSeq, callId: lastCallId, method };
  endpoint.port.postMessage(message);
  return awaitReply(endpoint.shared);
}
