/**
 * Bounds-checked access to a guest's linear memory for the shim and host functions.
 *
 * Pointers and lengths arrive from wasm as signed i32 JS numbers; they are read as unsigned.
 * Every access is checked against the memory's CURRENT buffer: `memory.grow` replaces the
 * ArrayBuffer (the old one is detached), so the views are rebuilt whenever the buffer changed.
 */

/**
 * Thrown when a guest pointer range lies outside memory. Shim functions turn it into EFAULT.
 * Not an Error subclass and thrown as one shared instance: a fault costs no allocation and no
 * stack capture, and guest-controlled faults must not be a cheap way to make the host work.
 */
export class GuestFault {
  readonly reason = 'guest pointer out of bounds';
}

const FAULT = new GuestFault();

export class GuestMemory {
  readonly #memory: WebAssembly.Memory;
  #buffer: ArrayBuffer;
  #view: DataView;
  #bytes: Uint8Array;

  constructor(memory: WebAssembly.Memory) {
    this.#memory = memory;
    this.#buffer = memory.buffer;
    this.#view = new DataView(this.#buffer);
    this.#bytes = new Uint8Array(this.#buffer);
  }

  /** Re-reads the memory's buffer. Call on entry to every host call: the guest may have grown memory. */
  refresh(): void {
    const buffer = this.#memory.buffer;
    if (buffer !== this.#buffer) {
      this.#buffer = buffer;
      this.#view = new DataView(buffer);
      this.#bytes = new Uint8Array(buffer);
    }
  }

  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /** Returns `ptr` as an unsigned offset after checking that `[ptr, ptr + len)` lies in memory; else throws GuestFault. */
  check(ptr: number, len: number): number {
    const start = ptr >>> 0;
    if (start + (len >>> 0) > this.#bytes.byteLength) throw FAULT;
    return start;
  }

  u32(ptr: number): number {
    return this.#view.getUint32(this.check(ptr, 4), true);
  }

  u16(ptr: number): number {
    return this.#view.getUint16(this.check(ptr, 2), true);
  }

  u8(ptr: number): number {
    return this.#bytes[this.check(ptr, 1)] as number;
  }

  u64(ptr: number): bigint {
    return this.#view.getBigUint64(this.check(ptr, 8), true);
  }

  setU8(ptr: number, value: number): void {
    this.#bytes[this.check(ptr, 1)] = value;
  }

  setU16(ptr: number, value: number): void {
    this.#view.setUint16(this.check(ptr, 2), value, true);
  }

  setU32(ptr: number, value: number): void {
    this.#view.setUint32(this.check(ptr, 4), value, true);
  }

  setU64(ptr: number, value: bigint): void {
    this.#view.setBigUint64(this.check(ptr, 8), value, true);
  }

  /** A live view of `[ptr, ptr + len)` (no copy): valid only until the guest runs again. */
  view(ptr: number, len: number): Uint8Array {
    const start = this.check(ptr, len);
    return this.#bytes.subarray(start, start + (len >>> 0));
  }

  /** A copy of `[ptr, ptr + len)`, safe to keep after the call. */
  copy(ptr: number, len: number): Uint8Array {
    const start = this.check(ptr, len);
    return this.#bytes.slice(start, start + (len >>> 0));
  }

  write(ptr: number, source: Uint8Array): void {
    this.#bytes.set(source, this.check(ptr, source.byteLength));
  }

  fill(ptr: number, len: number, value: number): void {
    const start = this.check(ptr, len);
    this.#bytes.fill(value, start, start + (len >>> 0));
  }
}
