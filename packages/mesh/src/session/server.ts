/**
 * The serving end of one session stream: reads CALL and CANCEL frames as they arrive, runs each
 * call through the protocol's handler concurrently (up to maxCallsPerSession), and writes each
 * REPLY as soon as its handler finishes, in any order. A peer that breaks the framing (a frame
 * over maxRequestBytes, an unknown kind, an id not above the last one) gets one CLOSE frame
 * naming the rule and the stream is reset: only this session ends, other streams of the
 * connection go on.
 */
import type { Connection, Stream, StreamMessageEvent } from '@libp2p/interface';
import { GojinnError, toErrorInfo } from '@gojinn/errors';
import type { ErrorInfo } from '@gojinn/errors';
import { FrameError } from '../framing.ts';
import { MAX_ERROR_REPLY_BYTES, RESPONSE_OK, errorFrame } from '../request-response.ts';
import type { RequestHandler } from '../request-response.ts';
import {
  FRAME_CALL,
  FRAME_CANCEL,
  FRAME_CLOSE,
  FRAME_REPLY,
  FrameDecoder,
  MAX_VARINT_BYTES,
  SESSION_HEADER_BYTES,
  encodeFrame,
  parseFrame,
} from './frames.ts';
import { WriteBatch } from './write-batch.ts';

/** After a CLOSE frame, how long the server waits for it to flush before resetting the stream. */
export const SESSION_CLOSE_FLUSH_MS = 1_000;

export interface SessionServerLimits {
  /** The protocol's short name, for messages. */
  name: string;
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** Deadline of one call on the server: frame read to reply written. */
  timeoutMs: number;
  /** Calls running at once on one session; one more is answered `overloaded`. */
  maxCallsPerSession: number;
  /** A session with no call running and no frame for this long is closed by the server. */
  idleMs: number;
}

