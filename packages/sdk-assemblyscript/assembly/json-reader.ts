// A pull reader for JSON (RFC 8259) over UTF-8 bytes in linear memory. Strict: anything that
// JSON.parse would reject is an error here too (and a few things it would accept are not:
// malformed UTF-8 inside strings). The first error stops the reader and is kept in `error`,
// with the byte offset where it happened; every later call then returns its failure value.
import { CodeUnitBuffer } from './buffers';
import { decimalText } from './decimal-text';
import { parseJsonNumber } from './decimal-to-double';
import { MALFORMED, decodeCodePoint, decodedLength } from './utf8';

/** Deepest nesting of arrays and objects the reader accepts; deeper input is an error. */
export const MAX_JSON_DEPTH: i32 = 64;

// Kinds of value, as peekKind() reports them.
export const JSON_INVALID: i32 = 0;
export const JSON_OBJECT: i32 = 1;
export const JSON_ARRAY: i32 = 2;
export const JSON_STRING: i32 = 3;
export const JSON_NUMBER: i32 = 4;
export const JSON_TRUE: i32 = 5;
export const JSON_FALSE: i32 = 6;
export const JSON_NULL: i32 = 7;

// Container states on the reader's stack.
const OBJECT_FIRST: u8 = 0;
const OBJECT_NEXT: u8 = 1;
const ARRAY_FIRST: u8 = 2;
const ARRAY_NEXT: u8 = 3;

const QUOTE: u32 = 0x22;
const BACKSLASH: u32 = 0x5c;
const COMMA: u32 = 0x2c;
const COLON: u32 = 0x3a;
const MINUS: u32 = 0x2d;
const PLUS: u32 = 0x2b;
const DOT: u32 = 0x2e;
const DIGIT_0: u32 = 0x30;
const OPEN_BRACE: u32 = 0x7b;
const CLOSE_BRACE: u32 = 0x7d;
const OPEN_BRACKET: u32 = 0x5b;
const CLOSE_BRACKET: u32 = 0x5d;

function isDigit(byte: u32): bool {
  return byte - DIGIT_0 < 10;
}

function hexValue(byte: u32): i32 {
  if (byte - 0x30 < 10) return <i32>(byte - 0x30);
  const lower = byte | 0x20;
  if (lower - 0x61 < 6) return <i32>(lower - 0x61 + 10);
  return -1;
}

export class JsonReader {
  private start: usize;
  private pos: usize;
  private end: usize;
  private depth: i32 = 0;
  private numberStart: usize = 0; // where the number scanNumber() last passed over began
  private stack: StaticArray<u8> = new StaticArray<u8>(MAX_JSON_DEPTH);
  private text: CodeUnitBuffer = new CodeUnitBuffer();
  // Keeps the bytes alive (and unmoved) while the reader points into them.
  private owner: ArrayBuffer | null;
  /** The first error, e.g. "expected ':' at byte 12"; null while all is well. */
  error: string | null = null;

  /** Reads `length` bytes at `ptr`, which must stay valid while the reader is used. */
  constructor(ptr: usize, length: usize, owner: ArrayBuffer | null = null) {
    this.start = ptr;
    this.pos = ptr;
    this.end = ptr + length;
    this.owner = owner;
  }

  static ofBuffer(data: ArrayBuffer): JsonReader {
    return new JsonReader(changetype<usize>(data), <usize>data.byteLength, data);
  }

  static ofString(text: string): JsonReader {
    return JsonReader.ofBuffer(String.UTF8.encode(text));
  }

  get failed(): bool {
    return this.error !== null;
  }

  /** Byte offset of the next unread byte. */
  get offset(): i32 {
    return <i32>(this.pos - this.start);
  }

  /** Records the first error and returns false, so callers can `return this.fail(...)`. */
  fail(message: string): bool {
    if (this.error === null) this.error = message + ' at byte ' + decimalText(this.offset);
    return false;
  }

