// The response a Gojinn guest writes on stdout, once:
//   {"status": 200, "headers": {"name": "value", ...}, "body": "..."}
import { ByteBuffer } from './buffers';
import { Headers } from './headers';
import { JsonWriter } from './json-writer';
import { writeAll, STDOUT } from './stdio';

export const CONTENT_TYPE_JSON = 'application/json';
export const CONTENT_TYPE_TEXT = 'text/plain; charset=utf-8';

export class Response {
  /** HTTP status; the host accepts 100..599 and rejects anything else as bad_response. */
  status: i32;
  headers: Headers = new Headers();
  body: string;

  constructor(status: i32 = 200, body: string = '') {
    this.status = status;
    this.body = body;
  }

  /** A plain-text response. */
  static text(status: i32, body: string): Response {
    return new Response(status, body).withHeader('content-type', CONTENT_TYPE_TEXT);
  }

  /** A response whose body is JSON text (e.g. from a JsonWriter). */
  static json(status: i32, body: string): Response {
    return new Response(status, body).withHeader('content-type', CONTENT_TYPE_JSON);
  }

  /** Sets a header (replacing one of the same name) and returns this response. */
  withHeader(name: string, value: string): Response {
    this.headers.set(name, value);
    return this;
  }

  /** Appends this response's JSON encoding to `out`. */
  encodeInto(out: ByteBuffer): void {
    const writer = new JsonWriter(out);
    writer.beginObject().key('status').integerValue(this.status);
    writer.key('headers').beginObject();
    const names = this.headers.names;
    const values = this.headers.values;
    for (let i = 0; i < names.length; i++) writer.key(unchecked(names[i])).stringValue(unchecked(values[i]));
    writer.endObject();
    writer.key('body').stringValue(this.body).endObject();
  }
}

/**
 * Writes `response` to stdout. Call it once per invocation: the host reads stdout as exactly
 * one JSON document. Returns false when the host refused the write (e.g. output over its limit).
 */
export function respond(response: Response): bool {
  const out = new ByteBuffer();
  response.encodeInto(out);
  const written = writeAll(STDOUT, out.ptr, out.length);
  out.dispose();
  return written;
}
