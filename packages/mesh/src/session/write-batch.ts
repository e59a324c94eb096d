/**
 * Session frames written in one turn of the event loop leave together, in one `stream.send`.
 * Every send is one yamux data frame, one Noise message (encrypt + MAC), one socket write, and
 * — yamux answers every data frame it reads — one window-update frame back, with its own Noise
 * message and write. Replies that finish together (the sandbox's worker pool hands back its
 * results in batches) and calls issued together then cost one of each instead of one per frame.
 * The bytes on the wire are the same frames in the same order: the framing is unchanged.
 *
 * Frames wait at most until the event loop's check phase (`setImmediate`), i.e. until the code
 * that produced them and its promise continuations have run; `flush()` sends at once (before a
 * close, so nothing queued is lost).
 */
import { Uint8ArrayList } from 'uint8arraylist';

export class WriteBatch {
  readonly #send: (frames: Uint8ArrayList) => void;
  #frames: Uint8ArrayList | undefined;
  #scheduled: NodeJS.Immediate | undefined;

  /** `send` writes a batch (it owns the error handling): called from `flush` or the check phase. */
  constructor(send: (frames: Uint8ArrayList) => void) {
    this.#send = send;
  }

  /** Bytes queued and not yet handed to the stream. */
  get pendingBytes(): number {
    return this.#frames?.byteLength ?? 0;
  }

  /** Queues one whole frame (frames are never split or interleaved). */
  push(frame: Uint8Array | Uint8ArrayList): void {
    if (this.#frames === undefined) {
      this.#frames = new Uint8ArrayList();
      this.#scheduled = setImmediate(this.flush);
    }
    this.#frames.append(frame);
  }

  /** Hands every queued frame to `send` now, in one batch. */
  readonly flush = (): void => {
    const frames = this.#frames;
    this.discard();
    if (frames !== undefined) this.#send(frames);
  };

  /** Drops what is queued (the stream is gone). */
  discard(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#frames = undefined;
  }
}
