import { GojinnError, type ErrorCode } from '@gojinn/errors';
import { MAX_JSON_DEPTH } from './limits.ts';
import { quote } from './quote.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

const NUMBER_PATTERN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
// eslint-disable-next-line no-control-regex -- RFC 8259 forbids raw control characters in strings
const STRING_PATTERN = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses untrusted JSON bytes once, strictly: valid UTF-8 without a byte order mark, RFC 8259
 * grammar, nesting at most `maxDepth`, and — unlike JSON.parse, which keeps the last of
 * duplicate keys — duplicate object keys rejected, so two readers can never see different
 * values in one signed document. Objects come back with a null prototype (`__proto__` is an
 * ordinary key). The caller bounds the byte length before calling.
 */
export function parseStrictJson(
  bytes: Uint8Array,
  what: string,
  code: ErrorCode,
  maxDepth = MAX_JSON_DEPTH,
): JsonValue {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new GojinnError(code, `${what} is not valid UTF-8`);
  }
  const fail = (message: string, at: number): never => {
    throw new GojinnError(code, `${what} is not valid JSON: ${message} at offset ${at}`);
  };
  let pos = 0;
  const skipWhitespace = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };
  const readString = (): string => {
    STRING_PATTERN.lastIndex = pos;
    const match = STRING_PATTERN.exec(text);
    if (match === null) return fail('malformed string', pos);
    pos += match[0].length;
    return JSON.parse(match[0]) as string;
  };
  const readValue = (depth: number): JsonValue => {
    skipWhitespace();
    const c = text[pos];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth} (limit MAX_JSON_DEPTH)`, pos);
      pos++;
      return c === '{' ? readObject(depth + 1) : readArray(depth + 1);
    }
    if (c === '"') return readString();
    if (text.startsWith('true', pos)) return ((pos += 4), true);
    if (text.startsWith('false', pos)) return ((pos += 5), false);
    if (text.startsWith('null', pos)) return ((pos += 4), null);
    NUMBER_PATTERN.lastIndex = pos;
    const match = NUMBER_PATTERN.exec(text);
    if (match === null)
      return fail(c === undefined ? 'unexpected end' : `unexpected character ${quote(c)}`, pos);
    pos += match[0].length;
    const value = Number(match[0]);
    if (!Number.isFinite(value)) fail('number out of range', pos);
    return value;
  };
  const readObject = (depth: number): JsonObject => {
    const object: JsonObject = Object.create(null) as JsonObject;
    skipWhitespace();
    if (text[pos] === '}') return (pos++, object);
    for (;;) {
      skipWhitespace();
      if (text[pos] !== '"') fail('expected a string key', pos);
      const keyAt = pos;
      const key = readString();
      if (Object.hasOwn(object, key)) fail(`duplicate key ${quote(key)}`, keyAt);
      skipWhitespace();
      if (text[pos] !== ':') fail("expected ':'", pos);
      pos++;
      object[key] = readValue(depth);
      skipWhitespace();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] === '}') return (pos++, object);
      fail("expected ',' or '}'", pos);
    }
  };
  const readArray = (depth: number): JsonValue[] => {
    const array: JsonValue[] = [];
    skipWhitespace();
    if (text[pos] === ']') return (pos++, array);
    for (;;) {
      array.push(readValue(depth));
      skipWhitespace();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] === ']') return (pos++, array);
      fail("expected ',' or ']'", pos);
    }
  };
  if (text.charCodeAt(0) === 0xfeff) fail('byte order mark', 0);
  const value = readValue(0);
  skipWhitespace();
  if (pos !== text.length) fail('trailing characters', pos);
  return value;
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
