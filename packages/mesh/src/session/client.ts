/**
 * The calling end of one session stream: sends each call as a CALL frame with a fresh id and
 * matches REPLY frames to waiting calls by id, so calls overlap and complete in any order. A
 * call that gives up (deadline, abort) forgets its id and sends CANCEL; a late reply to it is
 * dropped, so nothing desynchronises. The session ends — and every waiting call fails with a
 * clear error — when the stream closes, the server sends CLOSE, or the server breaks the framing.
 */
import type { Stream, StreamMessageEvent } from '@libp2p/interface';
import type { Uint8ArrayList } from 'uint8arraylist';
import { GojinnError } from '@gojinn/errors';
import { FrameError } from '../framing.ts';
import { MAX_ERROR_REPLY_BYTES, PeerCallError, RESPONSE_ERROR, decodeResponse } from '../request-response.ts';
import type { ProtocolSpec } from '../request-response.ts';
import {
  FRAME_CALL,
  FRAME_CANCEL,
  FRAME_CLOSE,
  FRAME_REPLY,
  FrameDecoder,
  MAX_CALL_ID,
  MAX_VARINT_BYTES,
  SESSION_HEADER_BYTES,
  encodeFrame,
  parseFrame,
} from './frames.ts';
import { WriteBatch } from './write-batch.ts';

export interface ClientSessionLimits {
  /** The protocol's short name and id, for messages. */
  name: string;
  id: string;
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** Calls this side keeps waiting on the session at once (the server refuses more). */
  maxCallsPerSession: number;
  /** Closed after this long with no call waiting. */
  idleMs: number;
}

interface Waiting {
  resolve: (payload: Uint8Array) => void;
  reject: (error: unknown) => void;
}

export class ClientSession {
  readonly stream: Stream;
  readonly peer: string;
  readonly limits: Readonly<ClientSessionLimits>;
  readonly #waiting = new Map<number, Waiting>();
  readonly #decoder: FrameDecoder;
  readonly #onEnd: (session: ClientSession) => void;
  #nextId = 1;
  /** Calls the pool has promised this session (reserve) that have not called yet. */
  #reserved = 0;
  /** No new call once set: the session is ending (idle, server closed its side, ids used up). */
  #retired = false;
  #ended = false;
  #lastActivity = performance.now();
  #idleTimer: NodeJS.Timeout | undefined;
  /** Calls and cancels issued in one turn leave in one send (write-batch.ts). */
  readonly #out = new WriteBatch((frames) => this.#sendBatch(frames));
  /** Calls whose CALL frame is still in #out: if it never leaves, they surely did not run. */
  #unsent = new Set<number>();

  constructor(
    stream: Stream,
    peer: string,
    limits: ClientSessionLimits,
    onEnd: (session: ClientSession) => void,
  ) {
    this.stream = stream;
    this.peer = peer;
    this.limits = Object.freeze({ ...limits });
    this.#onEnd = onEnd;
    this.#decoder = new FrameDecoder(
      SESSION_HEADER_BYTES + 1 + limits.maxResponseBytes + MAX_ERROR_REPLY_BYTES,
      'maxResponseBytes',
    );
    stream.addEventListener('message', this.#onMessage);
    stream.addEventListener('remoteCloseWrite', this.#onRemoteCloseWrite);
    stream.addEventListener(
      'close',
      (event) => {
        const why = event.error?.message ?? 'closed';
        this.#end(
          new PeerCallError(
            'peer_unreachable',
            `${limits.id} session to ${peer} ended after the request was sent (it may have run): ${why}`,
            true,
            { cause: event.error },
          ),
        );
      },
      { once: true },
    );
    this.#armIdle(limits.idleMs);
  }

  /** Calls waiting for their reply, and those reserved to be sent next. */
  get inFlight(): number {
    return this.#waiting.size + this.#reserved;
  }

  /** Takes new calls: open, not retiring, and below maxCallsPerSession. */
  get hasRoom(): boolean {
    return this.usable && this.inFlight < this.limits.maxCallsPerSession;
  }

  /**
   * Counts a call that will be made with `call` right after: the pool picks a session for a
   * call and the call is sent a microtask later, so without this many picks see the same room.
   */
  reserve(): void {
    this.#reserved++;
  }

