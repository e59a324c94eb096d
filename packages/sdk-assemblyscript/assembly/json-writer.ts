// A JSON writer producing UTF-8. Strings are escaped so that the output is valid JSON for any
// AssemblyScript string: quote, backslash and every control character below U+0020 are
// escaped, and a lone UTF-16 surrogate (which UTF-8 cannot carry) is written as a \uXXXX
// escape, exactly as JSON.stringify does, so it survives the round trip.
import { ByteBuffer } from './buffers';
import { pushDecimal } from './decimal-text';
import { MAX_JSON_DEPTH } from './json-reader';

const HEX_DIGITS = '0123456789abcdef';

/** Integers up to 2^53 in magnitude are written without a fraction or exponent. */
const MAX_EXACT_INTEGER: f64 = 9007199254740992.0;

export class JsonWriter {
  readonly out: ByteBuffer;
  private depth: i32 = 0;
  // needsComma[depth]: a value was already written in the container at that depth.
  private needsComma: StaticArray<bool> = new StaticArray<bool>(MAX_JSON_DEPTH + 1);
  private afterKey: bool = false;

  constructor(out: ByteBuffer = new ByteBuffer()) {
    this.out = out;
  }

  // Called before every value and every key: writes the separating comma when one is due.
  private separate(): void {
    if (this.afterKey) {
      this.afterKey = false;
      return;
    }
    const depth = this.depth;
    if (unchecked(this.needsComma[depth])) this.out.pushByte(0x2c);
    else unchecked((this.needsComma[depth] = true));
  }

  private open(bracket: u32): JsonWriter {
    this.separate();
    if (this.depth >= MAX_JSON_DEPTH) abort('JsonWriter: nesting deeper than MAX_JSON_DEPTH');
    this.out.pushByte(bracket);
    this.depth++;
    unchecked((this.needsComma[this.depth] = false));
    return this;
  }

  private close(bracket: u32): JsonWriter {
    if (this.depth == 0 || this.afterKey) abort('JsonWriter: unbalanced close');
    this.out.pushByte(bracket);
    this.depth--;
    return this;
  }

  beginObject(): JsonWriter {
    return this.open(0x7b);
  }

  endObject(): JsonWriter {
    return this.close(0x7d);
  }

  beginArray(): JsonWriter {
    return this.open(0x5b);
  }

  endArray(): JsonWriter {
    return this.close(0x5d);
  }

  /** Writes a member name inside an object; the next call writes its value. */
  key(name: string): JsonWriter {
    this.separate();
    writeEscapedString(this.out, name);
    this.out.pushByte(0x3a);
    this.afterKey = true;
    return this;
  }

  stringValue(value: string): JsonWriter {
    this.separate();
    writeEscapedString(this.out, value);
    return this;
  }

  /** A string, or null when `value` is null. */
  nullableString(value: string | null): JsonWriter {
    if (value === null) return this.nullValue();
    return this.stringValue(value);
  }

  /** A number; NaN and infinities become null, as JSON.stringify writes them. */
  numberValue(value: f64): JsonWriter {
    this.separate();
    if (!isFinite(value)) this.out.pushAscii('null');
    else if (value == Math.trunc(value) && Math.abs(value) <= MAX_EXACT_INTEGER) {
      pushDecimal(this.out, <i64>value);
    } else this.out.pushAscii(value.toString());
    return this;
  }

  integerValue(value: i64): JsonWriter {
    this.separate();
    pushDecimal(this.out, value);
    return this;
  }

  boolValue(value: bool): JsonWriter {
    this.separate();
    this.out.pushAscii(value ? 'true' : 'false');
    return this;
  }

  nullValue(): JsonWriter {
    this.separate();
    this.out.pushAscii('null');
    return this;
  }

  /** Writes bytes that already are one valid JSON value (e.g. from JsonReader.readRawValue). */
  rawValue(json: ArrayBuffer): JsonWriter {
    this.separate();
    this.out.pushBytes(changetype<usize>(json), <usize>json.byteLength);
    return this;
  }

