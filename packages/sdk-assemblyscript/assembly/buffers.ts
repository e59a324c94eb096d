// Growable scratch buffers in linear memory. The JSON reader decodes strings into a
// CodeUnitBuffer and the JSON writer encodes into a ByteBuffer, so building a string or a
// response costs one allocation for the result instead of one per character.

/**
 * Smallest capacity, in elements, a buffer grows to when appended to one element at a time;
 * an explicit reserve() allocates exactly what it asks for. Small, because every 4 KiB page a
 * fresh instance touches costs a page fault (microseconds) per request.
 */
export const MIN_GROWTH_CAPACITY: usize = 64;

/** UTF-8 bytes, appended at the end. */
export class ByteBuffer {
  ptr: usize = 0;
  length: usize = 0;
  capacity: usize = 0;

  /** Makes room for `extra` more bytes: exactly, or double the capacity when that is more. */
  reserve(extra: usize): void {
    const needed = this.length + extra;
    if (needed <= this.capacity) return;
    const capacity = max(needed, this.capacity << 1);
    this.ptr = this.ptr == 0 ? heap.alloc(capacity) : heap.realloc(this.ptr, capacity);
    this.capacity = capacity;
  }

  pushByte(byte: u32): void {
    if (this.length == this.capacity) this.reserve(MIN_GROWTH_CAPACITY);
    store<u8>(this.ptr + this.length, <u8>byte);
    this.length += 1;
  }

  pushBytes(src: usize, length: usize): void {
    this.reserve(length);
    memory.copy(this.ptr + this.length, src, length);
    this.length += length;
  }

  /** Appends a string known to be ASCII (field names, numbers): one byte per code unit. */
  pushAscii(text: string): void {
    const count = <usize>text.length;
    this.reserve(count);
    const src = changetype<usize>(text);
    const dst = this.ptr + this.length;
    for (let i: usize = 0; i < count; i++) store<u8>(dst + i, <u8>load<u16>(src + (i << 1)));
    this.length += count;
  }

  /** Empties the buffer, keeping its memory for reuse. */
  clear(): void {
    this.length = 0;
  }

  /** Returns the memory to the allocator; the buffer is empty and reusable afterwards. */
  dispose(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = 0;
    this.length = 0;
    this.capacity = 0;
  }

  /** A copy of the bytes as an ArrayBuffer. */
  toArrayBuffer(): ArrayBuffer {
    const result = new ArrayBuffer(<i32>this.length);
    memory.copy(changetype<usize>(result), this.ptr, this.length);
    return result;
  }

  /** The bytes decoded as UTF-8 (the writer only ever produces valid UTF-8). */
  toString(): string {
    return String.UTF8.decodeUnsafe(this.ptr, this.length);
  }
}

/** UTF-16 code units, the representation of an AssemblyScript string. */
export class CodeUnitBuffer {
  ptr: usize = 0;
  length: usize = 0;
  capacity: usize = 0;

  /** Makes room for `extra` more code units: exactly, or double the capacity when that is more. */
  reserve(extra: usize): void {
    const needed = this.length + extra;
    if (needed <= this.capacity) return;
    const capacity = max(needed, this.capacity << 1);
    this.ptr = this.ptr == 0 ? heap.alloc(capacity << 1) : heap.realloc(this.ptr, capacity << 1);
    this.capacity = capacity;
  }

  push(unit: u32): void {
    if (this.length == this.capacity) this.reserve(MIN_GROWTH_CAPACITY);
    store<u16>(this.ptr + (this.length << 1), <u16>unit);
    this.length += 1;
  }

  /** Appends a Unicode scalar value (or a lone surrogate), as one or two code units. */
  pushCodePoint(codePoint: u32): void {
    if (codePoint < 0x10000) {
      this.push(codePoint);
    } else {
      const offset = codePoint - 0x10000;
      this.push(0xd800 | (offset >> 10));
      this.push(0xdc00 | (offset & 0x3ff));
    }
  }

  clear(): void {
    this.length = 0;
  }

  /** Returns the memory to the allocator; the buffer is empty and reusable afterwards. */
  dispose(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = 0;
    this.length = 0;
    this.capacity = 0;
  }

  toString(): string {
    return String.UTF16.decodeUnsafe(this.ptr, this.length << 1);
  }
}
