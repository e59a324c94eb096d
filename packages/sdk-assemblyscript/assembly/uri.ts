// The request URI as the host passes it: path and query, still percent-encoded.
import { MALFORMED, REPLACEMENT_CHARACTER, decodeCodePoint, decodedLength } from './utf8';

const QUESTION_MARK = 0x3f;
const HASH = 0x23;
const PERCENT = 0x25;
const PLUS = 0x2b;

/** The path part of `uri` (before `?` or `#`), still percent-encoded. */
export function uriPath(uri: string): string {
  for (let i = 0; i < uri.length; i++) {
    const unit = uri.charCodeAt(i);
    if (unit == QUESTION_MARK || unit == HASH) return uri.substring(0, i);
  }
  return uri;
}

function hexValue(unit: u32): i32 {
  if (unit - 0x30 < 10) return <i32>(unit - 0x30);
  const lower = unit | 0x20;
  if (lower - 0x61 < 6) return <i32>(lower - 0x61 + 10);
  return -1;
}

/**
 * Decodes %XX escapes (and `+` as a space when `plusAsSpace`, as in form-encoded queries).
 * The decoded bytes are read as UTF-8; each byte of a malformed sequence becomes U+FFFD.
 * A `%` not followed by two hex digits is kept as it is.
 */
export function percentDecode(text: string, plusAsSpace: bool = false): string {
  // A fresh UTF-8 copy of `text`, decoded in place: decoding never makes it longer.
  const bytes = String.UTF8.encode(text);
  const ptr = changetype<usize>(bytes);
  const length = <usize>bytes.byteLength;
  let count: usize = 0;
  for (let i: usize = 0; i < length; i++) {
    let byte = <u32>load<u8>(ptr + i);
    if (byte == PERCENT && i + 2 < length) {
      const high = hexValue(<u32>load<u8>(ptr + i + 1));
      const low = hexValue(<u32>load<u8>(ptr + i + 2));
      if (high >= 0 && low >= 0) {
        byte = <u32>((high << 4) | low);
        i += 2;
      }
    } else if (byte == PLUS && plusAsSpace) byte = 0x20;
    store<u8>(ptr + count, <u8>byte);
    count++;
  }
  return decodeUtf8Lenient(ptr, count);
}

// UTF-8 → string, each byte of a malformed sequence becoming U+FFFD. Counts the code units
// first so the string is allocated once, at its final size, with no scratch buffer.
function decodeUtf8Lenient(ptr: usize, length: usize): string {
  const end = ptr + length;
  let units: usize = 0;
  for (let pos = ptr; pos < end;) {
    const codePoint = decodeCodePoint(pos, end);
    units += codePoint >= 0x10000 ? 2 : 1;
    pos += codePoint == MALFORMED ? 1 : decodedLength;
  }
  const text = changetype<string>(__new(units << 1, idof<string>()));
  let out = changetype<usize>(text);
  for (let pos = ptr; pos < end;) {
    let codePoint = decodeCodePoint(pos, end);
    pos += codePoint == MALFORMED ? 1 : decodedLength;
    if (codePoint == MALFORMED) codePoint = REPLACEMENT_CHARACTER;
    if (codePoint >= 0x10000) {
      const offset = <u32>codePoint - 0x10000;
      store<u16>(out, <u16>(0xd800 | (offset >> 10)));
      store<u16>(out, <u16>(0xdc00 | (offset & 0x3ff)), 2);
      out += 4;
    } else {
      store<u16>(out, <u16>codePoint);
      out += 2;
    }
  }
  return text;
}

/** One `name=value` pair of a query string, decoded. */
export class QueryParam {
  name: string;
  value: string;

  constructor(name: string, value: string) {
    this.name = name;
    this.value = value;
  }
}

/** The query of `uri` (after `?`, before `#`) as decoded pairs, in order; empty pairs skipped. */
export function parseQuery(uri: string): QueryParam[] {
  const params: QueryParam[] = [];
  let end = uri.indexOf('#');
  if (end < 0) end = uri.length;
  const begin = uri.indexOf('?');
  if (begin < 0 || begin > end) return params;
  let pairStart = begin + 1;
  while (pairStart <= end) {
    let pairEnd = uri.indexOf('&', pairStart);
    if (pairEnd < 0 || pairEnd > end) pairEnd = end;
    if (pairEnd > pairStart) {
      const pair = uri.substring(pairStart, pairEnd);
      const equals = pair.indexOf('=');
      if (equals < 0) params.push(new QueryParam(percentDecode(pair, true), ''));
      else {
        params.push(
          new QueryParam(
            percentDecode(pair.substring(0, equals), true),
            percentDecode(pair.substring(equals + 1), true),
          ),
        );
      }
    }
    pairStart = pairEnd + 1;
  }
  return params;
}

/** The decoded value of the first query parameter called `name`, or null. */
export function queryParam(uri: string, name: string): string | null {
  const params = parseQuery(uri);
  for (let i = 0; i < params.length; i++) {
    const param = unchecked(params[i]);
    if (param.name == name) return param.value;
  }
  return null;
}
