/** Bytes in a padded LEB128 placeholder: room for any value below 2^34 (i32 or i64 const). */
export const PADDED_LEB_BYTES = 5;
const PADDED_MAX = 2 ** 34 - 1;
/** Copies up to this many bytes with a loop instead of `set(subarray)`. */
const SMALL_COPY_BYTES = 64;

/**
 * A growable output buffer with LEB128 encoders. Placeholders are written as fixed-width
 * (padded) LEB128 — legal in the binary format — so a value known only later (a region's fuel
 * cost, a function's frame cost) can be patched in place without moving any byte.
 */
export class ByteWriter {
  buf: Uint8Array;
  length = 0;

  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
  }

  reset(): void {
    this.length = 0;
  }

  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }

  u8(byte: number): void {
    if (this.length === this.buf.length) this.reserve(1);
    this.buf[this.length++] = byte;
  }

  /** Unsigned LEB128 (counts, indices, sizes). */
  u32(value: number): void {
    this.reserve(5);
    let v = value >>> 0;
    while (v >= 0x80) {
      this.buf[this.length++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.length++] = v;
  }

  /** Signed LEB128 of a safe integer (i32.const, i64.const, s33 block types). */
  signed(value: number): void {
    this.reserve(10);
    let v = value;
    for (;;) {
      const byte = ((v % 128) + 128) % 128;
      v = Math.floor(v / 128);
      const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
      if (done) {
        this.buf[this.length++] = byte;
        return;
      }
      this.buf[this.length++] = byte | 0x80;
    }
  }

  /** Writes a 5-byte signed LEB128 placeholder holding `value` and returns its position. */
  padded(value: number): number {
    const at = this.length;
    this.reserve(PADDED_LEB_BYTES);
    this.length += PADDED_LEB_BYTES;
    this.patchPadded(at, value);
    return at;
  }

  /** Overwrites the placeholder at `at`. Works for i32.const (value < 2^31) and i64.const. */
  patchPadded(at: number, value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > PADDED_MAX) {
      throw new RangeError(`padded LEB128 value ${value} out of range`);
    }
    const b = this.buf;
    b[at] = (value & 0x7f) | 0x80;
    b[at + 1] = ((value >>> 7) & 0x7f) | 0x80;
    b[at + 2] = ((value >>> 14) & 0x7f) | 0x80;
    b[at + 3] = ((value >>> 21) & 0x7f) | 0x80;
    b[at + 4] = Math.floor(value / 2 ** 28) & 0x7f;
  }

  bytes(source: Uint8Array, start = 0, end = source.length): void {
    const count = end - start;
    if (this.length + count > this.buf.length) this.reserve(count);
    if (count <= SMALL_COPY_BYTES) {
      // A loop beats creating a subarray view for the short runs between insertions.
      const buf = this.buf;
      let at = this.length;
      for (let i = start; i < end; i++) buf[at++] = source[i]!;
      this.length = at;
      return;
    }
    this.buf.set(source.subarray(start, end), this.length);
    this.length += count;
  }

  /** Appends a prebuilt sequence and returns where it starts. */
  append(sequence: Uint8Array): number {
    const at = this.length;
    this.bytes(sequence, 0, sequence.length);
    return at;
  }

  name(text: string): void {
    const encoded = new TextEncoder().encode(text);
    this.u32(encoded.length);
    this.bytes(encoded);
  }

  /** A copy of what was written (the internal buffer is reused). */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