/** Serves `stream` until it ends. Never throws: every failure ends in a reply, a close or a reset. */
export function serveSession(
  stream: Stream,
  connection: Connection,
  limits: SessionServerLimits,
  handler: RequestHandler,
): void {
  const decoder = new FrameDecoder(limits.maxRequestBytes + SESSION_HEADER_BYTES, 'maxRequestBytes');
  const running = new Map<number, AbortController>();
  const gone = new AbortController();
  let lastId = 0;
  let ending = false;
  let lastActivity = performance.now();
  let idleTimer: NodeJS.Timeout | undefined;
  // Replies wait in the stream's buffer while the muxer's window to the caller is full. A
  // caller that keeps calling but stops reading would grow it without end: beyond what
  // maxCallsPerSession full replies take, it is not reading, and the session is reset.
  const maxUnsentBytes =
    limits.maxCallsPerSession *
    (MAX_VARINT_BYTES + SESSION_HEADER_BYTES + 1 + limits.maxResponseBytes + MAX_ERROR_REPLY_BYTES);

  const armIdle = (delayMs: number): void => {
    idleTimer = setTimeout(() => {
      idleTimer = undefined;
      if (ending) return;
      const idleFor = performance.now() - lastActivity;
      if (running.size > 0 || idleFor < limits.idleMs) {
        armIdle(Math.max(1, limits.idleMs - idleFor));
        return;
      }
      // Nothing asked for a while: give the stream back. A caller closes its own idle sessions
      // well before this, so this only catches callers that forget theirs.
      ending = true;
      replies.flush();
      stream.close({ signal: AbortSignal.timeout(SESSION_CLOSE_FLUSH_MS) }).catch((error: unknown) => {
        stream.abort(error as Error);
      });
    }, delayMs);
    idleTimer.unref();
  };
  armIdle(limits.idleMs);

  // Replies finished in the same turn leave in one send (write-batch.ts).
  const replies = new WriteBatch((frames) => {
    if (stream.writeStatus !== 'writable') return;
    try {
      // A full send buffer is not waited on: the muxer drains it, and the number of replies
      // queued is bounded by maxCallsPerSession.
      stream.send(frames);
    } catch (error) {
      stream.abort(error as Error);
      return;
    }
    if (stream.writeBufferLength > maxUnsentBytes) {
      ending = true;
      stream.abort(
        new Error(
          `${limits.name} caller leaves ${stream.writeBufferLength} bytes of replies unread (more than maxCallsPerSession replies)`,
        ),
      );
    }
  });

  /** Ends the session for a framing fault: say why in a CLOSE frame, then reset. */
  const closeFor = (info: ErrorInfo): void => {
    if (ending) return;
    ending = true;
    stream.removeEventListener('message', onMessage);
    // Replies already finished go first: their calls ran.
    replies.flush();
    try {
      stream.send(encodeFrame(FRAME_CLOSE, 0, errorFrame(info).subarray(1)));
    } catch {
      // Not writable any more: the reset below is all there is to do.
    }
    stream
      .close({ signal: AbortSignal.timeout(SESSION_CLOSE_FLUSH_MS) })
      .catch(() => {})
      .finally(() => stream.abort(new Error(info.message)));
  };

  const reply = (id: number, payload: Uint8Array): void => {
    if (stream.writeStatus !== 'writable') return;
    replies.push(encodeFrame(FRAME_REPLY, id, payload));
  };

  const run = async (id: number, request: Uint8Array): Promise<void> => {
    const cancel = new AbortController();
    running.set(id, cancel);
    const deadline = AbortSignal.timeout(limits.timeoutMs);
    const signal = AbortSignal.any([deadline, cancel.signal, gone.signal]);
    let payload: Uint8Array;
    try {
      const body = await handler(request, { peerId: connection.remotePeer, connection, signal });
      if (deadline.aborted) {
        throw new GojinnError(
          'timeout',
          `handler exceeded the ${limits.name} deadline of ${limits.timeoutMs} ms`,
        );
      }
      if (body.byteLength > limits.maxResponseBytes) {
        throw new GojinnError(
          'output_limit',
          `response of ${body.byteLength} bytes exceeds maxResponseBytes (${limits.maxResponseBytes} bytes) of ${limits.name}`,
        );
      }
      payload = new Uint8Array(body.byteLength + 1);
      payload[0] = RESPONSE_OK;
      payload.set(body, 1);
    } catch (error) {
      payload = errorFrame(toErrorInfo(error));
    } finally {
      running.delete(id);
      lastActivity = performance.now();
    }
    // A cancelled call has nobody waiting for it; a gone session has nowhere to answer.
    if (!cancel.signal.aborted && !gone.signal.aborted) reply(id, payload);
    if (running.size === 0 && stream.remoteWriteStatus === 'closed') endGracefully();
  };

  const onFrame = (bytes: Uint8Array): void => {
    const frame = parseFrame(bytes);
    if (frame === null) {
      closeFor({
        code: 'bad_request',
        message: `${limits.name} session frame of ${bytes.byteLength} bytes is shorter than its ${SESSION_HEADER_BYTES}-byte header`,
      });
      return;
    }
    if (frame.kind === FRAME_CALL) {
      if (frame.id <= lastId) {
        closeFor({
          code: 'bad_request',
          message: `${limits.name} call id ${frame.id} is not above the previous one (${lastId})`,
        });
        return;
      }
      lastId = frame.id;
      if (running.size >= limits.maxCallsPerSession) {
        reply(
          frame.id,
          errorFrame({
            code: 'overloaded',
            message: `${limits.maxCallsPerSession} ${limits.name} calls already run on this session (maxCallsPerSession)`,
          }),
        );
        return;
      }
      void run(frame.id, frame.payload);
      return;
    }
    if (frame.kind === FRAME_CANCEL && frame.payload.byteLength === 0) {
      // An id that already finished (or never ran) is no fault: the reply and the cancel crossed.
      running.get(frame.id)?.abort(new Error('cancelled by the caller'));
      return;
    }
    closeFor({
      code: 'bad_request',
      message: `${limits.name} session frame of kind ${frame.kind} and ${bytes.byteLength} bytes is not a call or a cancel`,
    });
  };

  const onMessage = (event: StreamMessageEvent): void => {
    lastActivity = performance.now();
    let frames: Uint8Array[];
    try {
      frames = decoder.push(event.data);
    } catch (error) {
      const message =
        error instanceof FrameError
          ? `request frame ${error.message} of ${limits.name}`
          : `unreadable ${limits.name} session frame`;
      closeFor({ code: 'bad_request', message });
      return;
    }
    for (const frame of frames) {
      if (ending) return;
      onFrame(frame);
    }
  };

  const endGracefully = (): void => {
    if (ending) return;
    ending = true;
    replies.flush();
    stream.close({ signal: AbortSignal.timeout(SESSION_CLOSE_FLUSH_MS) }).catch((error: unknown) => {
      stream.abort(error as Error);
    });
  };

  stream.addEventListener('message', onMessage);
  // The caller closed its side: answer what runs, then close ours.
  stream.addEventListener('remoteCloseWrite', () => {
    if (running.size === 0) endGracefully();
  });
  stream.addEventListener(
    'close',
    (event) => {
      ending = true;
      replies.discard();
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      gone.abort(event.error ?? new Error('session closed'));
    },
    { once: true },
  );
}
