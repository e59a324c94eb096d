/**
 * A single-producer, single-consumer ring of byte records in a SharedArrayBuffer: the worker
 * writes each finished invocation's outcome here, the main thread reads them.
 *
 * Why not a postMessage per outcome: on a small machine each message wakes the sleeping main
 * thread, which then preempts the worker — measured at ~100 µs of lost worker time per message
 * (docs/sandbox-pool.md). Outcomes written here cost no wake-up; the worker rings a doorbell
 * only every few outcomes. And unlike outcomes held back inside the worker, outcomes written
 * here survive the worker being terminated: the main thread drains the ring after it exits.
 *
 * Layout: Int32 header [WRITE, READ] (byte offsets into the data area), then the data area.
 * A record is [seq u32][length u32][length bytes], padded to 8 bytes. A record with seq 0 is
 * a wrap marker: the next record starts at offset 0. WRITE === READ means empty; the producer
 * never lets WRITE catch up with READ from behind.
 */

const WRITE = 0;
const READ = 1;
const HEADER_BYTES = 8;
const RECORD_HEADER_BYTES = 8;
const WRAP_SEQ = 0;

function padded(length: number): number {
  return RECORD_HEADER_BYTES + ((length + 7) & ~7);
}

export function createResultRing(capacityBytes: number): SharedArrayBuffer {
  const capacity = Math.max(64, (capacityBytes + 7) & ~7);
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

export class ResultRing {
  readonly #header: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #capacity: number;

  constructor(buffer: SharedArrayBuffer) {
    this.#header = new Int32Array(buffer, 0, 2);
    this.#bytes = new Uint8Array(buffer, HEADER_BYTES);
    this.#view = new DataView(buffer, HEADER_BYTES);
    this.#capacity = this.#bytes.byteLength;
  }

  /**
   * Largest payload that always fits once the ring is empty, wherever the offsets stand: a
   * record must fit either after WRITE or before READ, so this is about half the capacity.
   * Bigger outcomes go another way.
   */
  get maxRecordBytes(): number {
    return Math.floor(this.#capacity / 16) * 8 - RECORD_HEADER_BYTES;
  }

  /** Producer: appends a record, or returns false when it does not fit now. */
  tryWrite(seq: number, payload: Uint8Array): boolean {
    if (seq === WRAP_SEQ) throw new RangeError('seq 0 is reserved for the wrap marker');
    const need = padded(payload.byteLength);
    let write = this.#header[WRITE] ?? 0;
    const read = Atomics.load(this.#header, READ);
    if (write >= read) {
      const tail = this.#capacity - write;
      // Landing exactly on the end wraps WRITE to 0, which must not equal READ.
      const fitsAtEnd = need < tail || (need === tail && read !== 0);
      if (!fitsAtEnd) {
        if (need >= read) return false;
        this.#view.setUint32(write, WRAP_SEQ, true);
        write = 0;
      }
    } else if (need >= read - write) {
      return false;
    }
    this.#view.setUint32(write, seq, true);
    this.#view.setUint32(write + 4, payload.byteLength, true);
    this.#bytes.set(payload, write + RECORD_HEADER_BYTES);
    // The store publishes the record: the consumer reads WRITE atomically before the bytes.
    Atomics.store(this.#header, WRITE, (write + need) % this.#capacity);
    return true;
  }

  /**
   * Consumer: hands every complete record to `onRecord` (the bytes are a copy) and frees its
   * space. Throws on a record that cannot be valid, leaving the ring as it was at that record.
   */
  drain(onRecord: (seq: number, payload: Uint8Array) => void): number {
    let read = this.#header[READ] ?? 0;
    const write = Atomics.load(this.#header, WRITE);
    let count = 0;
    while (read !== write) {
      if (this.#capacity - read < RECORD_HEADER_BYTES)
        throw new RangeError(`result ring read offset ${read} out of range`);
      const seq = this.#view.getUint32(read, true);
      if (seq === WRAP_SEQ) {
        read = 0;
        continue;
      }
      const length = this.#view.getUint32(read + 4, true);
      const next = read + padded(length);
      if (next > this.#capacity)
        throw new RangeError(`result ring record of ${length} bytes overruns the ring`);
      const payload = this.#bytes.slice(read + RECORD_HEADER_BYTES, read + RECORD_HEADER_BYTES + length);
      read = next % this.#capacity;
      Atomics.store(this.#header, READ, read);
      count++;
      onRecord(seq, payload);
    }
    Atomics.store(this.#header, READ, read);
    return count;
  }
}
