/**
 * Length-prefixed frames (unsigned varint length, then the bytes) over a libp2p stream, with an
 * explicit maximum frame size and an AbortSignal on every read and write. A peer announcing a
 * frame over the maximum is refused from its length prefix alone: the body is never buffered.
 */
import { lpStream } from '@libp2p/utils';
import type { LengthPrefixedStream } from '@libp2p/utils';
import type { Stream } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';

export interface FramedStream {
  /** Reads one whole frame. Throws a FrameError on a frame over the limit or the stream's end. */
  read(signal: AbortSignal): Promise<Uint8Array>;
  /** Writes one frame; a frame over the limit is refused before anything is sent. */
  write(frame: Uint8Array, signal: AbortSignal): Promise<void>;
  readonly stream: Stream;
  readonly limits: Readonly<FrameLimits>;
}

export interface FrameLimits {
  /** Largest frame read; a larger length prefix fails the read without reading the body. */
  maxReadBytes: number;
  /** Largest frame written. */
  maxWriteBytes: number;
  /** Names of the limits in error messages (for example `maxRequestBytes`). */
  readLabel?: string;
  writeLabel?: string;
}

/** Why a frame could not be read or written. `kind` lets each protocol pick its error code. */
export type FrameFailure = 'too_large' | 'ended' | 'aborted' | 'stream_error';

export class FrameError extends Error {
  override readonly name = 'FrameError';
  readonly kind: FrameFailure;

  constructor(kind: FrameFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/**
 * Wraps `stream` for frames bounded by `limits`. Create one per stream: it takes over the
 * stream's reads.
 */
export function framedStream(stream: Stream, limits: FrameLimits): FramedStream {
  const readLabel = limits.readLabel ?? 'maxReadBytes';
  const writeLabel = limits.writeLabel ?? 'maxWriteBytes';
  for (const [label, value] of [
    [readLabel, limits.maxReadBytes],
    [writeLabel, limits.maxWriteBytes],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new GojinnError('bad_request', `${label} must be a positive integer, got ${value}`);
    }
  }
  const lp: LengthPrefixedStream<Stream> = lpStream(stream, { maxDataLength: limits.maxReadBytes });
  return {
    stream,
    limits: Object.freeze({ ...limits }),
    async read(signal) {
      try {
        return (await lp.read({ signal })).subarray();
      } catch (error) {
        throw classify(error, signal, `frame exceeds ${readLabel} (${limits.maxReadBytes} bytes)`);
      }
    },
    async write(frame, signal) {
      if (frame.byteLength > limits.maxWriteBytes) {
        throw new FrameError(
          'too_large',
          `frame of ${frame.byteLength} bytes exceeds ${writeLabel} (${limits.maxWriteBytes} bytes)`,
        );
      }
      try {
        await lp.write(frame, { signal });
      } catch (error) {
        throw classify(error, signal, 'frame write failed');
      }
    },
  };
}

function classify(error: unknown, signal: AbortSignal, tooLargeMessage: string): FrameError {
  if (signal.aborted) return new FrameError('aborted', 'aborted', { cause: signal.reason });
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
    return new FrameError('too_large', tooLargeMessage, { cause: error });
  }
  if (name === 'UnexpectedEOFError') {
    return new FrameError('ended', 'the stream ended before a whole frame', { cause: error });
  }
  return new FrameError('stream_error', `stream failed: ${String((error as Error).message)}`, {
    cause: error,
  });
}