  private skipWhitespace(): void {
    let pos = this.pos;
    const end = this.end;
    while (pos < end) {
      const byte = <u32>load<u8>(pos);
      if (byte != 0x20 && byte != 0x0a && byte != 0x0d && byte != 0x09) break;
      pos++;
    }
    this.pos = pos;
  }

  /** The kind of the next value, without consuming it; JSON_INVALID at the end or on error. */
  peekKind(): i32 {
    if (this.error !== null) return JSON_INVALID;
    this.skipWhitespace();
    if (this.pos >= this.end) return JSON_INVALID;
    const byte = <u32>load<u8>(this.pos);
    if (byte == OPEN_BRACE) return JSON_OBJECT;
    if (byte == OPEN_BRACKET) return JSON_ARRAY;
    if (byte == QUOTE) return JSON_STRING;
    if (byte == MINUS || isDigit(byte)) return JSON_NUMBER;
    if (byte == 0x74) return JSON_TRUE; // t
    if (byte == 0x66) return JSON_FALSE; // f
    if (byte == 0x6e) return JSON_NULL; // n
    return JSON_INVALID;
  }

  private expectByte(expected: u32, what: string): bool {
    if (this.error !== null) return false;
    this.skipWhitespace();
    if (this.pos >= this.end) return this.fail('unexpected end of input, expected ' + what);
    if (<u32>load<u8>(this.pos) != expected) return this.fail('expected ' + what);
    this.pos++;
    return true;
  }

  // Consumes an opening bracket and enters the container; refuses (before consuming) when
  // that would nest deeper than MAX_JSON_DEPTH, so the error points at the bracket.
  private open(bracket: u32, what: string, state: u8): bool {
    if (this.error !== null) return false;
    this.skipWhitespace();
    if (this.pos < this.end && <u32>load<u8>(this.pos) == bracket && this.depth >= MAX_JSON_DEPTH) {
      return this.fail('nesting deeper than MAX_JSON_DEPTH (' + decimalText(MAX_JSON_DEPTH) + ')');
    }
    if (!this.expectByte(bracket, what)) return false;
    unchecked((this.stack[this.depth] = state));
    this.depth++;
    return true;
  }

  /** Consumes `{`. Then call nextKey() until it returns null. */
  beginObject(): bool {
    return this.open(OPEN_BRACE, "'{'", OBJECT_FIRST);
  }

  /** Consumes `[`. Then call nextItem() until it returns false. */
  beginArray(): bool {
    return this.open(OPEN_BRACKET, "'['", ARRAY_FIRST);
  }

  private topState(): i32 {
    return this.depth == 0 ? -1 : <i32>unchecked(this.stack[this.depth - 1]);
  }

  /**
   * The next member's key (its value is next to read), or null at the closing `}` (consumed)
   * or on error. The caller must read or skip each value before asking for the next key.
   */
  nextKey(): string | null {
    if (this.error !== null) return null;
    const state = this.topState();
    if (state != OBJECT_FIRST && state != OBJECT_NEXT) {
      this.fail('nextKey() called outside an object');
      return null;
    }
    this.skipWhitespace();
    if (this.pos < this.end && <u32>load<u8>(this.pos) == CLOSE_BRACE) {
      this.pos++;
      this.depth--;
      return null;
    }
    if (state == OBJECT_NEXT && !this.expectByte(COMMA, "',' or '}'")) return null;
    unchecked((this.stack[this.depth - 1] = OBJECT_NEXT));
    this.skipWhitespace();
    if (this.pos >= this.end || <u32>load<u8>(this.pos) != QUOTE) {
      this.fail(state == OBJECT_FIRST ? "expected a string key or '}'" : 'expected a string key');
      return null;
    }
    const key = this.readString();
    if (key === null || !this.expectByte(COLON, "':'")) return null;
    return key;
  }

  /** True when another array element follows (read or skip it next); false at `]` or on error. */
  nextItem(): bool {
    if (this.error !== null) return false;
    const state = this.topState();
    if (state != ARRAY_FIRST && state != ARRAY_NEXT) return this.fail('nextItem() called outside an array');
    this.skipWhitespace();
    if (this.pos < this.end && <u32>load<u8>(this.pos) == CLOSE_BRACKET) {
      this.pos++;
      this.depth--;
      return false;
    }
    if (state == ARRAY_NEXT && !this.expectByte(COMMA, "',' or ']'")) return false;
    unchecked((this.stack[this.depth - 1] = ARRAY_NEXT));
    return true;
  }

