// The request a Gojinn guest receives on stdin:
//   {"method": "...", "uri": "...", "headers": {"name": "value", ...}, "body": "...", "trace_id": "..."}
// Every field is optional here (a missing one reads as ""), unknown fields are skipped, and a
// repeated field keeps its last value, as JSON.parse would.
import { Headers } from './headers';
import { JSON_STRING, JsonReader } from './json-reader';
import { readStdin } from './stdio';
import { QueryParam, parseQuery, queryParam, uriPath } from './uri';

export class Request {
  method: string = '';
  uri: string = '';
  headers: Headers = new Headers();
  body: string = '';
  traceId: string = '';

  /** The URI's path, before any `?` or `#`, still percent-encoded. */
  get path(): string {
    return uriPath(this.uri);
  }

  /** The decoded value of the first query parameter `name`, or null. */
  query(name: string): string | null {
    return queryParam(this.uri, name);
  }

  /** All query parameters, decoded, in order. */
  queryParams(): QueryParam[] {
    return parseQuery(this.uri);
  }
}

/** A parsed request, or why the input was not one. */
export class RequestParse {
  request: Request = new Request();
  /** Null when the input was a valid request. */
  error: string | null = null;
}

function readStringField(reader: JsonReader, name: string): string {
  if (reader.peekKind() != JSON_STRING) {
    reader.fail("request field '" + name + "' must be a string");
    return '';
  }
  const value = reader.readString();
  return value === null ? '' : value;
}

function readHeaders(reader: JsonReader, headers: Headers): void {
  if (!reader.beginObject()) return;
  while (true) {
    const name = reader.nextKey();
    if (name === null) return;
    if (reader.peekKind() != JSON_STRING) {
      reader.fail("header '" + name + "' must have a string value");
      return;
    }
    const value = reader.readString();
    if (value === null) return;
    headers.set(name, value);
  }
}

/** Parses request JSON from `length` bytes at `ptr`. */
export function parseRequest(ptr: usize, length: usize): RequestParse {
  return parseWith(new JsonReader(ptr, length));
}

function parseWith(reader: JsonReader): RequestParse {
  const result = new RequestParse();
  const request = result.request;
  if (reader.beginObject()) {
    while (true) {
      const key = reader.nextKey();
      if (key === null) break;
      if (key == 'method') request.method = readStringField(reader, key);
      else if (key == 'uri') request.uri = readStringField(reader, key);
      else if (key == 'body') request.body = readStringField(reader, key);
      else if (key == 'trace_id') request.traceId = readStringField(reader, key);
      else if (key == 'headers') {
        request.headers = new Headers();
        readHeaders(reader, request.headers);
      } else reader.skipValue();
      if (reader.failed) break;
    }
    reader.finish();
  }
  if (reader.failed) result.error = 'invalid request: ' + reader.error!;
  return result;
}

/** Parses request JSON held in `data`. */
export function parseRequestBuffer(data: ArrayBuffer): RequestParse {
  return parseWith(JsonReader.ofBuffer(data));
}

/** Reads stdin to its end and parses it as the request. */
export function readRequest(): RequestParse {
  return parseRequestBuffer(readStdin());
}
