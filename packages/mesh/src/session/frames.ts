/**
 * Session frames (protocols/README.md, "Session framing"): many calls over one long-lived
 * stream. Every frame is an unsigned-varint length (at most 8 bytes) and then a 5-byte header —
 * a kind byte and a call id (unsigned 32-bit, big-endian) — and the kind's payload. Frames are
 * decoded from a push-based buffer so a whole stream of them costs no promise per frame, and a
 * length prefix over the limit is refused before any of its body is buffered.
 */
import { Uint8ArrayList } from 'uint8arraylist';
import { FrameError } from '../framing.ts';

/** Caller → server: a call; payload = the protocol's request bytes. */
export const FRAME_CALL = 0x01;
/** Caller → server: the caller gave up on the call with this id; no payload. */
export const FRAME_CANCEL = 0x02;
/** Server → caller: the answer to a call; payload = status byte + body, as a 1.0.0 response frame. */
export const FRAME_REPLY = 0x03;
/** Server → caller, id 0: the server ends the session; payload = `{code, message}` JSON. */
export const FRAME_CLOSE = 0x04;

/** Kind byte + call id. */
export const SESSION_HEADER_BYTES = 5;
/** Largest call id; a session that has used it is retired (a new one starts again at 1). */
export const MAX_CALL_ID = 0xffff_ffff;
/** A length prefix longer than this is refused (as in the one-call framing). */
export const MAX_VARINT_BYTES = 8;

export interface SessionFrame {
  kind: number;
  id: number;
  payload: Uint8Array;
}

/** The wire bytes of one frame: length prefix and header, then the payload parts. */
export function encodeFrame(kind: number, id: number, ...payload: Uint8Array[]): Uint8ArrayList {
  if (!Number.isInteger(id) || id < 0 || id > MAX_CALL_ID) {
    throw new RangeError(`call id must be an integer in [0, ${MAX_CALL_ID}], got ${id}`);
  }
  let length = SESSION_HEADER_BYTES;
  for (const part of payload) length += part.byteLength;
  const prefix = encodeVarint(length);
  const head = new Uint8Array(prefix.byteLength + SESSION_HEADER_BYTES);
  head.set(prefix, 0);
  head[prefix.byteLength] = kind;
  new DataView(head.buffer).setUint32(prefix.byteLength + 1, id);
  return new Uint8ArrayList(head, ...payload);
}

/** Splits a decoded frame into its header and payload; a frame shorter than the header is null. */
export function parseFrame(frame: Uint8Array): SessionFrame | null {
  if (frame.byteLength < SESSION_HEADER_BYTES) return null;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return {
    kind: view.getUint8(0),
    id: view.getUint32(1),
    payload: frame.subarray(SESSION_HEADER_BYTES),
  };
}

function encodeVarint(value: number): Uint8Array {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}

/**
 * Cuts a byte stream into frames of at most `maxFrameBytes` (header and payload). `push` returns
 * the frames completed by a chunk; it throws FrameError `too_large` (naming `label`) as soon as a
 * length prefix says more than the limit or runs past MAX_VARINT_BYTES — the body is never kept.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  readonly label: string;
  readonly #buffer = new Uint8ArrayList();
  /** Length of the frame whose body is being collected, once its prefix is read. */
  #expected: number | undefined;

  constructor(maxFrameBytes: number, label: string) {
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < SESSION_HEADER_BYTES) {
      throw new RangeError(
        `maxFrameBytes must be an integer ≥ ${SESSION_HEADER_BYTES}, got ${maxFrameBytes}`,
      );
    }
    this.maxFrameBytes = maxFrameBytes;
    this.label = label;
  }

  /** Bytes held for a frame not yet complete. */
  get buffered(): number {
    return this.#buffer.byteLength;
  }

  push(chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.#buffer.append(chunk);
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.#expected === undefined) {
        const length = this.#readPrefix();
        if (length === undefined) return frames;
        this.#expected = length;
      }
      if (this.#buffer.byteLength < this.#expected) return frames;
      frames.push(this.#buffer.subarray(0, this.#expected));
      this.#buffer.consume(this.#expected);
      this.#expected = undefined;
    }
  }

  /** The next length prefix, consumed; undefined while incomplete. */
  #readPrefix(): number | undefined {
    let value = 0;
    const available = Math.min(this.#buffer.byteLength, MAX_VARINT_BYTES);
    for (let i = 0; i < available; i++) {
      const byte = this.#buffer.get(i);
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (value > this.maxFrameBytes) {
          throw new FrameError(
            'too_large',
            `frame of ${value} bytes exceeds ${this.label} (${this.maxFrameBytes} bytes with the ${SESSION_HEADER_BYTES}-byte header)`,
          );
        }
        this.#buffer.consume(i + 1);
        return value;
      }
    }
    if (this.#buffer.byteLength >= MAX_VARINT_BYTES) {
      throw new FrameError(
        'too_large',
        `length prefix longer than ${MAX_VARINT_BYTES} bytes (${this.label})`,
      );
    }
    return undefined;
  }
}
