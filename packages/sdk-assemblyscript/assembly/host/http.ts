// Outbound HTTP through `gojinn.http_request` (capability net.http; docs/capabilities-http.md).
// The node decides what is reachable: only origins in the module's granted `net.http` hosts, never
// private, loopback or link-local addresses unless the node allows them. Every call makes the
// invocation non-deterministic (the network is not part of its inputs).
//
//   const result = httpGet('https://api.example.com/v1/items');
//   if (result.ok) { const response = result.response!; ... response.status, response.text() }
//   else if (result.errno == HTTP_DENIED) { ... }
//
// Wire format (the host's side is packages/capabilities/src/http/wire.ts): the request is
//   {"url":..., "method":..., "headers":{...}, "body": base64, "redirect": "follow"|"manual", "timeout_ms": n}
// and the response {"status": n, "headers": {...}, "body": base64, "url": ..., "redirects": n}.
import { ByteBuffer } from '../buffers';
import { Headers } from '../headers';
import { JSON_NUMBER, JSON_STRING, JsonReader } from '../json-reader';
import { JsonWriter } from '../json-writer';
import {
  HOST_DENIED,
  HOST_INVALID,
  HOST_LIMIT,
  HOST_TIMEOUT,
  HOST_UPSTREAM,
  finishCall,
  hostError,
} from './call';
import * as gojinn from './gojinn';

// Host error numbers a call can fail with (result.errno holds one; the values are call.ts's).
/** The URL's origin is not in the module's net.http hosts, or resolves to a refused address. */
export const HTTP_DENIED: i32 = HOST_DENIED;
/** The request was malformed: a denied header (host, connection, …), bad method, body on GET. */
export const HTTP_INVALID: i32 = HOST_INVALID;
/** A request or response limit was exceeded (URL, headers, body size). */
export const HTTP_LIMIT: i32 = HOST_LIMIT;
/** The call's timeout or the invocation's deadline came first. */
export const HTTP_TIMEOUT: i32 = HOST_TIMEOUT;
/** The origin failed: no such host, connection refused, TLS error, bad HTTP, too many redirects. */
export const HTTP_UPSTREAM: i32 = HOST_UPSTREAM;

/** First guess at the response size; a larger response arrives through result_take. */
const FIRST_RESPONSE_CAPACITY: i32 = 16 * 1024;

export class HttpRequest {
  method: string;
  url: string;
  headers: Headers = new Headers();
  body: ArrayBuffer | null = null;
  /** false: a 3xx is returned as it is instead of being followed. */
  followRedirects: bool = true;
  /** This call's timeout in ms (0: the node's default); never beyond the invocation's deadline. */
  timeoutMs: i32 = 0;

  constructor(url: string, method: string = 'GET') {
    this.url = url;
    this.method = method;
  }

  /** Sets a request header (replacing one of the same name) and returns this request. */
  header(name: string, value: string): HttpRequest {
    this.headers.set(name, value);
    return this;
  }

  /** Sets the body to the UTF-8 bytes of `text`. */
  text(text: string): HttpRequest {
    this.body = String.UTF8.encode(text);
    return this;
  }

  /** Sets the body to `bytes`. */
  bytes(bytes: ArrayBuffer): HttpRequest {
    this.body = bytes;
    return this;
  }

  /** Appends this request's JSON encoding (the http_request wire format) to `out`. */
  encodeInto(out: ByteBuffer): void {
    const writer = new JsonWriter(out);
    writer.beginObject().key('url').stringValue(this.url).key('method').stringValue(this.method);
    writer.key('headers').beginObject();
    const names = this.headers.names;
    const values = this.headers.values;
    for (let i = 0; i < names.length; i++) writer.key(unchecked(names[i])).stringValue(unchecked(values[i]));
    writer.endObject();
    const body = this.body;
    if (body !== null && body.byteLength > 0) {
      // base64 needs no escaping: the quoted text is written as a raw JSON value.
      const length = <usize>body.byteLength;
      const quoted = new ArrayBuffer(<i32>(base64Length(length) + 2));
      const dst = changetype<usize>(quoted);
      store<u8>(dst, 0x22);
      base64Encode(changetype<usize>(body), length, dst + 1);
      store<u8>(dst + 1 + base64Length(length), 0x22);
      writer.key('body').rawValue(quoted);
    }
    if (!this.followRedirects) writer.key('redirect').stringValue('manual');
    if (this.timeoutMs > 0) writer.key('timeout_ms').integerValue(this.timeoutMs);
    writer.endObject();
  }
}

export class HttpResponse {
  status: i32 = 0;
  headers: Headers = new Headers();
  body: ArrayBuffer = new ArrayBuffer(0);
  /** The URL that answered (after redirects). */
  url: string = '';
  redirects: i32 = 0;

  /** The body decoded as UTF-8 (invalid sequences become U+FFFD). */
  text(): string {
    return String.UTF8.decode(this.body);
  }
}

export class HttpResult {
  /** 0 when `response` is set; otherwise the host error number (HTTP_DENIED, HTTP_TIMEOUT, …). */
  errno: i32 = 0;
  response: HttpResponse | null = null;
  /** Set when the host's answer could not be read (a host bug; errno is HTTP_UPSTREAM then). */
  error: string | null = null;

  get ok(): bool {
    return this.errno == 0;
  }

  static failed(errno: i32, error: string | null = null): HttpResult {
    const result = new HttpResult();
    result.errno = errno;
    result.error = error;
    return result;
  }
}