  get usable(): boolean {
    return !this.#retired && !this.#ended && this.stream.writeStatus === 'writable';
  }

  /**
   * Sends one call; resolves to its reply payload (status byte + body). Rejects with
   * PeerCallError(requestSent false) when the frame could not be queued, with `signal.reason`
   * when the signal fires first (the call is cancelled at the server), or with the session's
   * end.
   */
  call(body: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    if (this.#reserved > 0) this.#reserved--;
    if (!this.usable) {
      return Promise.reject(
        new PeerCallError('peer_unreachable', `${this.limits.id} session to ${this.peer} is closing`, false),
      );
    }
    // Calls wait in the stream's buffer while the muxer's window to the server is full. Past
    // what maxCallsPerSession full calls take, the server is not reading: give the session up
    // (the calls left behind fail as after a lost connection) rather than queue without end.
    const maxUnsent =
      this.limits.maxCallsPerSession *
      (MAX_VARINT_BYTES + SESSION_HEADER_BYTES + this.limits.maxRequestBytes);
    if (this.stream.writeBufferLength + this.#out.pendingBytes > maxUnsent) {
      const error = new PeerCallError(
        'peer_unreachable',
        `${this.peer} does not read its ${this.limits.id} session: ${this.stream.writeBufferLength} bytes of calls unsent`,
        false,
      );
      this.stream.abort(error);
      return Promise.reject(error);
    }
    const id = this.#nextId++;
    if (id >= MAX_CALL_ID) this.#retired = true;
    // Queued whole: frames of concurrent calls never interleave. They leave at the end of this
    // turn; a send that fails then rejects the calls it carried as never sent (#sendBatch).
    this.#out.push(encodeFrame(FRAME_CALL, id, body));
    this.#unsent.add(id);
    this.#lastActivity = performance.now();
    return new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.#waiting.delete(id)) return;
        this.#cancel(id);
        reject(signal.reason);
        this.#afterCall();
      };
      this.#waiting.set(id, {
        resolve: (payload) => {
          signal.removeEventListener('abort', onAbort);
          resolve(payload);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops taking calls and closes once the waiting ones are answered. */
  retire(): void {
    this.#retired = true;
    this.#afterCall();
  }

  /** Ends at once: waiting calls fail as after a lost connection. */
  abort(reason: Error): void {
    this.stream.abort(reason);
  }

  #cancel(id: number): void {
    if (this.stream.writeStatus !== 'writable') return;
    // After its CALL frame, in the same batch when that has not left yet.
    this.#out.push(encodeFrame(FRAME_CANCEL, id));
  }

  /**
   * Writes a batch of frames. A full buffer is not waited on (the muxer drains it);
   * maxCallsPerSession bounds what can queue. When the stream refuses the bytes, the calls
   * whose frames were in them fail with `requestSent` false — they never left — and the
   * session is given up.
   */
  #sendBatch(frames: Uint8Array | Uint8ArrayList): void {
    const carried = this.#unsent;
    this.#unsent = new Set();
    try {
      this.stream.send(frames);
    } catch (error) {
      const failure = new PeerCallError(
        'peer_unreachable',
        `${this.limits.id} session to ${this.peer} cannot send: ${(error as Error).message}`,
        false,
        { cause: error },
      );
      this.#failUnsent(carried, failure);
      this.stream.abort(failure);
    }
  }

