import { GojinnError } from '@gojinn/errors';

/** The one error every malformed or refused module turns into. */
export function invalidModule(message: string): GojinnError {
  return new GojinnError('invalid_module', message);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A bounds-checked cursor over untrusted bytes. Every read checks against `end` and every
 * LEB128 is length-checked, so a hostile length can only ever produce an `invalid_module`
 * error, never a RangeError or an out-of-bounds read that yields `undefined`.
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  pos: number;
  end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  malformed(what: string): GojinnError {
    return invalidModule(`malformed module: ${what} at byte offset ${this.pos}`);
  }

  u8(): number {
    if (this.pos >= this.end) throw this.malformed('unexpected end');
    return this.bytes[this.pos++]!;
  }

  peek(): number {
    if (this.pos >= this.end) throw this.malformed('unexpected end');
    return this.bytes[this.pos]!;
  }

  /** Unsigned LEB128 of at most 32 bits (5 bytes, unused high bits zero). */
  u32(): number {
    const first = this.u8();
    if (first < 0x80) return first;
    let result = first & 0x7f;
    let scale = 0x80;
    for (let i = 1; i < 5; i++) {
      const b = this.u8();
      if (i === 4 && b > 0x0f) throw this.malformed('integer too large for u32');
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
    throw this.malformed('integer representation too long');
  }

  /** Signed LEB128 of at most 33 bits (block types); returns the value. */
  s33(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      scale *= 0x80;
      if (b < 0x80) {
        if (b & 0x40) result -= scale;
        if (i === 4 && b > 0x0f && b < 0x70) throw this.malformed('integer too large for s33');
        return result;
      }
    }
    throw this.malformed('integer representation too long');
  }

  /** Skips a signed LEB128 of at most `maxBytes` bytes (i32.const: 5, i64.const: 10). */
  skipSigned(maxBytes: number): void {
    for (let i = 0; i < maxBytes; i++) if (this.u8() < 0x80) return;
    throw this.malformed('integer representation too long');
  }

  skip(count: number): void {
    if (count > this.end - this.pos) throw this.malformed(`${count} bytes announced, fewer remain`);
    this.pos += count;
  }

  /** A length-prefixed UTF-8 string (import, export and section names). */
  name(): string {
    const length = this.u32();
    const start = this.pos;
    this.skip(length);
    try {
      return utf8.decode(this.bytes.subarray(start, start + length));
    } catch {
      throw invalidModule(`malformed module: name is not valid UTF-8 at byte offset ${start}`);
    }
  }
}
