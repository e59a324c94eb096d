// http-proxy: forwards a GET to an upstream origin through `gojinn.http_request` and answers
// with the upstream's status, content type and body.
//
// The upstream origin comes from the `x-upstream` request header (default https://example.com),
// so one build can be pointed at a test server; what it may actually reach is decided by the
// node, not by this code: the module's signed `net.http` hosts intersected with the node's
// grant, and never a private, loopback or link-local address unless the node allows it. A real
// proxy would hard-code its upstream.
//
//   GET /path?q=1  (x-upstream: https://api.example.com)  →  GET https://api.example.com/path?q=1
//
// Errors: 405 for anything but GET; 403 when the node denies the upstream, 504 on timeout, 502
// when the upstream fails — each with {"error": "...", "errno": n}.
import { CONTENT_TYPE_JSON, JsonWriter, Request, Response, serve } from '@gojinn/sdk-assemblyscript/assembly';
import {
  HTTP_DENIED,
  HTTP_TIMEOUT,
  HttpRequest,
  httpRequest,
} from '@gojinn/sdk-assemblyscript/assembly/host/http';

const DEFAULT_UPSTREAM = 'https://example.com';
/** Request headers passed on to the upstream; nothing else is (no cookies, no authorization). */
const FORWARDED_HEADERS: string[] = ['accept', 'accept-language'];

function failure(status: i32, message: string, errno: i32): Response {
  const body = new JsonWriter().beginObject().key('error').stringValue(message);
  body.key('errno').integerValue(errno).endObject();
  return new Response(status, body.toString()).withHeader('content-type', CONTENT_TYPE_JSON);
}

function proxy(request: Request): Response {
  if (request.method != 'GET') return failure(405, 'only GET is forwarded', 0);
  const chosen = request.headers.get('x-upstream');
  const upstream = chosen !== null ? chosen : DEFAULT_UPSTREAM;
  const path = request.uri.startsWith('/') ? request.uri : '/' + request.uri;
  const outbound = new HttpRequest(upstream + path);
  for (let i = 0; i < FORWARDED_HEADERS.length; i++) {
    const value = request.headers.get(FORWARDED_HEADERS[i]);
    if (value !== null) outbound.header(FORWARDED_HEADERS[i], value);
  }
  const result = httpRequest(outbound);
  if (!result.ok) {
    if (result.errno == HTTP_DENIED)
      return failure(403, 'upstream not allowed for this function', result.errno);
    if (result.errno == HTTP_TIMEOUT) return failure(504, 'upstream timed out', result.errno);
    return failure(502, 'upstream failed', result.errno);
  }
  const response = result.response!;
  // The guest contract allows statuses 100..599; HTTP/1.1 parsers accept any three digits.
  if (response.status < 100 || response.status > 599) return failure(502, 'upstream status out of range', 0);
  const out = new Response(response.status, response.text());
  const type = response.headers.get('content-type');
  if (type !== null) out.withHeader('content-type', type);
  return out;
}

serve(proxy);