  #failUnsent(ids: ReadonlySet<number>, error: PeerCallError): void {
    for (const id of ids) {
      const waiting = this.#waiting.get(id);
      if (waiting === undefined) continue;
      this.#waiting.delete(id);
      waiting.reject(error);
    }
    this.#afterCall();
  }

  #afterCall(): void {
    this.#lastActivity = performance.now();
    if (this.inFlight > 0 || this.#ended) return;
    if (this.#retired) {
      this.#ended = true;
      this.#stopTimer();
      this.#onEnd(this);
      // A CANCEL may still be queued: it goes before the close.
      this.#out.flush();
      this.stream.close({ signal: AbortSignal.timeout(this.limits.idleMs) }).catch((error: unknown) => {
        this.stream.abort(error as Error);
      });
    }
  }

  #armIdle(delayMs: number): void {
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#ended) return;
      const idleFor = performance.now() - this.#lastActivity;
      if (this.inFlight > 0 || idleFor < this.limits.idleMs) {
        this.#armIdle(Math.max(1, this.limits.idleMs - idleFor));
        return;
      }
      this.retire();
    }, delayMs);
    this.#idleTimer.unref();
  }

  #stopTimer(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** Fails every waiting call with `error` and drops the session from its pool. */
  #end(error: unknown): void {
    this.#retired = true;
    // Calls whose frames never left did not run, whatever ended the session.
    this.#out.discard();
    const unsent = this.#unsent;
    this.#unsent = new Set();
    for (const id of unsent) {
      const call = this.#waiting.get(id);
      if (call === undefined) continue;
      this.#waiting.delete(id);
      call.reject(
        new PeerCallError(
          'peer_unreachable',
          `${this.limits.id} session to ${this.peer} ended before the call was sent`,
          false,
          { cause: error },
        ),
      );
    }
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const call of waiting) call.reject(error);
    if (this.#ended) return;
    this.#ended = true;
    this.#stopTimer();
    this.stream.removeEventListener('message', this.#onMessage);
    this.#onEnd(this);
  }

  /** The server broke the framing: fail everything with `bad_response` and reset. */
  #violation(message: string): void {
    const error = new GojinnError('bad_response', `${this.peer} ${message}; ${this.limits.id} session reset`);
    this.#end(error);
    this.stream.abort(error);
  }

  readonly #onRemoteCloseWrite = (): void => {
    // The server closes its side only with nothing running and, after that, runs no new
    // call (protocols/README.md): a call still waiting was never run, so it may go elsewhere.
    const error = new PeerCallError(
      'peer_unreachable',
      `${this.peer} closed the ${this.limits.id} session before running the call`,
      false,
    );
    this.#end(error);
    this.stream.close({ signal: AbortSignal.timeout(this.limits.idleMs) }).catch((cause: unknown) => {
      this.stream.abort(cause as Error);
    });
  };

  readonly #onMessage = (event: StreamMessageEvent): void => {
    let frames: Uint8Array[];
    try {
      frames = this.#decoder.push(event.data);
    } catch (error) {
      const why = error instanceof FrameError ? error.message : String(error);
      this.#violation(`sent a ${this.limits.name} reply over the limit: ${why}`);
      return;
    }
    for (const bytes of frames) {
      if (this.#ended) return;
      const frame = parseFrame(bytes);
      if (frame === null) {
        this.#violation(`sent a ${this.limits.name} session frame shorter than its header`);
        return;
      }
      if (frame.kind === FRAME_REPLY) {
        if (frame.id === 0 || frame.id >= this.#nextId) {
          this.#violation(`replied to ${this.limits.name} call id ${frame.id}, which was never sent`);
          return;
        }
        const waiting = this.#waiting.get(frame.id);
        // Not waiting: a call that gave up (its CANCEL and this reply crossed). Dropped.
        if (waiting === undefined) continue;
        this.#waiting.delete(frame.id);
        waiting.resolve(frame.payload);
        this.#afterCall();
        continue;
      }
      if (frame.kind === FRAME_CLOSE) {
        const error = new PeerCallError(
          'peer_unreachable',
          `${this.peer} closed the ${this.limits.id} session after the request was sent (it may have run): ${this.#closeReason(frame.payload)}`,
          true,
        );
        this.#end(error);
        this.stream.abort(error);
        return;
      }
      this.#violation(`sent a ${this.limits.name} session frame of unknown kind ${frame.kind}`);
      return;
    }
  };

  #closeReason(payload: Uint8Array): string {
    const frame = new Uint8Array(payload.byteLength + 1);
    frame[0] = RESPONSE_ERROR;
    frame.set(payload, 1);
    const spec = { name: this.limits.name, maxResponseBytes: this.limits.maxResponseBytes };
    try {
      decodeResponse(frame, spec as Required<ProtocolSpec>, this.peer);
      return 'no reason given';
    } catch (error) {
      return error instanceof GojinnError ? `${error.code}: ${error.message}` : String(error);
    }
  }
}