/** Sends `request` and waits for its response (the guest blocks; its fuel is charged per byte). */
export function httpRequest(request: HttpRequest): HttpResult {
  const encoded = new ByteBuffer();
  request.encodeInto(encoded);
  const out = new ArrayBuffer(FIRST_RESPONSE_CAPACITY);
  const result = gojinn.http_request(
    encoded.ptr,
    encoded.length,
    changetype<usize>(out),
    <usize>out.byteLength,
  );
  encoded.dispose();
  const bytes = finishCall(result, out);
  if (bytes === null) return HttpResult.failed(hostError());
  return parseResponse(changetype<usize>(bytes), <usize>bytes.byteLength);
}

/** A GET of `url` with no extra headers. */
export function httpGet(url: string): HttpResult {
  return httpRequest(new HttpRequest(url));
}

function parseResponse(ptr: usize, length: usize): HttpResult {
  const reader = new JsonReader(ptr, length);
  const response = new HttpResponse();
  if (reader.beginObject()) {
    while (true) {
      const key = reader.nextKey();
      if (key === null) break;
      if ((key == 'status' || key == 'redirects') && reader.peekKind() == JSON_NUMBER) {
        const value = <i32>reader.readNumber();
        if (key == 'status') response.status = value;
        else response.redirects = value;
      } else if ((key == 'url' || key == 'body') && reader.peekKind() == JSON_STRING) {
        const text = reader.readString();
        if (text === null) break;
        if (key == 'url') response.url = text;
        else {
          const body = base64Decode(text);
          if (body === null) {
            reader.fail('response body is not base64');
            break;
          }
          response.body = body;
        }
      } else if (key == 'headers' && reader.beginObject()) {
        while (true) {
          const name = reader.nextKey();
          if (name === null) break;
          const value = reader.peekKind() == JSON_STRING ? reader.readString() : null;
          if (value === null) {
            reader.fail('response header values must be strings');
            break;
          }
          response.headers.set(name, value);
        }
      } else reader.skipValue();
      if (reader.failed) break;
    }
    reader.finish();
  }
  if (reader.failed)
    return HttpResult.failed(HTTP_UPSTREAM, 'unreadable http_request response: ' + reader.error!);
  const result = new HttpResult();
  result.response = response;
  return result;
}

// Base64 (RFC 4648, standard alphabet, padded), computed rather than looked up: no table in
// static memory, so a guest that never calls HTTP touches no extra page.
function base64Char(value: u32): u32 {
  if (value < 26) return 0x41 + value; // A-Z
  if (value < 52) return 0x61 + value - 26; // a-z
  if (value < 62) return 0x30 + value - 52; // 0-9
  return value == 62 ? 0x2b : 0x2f; // + /
}

function base64Value(unit: u32): i32 {
  if (unit - 0x41 < 26) return <i32>(unit - 0x41);
  if (unit - 0x61 < 26) return <i32>(unit - 0x61 + 26);
  if (unit - 0x30 < 10) return <i32>(unit - 0x30 + 52);
  if (unit == 0x2b) return 62;
  if (unit == 0x2f) return 63;
  return -1;
}

/** Characters of the padded base64 text of `length` bytes. */
export function base64Length(length: usize): usize {
  return ((length + 2) / 3) * 4;
}

/** Writes the base64 text of `length` bytes at `src` to `dst` (base64Length(length) bytes). */
export function base64Encode(src: usize, length: usize, dst: usize): void {
  let i: usize = 0;
  let o = dst;
  for (; i + 3 <= length; i += 3) {
    const word =
      ((<u32>load<u8>(src + i)) << 16) | ((<u32>load<u8>(src + i + 1)) << 8) | (<u32>load<u8>(src + i + 2));
    store<u8>(o, base64Char(word >> 18));
    store<u8>(o + 1, base64Char((word >> 12) & 63));
    store<u8>(o + 2, base64Char((word >> 6) & 63));
    store<u8>(o + 3, base64Char(word & 63));
    o += 4;
  }
  const rest = length - i;
  if (rest == 0) return;
  const word = ((<u32>load<u8>(src + i)) << 16) | (rest == 2 ? (<u32>load<u8>(src + i + 1)) << 8 : 0);
  store<u8>(o, base64Char(word >> 18));
  store<u8>(o + 1, base64Char((word >> 12) & 63));
  store<u8>(o + 2, rest == 2 ? base64Char((word >> 6) & 63) : 0x3d);
  store<u8>(o + 3, 0x3d);
}

/** The bytes of padded base64 `text`, or null when it is not exactly that. */
export function base64Decode(text: string): ArrayBuffer | null {
  const length = text.length;
  if (length % 4 != 0) return null;
  let padding = 0;
  if (length > 0 && text.charCodeAt(length - 1) == 0x3d)
    padding = text.charCodeAt(length - 2) == 0x3d ? 2 : 1;
  const out = new ArrayBuffer((length / 4) * 3 - padding);
  const dst = changetype<usize>(out);
  let written: usize = 0;
  for (let i = 0; i < length; i += 4) {
    const last = i + 4 == length;
    let word: u32 = 0;
    for (let j = 0; j < 4; j++) {
      const unit = <u32>text.charCodeAt(i + j);
      let value = base64Value(unit);
      if (value < 0) {
        // '=' only as the last one or two characters of the text.
        if (unit != 0x3d || !last || j < 4 - padding) return null;
        value = 0;
      }
      word = (word << 6) | (<u32>value);
    }
    store<u8>(dst + written, <u8>(word >> 16));
    if (written + 1 < <usize>out.byteLength) store<u8>(dst + written + 1, <u8>(word >> 8));
    if (written + 2 < <usize>out.byteLength) store<u8>(dst + written + 2, <u8>word);
    written += 3;
  }
  return out;
}