  /** Reads a string value (escapes and UTF-8 decoded), or null on error. */
  readString(): string | null {
    if (!this.expectByte(QUOTE, 'a string')) return null;
    const text = this.text;
    text.clear();
    let pos = this.pos;
    const end = this.end;
    while (true) {
      if (pos >= end) {
        this.pos = pos;
        this.fail('unterminated string');
        return null;
      }
      const byte = <u32>load<u8>(pos);
      if (byte == QUOTE) {
        this.pos = pos + 1;
        return text.toString();
      }
      if (byte == BACKSLASH) {
        this.pos = pos;
        if (!this.readEscape(text)) return null;
        pos = this.pos;
      } else if (byte < 0x20) {
        this.pos = pos;
        this.fail('unescaped control character in string');
        return null;
      } else if (byte < 0x80) {
        text.push(byte);
        pos++;
      } else {
        const codePoint = decodeCodePoint(pos, end);
        if (codePoint == MALFORMED) {
          this.pos = pos;
          this.fail('malformed UTF-8 in string');
          return null;
        }
        text.pushCodePoint(<u32>codePoint);
        pos += decodedLength;
      }
    }
  }

  // At a backslash: decodes one escape into `text`. A \uXXXX escape yields one UTF-16 code
  // unit, so a pair of escaped surrogates yields the pair, and a lone one stays lone (as in JS).
  private readEscape(text: CodeUnitBuffer): bool {
    const pos = this.pos;
    if (pos + 1 >= this.end) return this.fail('unterminated escape');
    const kind = <u32>load<u8>(pos, 1);
    let unit: u32 = 0;
    let length: usize = 2;
    if (kind == QUOTE || kind == BACKSLASH || kind == 0x2f) unit = kind;
    else if (kind == 0x62)
      unit = 0x08; // \b
    else if (kind == 0x66)
      unit = 0x0c; // \f
    else if (kind == 0x6e)
      unit = 0x0a; // \n
    else if (kind == 0x72)
      unit = 0x0d; // \r
    else if (kind == 0x74)
      unit = 0x09; // \t
    else if (kind == 0x75) {
      // \uXXXX
      if (pos + 6 > this.end) return this.fail('truncated \\u escape');
      for (let i: usize = 2; i < 6; i++) {
        const digit = hexValue(<u32>load<u8>(pos + i));
        if (digit < 0) return this.fail('invalid \\u escape');
        unit = (unit << 4) | (<u32>digit);
      }
      length = 6;
    } else return this.fail('invalid escape');
    text.push(unit);
    this.pos = pos + length;
    return true;
  }

  // Checks one number against the JSON grammar, -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?, and
  // moves past it.
  private scanNumber(): bool {
    if (this.peekKind() != JSON_NUMBER) return this.fail('expected a number');
    const end = this.end;
    let pos = this.pos;
    this.numberStart = pos;
    if (<u32>load<u8>(pos) == MINUS) pos++;
    if (pos >= end || !isDigit(<u32>load<u8>(pos))) return this.numberError(pos, 'expected a digit');
    if (<u32>load<u8>(pos) == DIGIT_0) pos++;
    else while (pos < end && isDigit(<u32>load<u8>(pos))) pos++;
    if (pos < end && <u32>load<u8>(pos) == DOT) {
      pos++;
      if (pos >= end || !isDigit(<u32>load<u8>(pos)))
        return this.numberError(pos, "expected a digit after '.'");
      while (pos < end && isDigit(<u32>load<u8>(pos))) pos++;
    }
    if (pos < end && ((<u32>load<u8>(pos)) | 0x20) == 0x65) {
      // e or E
      pos++;
      if (pos < end && (<u32>load<u8>(pos) == PLUS || <u32>load<u8>(pos) == MINUS)) pos++;
      if (pos >= end || !isDigit(<u32>load<u8>(pos)))
        return this.numberError(pos, 'expected a digit in exponent');
      while (pos < end && isDigit(<u32>load<u8>(pos))) pos++;
    }
    this.pos = pos;
    return true;
  }