  /** The JSON text written so far. */
  toString(): string {
    return this.out.toString();
  }
}

function pushUnicodeEscape(out: ByteBuffer, unit: u32): void {
  out.pushByte(0x5c);
  out.pushByte(0x75);
  out.pushByte(HEX_DIGITS.charCodeAt((unit >> 12) & 0xf));
  out.pushByte(HEX_DIGITS.charCodeAt((unit >> 8) & 0xf));
  out.pushByte(HEX_DIGITS.charCodeAt((unit >> 4) & 0xf));
  out.pushByte(HEX_DIGITS.charCodeAt(unit & 0xf));
}

// Bytes the escaped form of `count` code units at `chars` takes (without quotes): reserving
// exactly this keeps a guest's heap, and so the memory pages it touches, small.
function escapedLength(chars: usize, count: i32): usize {
  let length: usize = 0;
  for (let i = 0; i < count; i++) {
    const unit = <u32>load<u16>(chars + ((<usize>i) << 1));
    if (unit >= 0x20 && unit < 0x80) length += unit == 0x22 || unit == 0x5c ? 2 : 1;
    else if (unit < 0x20)
      length += unit == 0x08 || unit == 0x09 || unit == 0x0a || unit == 0x0c || unit == 0x0d ? 2 : 6;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit < 0xe000) {
      const next = i + 1 < count ? <u32>load<u16>(chars + ((<usize>(i + 1)) << 1)) : 0;
      if (unit < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
        length += 4;
        i++;
      } else length += 6;
    } else length += 3;
  }
  return length;
}

/** Appends `value` as a quoted, escaped JSON string in UTF-8. */
export function writeEscapedString(out: ByteBuffer, value: string): void {
  const count = value.length;
  const chars = changetype<usize>(value);
  out.reserve(escapedLength(chars, count) + 2);
  out.pushByte(0x22);
  for (let i = 0; i < count; i++) {
    const unit = <u32>load<u16>(chars + ((<usize>i) << 1));
    if (unit >= 0x20 && unit < 0x80) {
      if (unit == 0x22 || unit == 0x5c) out.pushByte(0x5c);
      out.pushByte(unit);
    } else if (unit < 0x20) {
      if (unit == 0x08) pushShortEscape(out, 0x62);
      else if (unit == 0x09) pushShortEscape(out, 0x74);
      else if (unit == 0x0a) pushShortEscape(out, 0x6e);
      else if (unit == 0x0c) pushShortEscape(out, 0x66);
      else if (unit == 0x0d) pushShortEscape(out, 0x72);
      else pushUnicodeEscape(out, unit);
    } else if (unit < 0x800) {
      out.pushByte(0xc0 | (unit >> 6));
      out.pushByte(0x80 | (unit & 0x3f));
    } else if (unit >= 0xd800 && unit < 0xe000) {
      const next = i + 1 < count ? <u32>load<u16>(chars + ((<usize>(i + 1)) << 1)) : 0;
      if (unit < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
        const codePoint = 0x10000 + (((unit & 0x3ff) << 10) | (next & 0x3ff));
        out.pushByte(0xf0 | (codePoint >> 18));
        out.pushByte(0x80 | ((codePoint >> 12) & 0x3f));
        out.pushByte(0x80 | ((codePoint >> 6) & 0x3f));
        out.pushByte(0x80 | (codePoint & 0x3f));
        i++;
      } else pushUnicodeEscape(out, unit);
    } else {
      out.pushByte(0xe0 | (unit >> 12));
      out.pushByte(0x80 | ((unit >> 6) & 0x3f));
      out.pushByte(0x80 | (unit & 0x3f));
    }
  }
  out.pushByte(0x22);
}

function pushShortEscape(out: ByteBuffer, letter: u32): void {
  out.pushByte(0x5c);
  out.pushByte(letter);
}
