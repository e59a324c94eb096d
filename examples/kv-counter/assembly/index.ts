// kv-counter: counts visits per name in the module's own key-value store.
//
//   GET /?key=home  → {"key":"home","count":1}, then 2, 3, ...
//
// The counter lives under `counter/<key>` (the manifest declares kv.read and kv.write with the
// prefix `counter/`); without `key` the name is "default". A stored value that is not a
// decimal number counts as 0. Failures answer with the host's reason:
//   403 {"error":"denied"}   the key is outside the granted prefixes
//   507 {"error":"quota"}    the module's storage quota is full
//   413 {"error":"limit"}    the key is too long
//   500 {"error":"host", "errno": n} anything else
import {
  HOST_DENIED,
  HOST_LIMIT,
  HOST_NOT_FOUND,
  HOST_QUOTA,
  JsonWriter,
  Request,
  Response,
  decimalText,
  hostError,
  kvGet,
  kvSet,
  serve,
} from '@gojinn/sdk-assemblyscript/assembly';

const PREFIX = 'counter/';
const DEFAULT_KEY = 'default';

// The decimal number in `text`, or 0 when it is not one (no radix tables: see decimal-text.ts).
function parseCount(text: string): i64 {
  if (text.length == 0 || text.length > 18) return 0;
  let value: i64 = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return 0;
    value = value * 10 + digit;
  }
  return value;
}

function failure(errno: i32): Response {
  const out = new JsonWriter().beginObject();
  let status = 500;
  if (errno == HOST_DENIED) {
    status = 403;
    out.key('error').stringValue('denied');
  } else if (errno == HOST_QUOTA) {
    status = 507;
    out.key('error').stringValue('quota');
  } else if (errno == HOST_LIMIT) {
    status = 413;
    out.key('error').stringValue('limit');
  } else {
    out.key('error').stringValue('host');
    out.key('errno').integerValue(errno);
  }
  return Response.json(status, out.endObject().toString());
}

function count(request: Request): Response {
  const name = request.query('key');
  const key = name === null || name.length == 0 ? DEFAULT_KEY : name;
  let current: i64 = 0;
  const stored = kvGet(PREFIX + key);
  if (stored !== null) current = parseCount(stored);
  else if (hostError() != HOST_NOT_FOUND) return failure(hostError());
  const next = current + 1;
  if (!kvSet(PREFIX + key, decimalText(next))) return failure(hostError());
  const out = new JsonWriter().beginObject();
  out.key('key').stringValue(key);
  out.key('count').integerValue(next);
  return Response.json(200, out.endObject().toString());
}

serve(count);