  /**
   * Reads a number as the nearest f64, exactly as JSON.parse does (numbers beyond the f64
   * range become ±Infinity). NaN on error: JSON has no NaN, so NaN always means an error here.
   */
  readNumber(): f64 {
    if (!this.scanNumber()) return NaN;
    const length = this.pos - this.numberStart;
    return parseJsonNumber(this.numberStart, length);
  }

  private numberError(pos: usize, message: string): bool {
    this.pos = pos;
    return this.fail(message);
  }

  private readLiteral(word: string): bool {
    if (this.error !== null) return false;
    this.skipWhitespace();
    const length = <usize>word.length;
    if (this.pos + length > this.end) return this.fail('expected ' + word);
    const chars = changetype<usize>(word);
    for (let i: usize = 0; i < length; i++) {
      if (<u32>load<u8>(this.pos + i) != <u32>load<u16>(chars + (i << 1)))
        return this.fail('expected ' + word);
    }
    this.pos += length;
    return true;
  }

  /** Reads true or false; false on error too (check `failed`). */
  readBool(): bool {
    const kind = this.peekKind();
    if (kind == JSON_TRUE) return this.readLiteral('true');
    if (kind == JSON_FALSE) {
      this.readLiteral('false');
      return false;
    }
    return this.fail('expected true or false');
  }

  /** Consumes a null; false if the next value is not null. */
  readNull(): bool {
    if (this.peekKind() != JSON_NULL) return this.fail('expected null');
    return this.readLiteral('null');
  }

  /** Skips one value of any kind, checking it as thoroughly as reading it would. */
  skipValue(): bool {
    const kind = this.peekKind();
    if (kind == JSON_OBJECT) {
      if (!this.beginObject()) return false;
      while (this.nextKey() !== null) {
        if (!this.skipValue()) return false;
      }
    } else if (kind == JSON_ARRAY) {
      if (!this.beginArray()) return false;
      while (this.nextItem()) {
        if (!this.skipValue()) return false;
      }
    } else if (kind == JSON_STRING) {
      this.readString();
    } else if (kind == JSON_NUMBER) {
      this.scanNumber(); // grammar only: skipping needs no conversion
    } else if (kind == JSON_TRUE || kind == JSON_FALSE) {
      this.readBool();
    } else if (kind == JSON_NULL) {
      this.readNull();
    } else if (this.error === null) {
      this.skipWhitespace();
      return this.fail(
        this.pos >= this.end ? 'unexpected end of input, expected a value' : 'expected a value',
      );
    }
    return this.error === null;
  }

  /** Skips one value and returns a copy of its bytes (valid JSON), or null on error. */
  readRawValue(): ArrayBuffer | null {
    this.skipWhitespace();
    const begin = this.pos;
    if (!this.skipValue()) return null;
    const length = this.pos - begin;
    const copy = new ArrayBuffer(<i32>length);
    memory.copy(changetype<usize>(copy), begin, length);
    return copy;
  }

  /**
   * Reads an object and returns its string member `key` (the last one, if repeated), or null when
   * the value is not an object, has no such string member, or is malformed.
   */
  stringMember(key: string): string | null {
    if (this.peekKind() != JSON_OBJECT || !this.beginObject()) return null;
    let found: string | null = null;
    while (true) {
      const name = this.nextKey();
      if (name === null) break;
      if (name == key && this.peekKind() == JSON_STRING) found = this.readString();
      else this.skipValue();
    }
    return this.failed ? null : found;
  }

  /** True when only whitespace is left; otherwise records an error. Call after the top value. */
  finish(): bool {
    if (this.error !== null) return false;
    this.skipWhitespace();
    if (this.pos != this.end) return this.fail('unexpected data after the JSON value');
    return true;
  }
}
