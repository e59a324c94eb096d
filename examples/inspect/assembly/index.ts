// inspect: answers with the request as the SDK understood it. Useful to see what a guest
// receives, and the test vehicle of the SDK's JSON reader and writer: a JSON body is decoded
// value by value and re-encoded, so any difference from the input shows up in `json`.
//
// With an `x-inspect-log` header it also logs "inspect: <method> <uri>" through gojinn.log.
//
// Responds 200 with
//   {"method":..., "uri":..., "path":..., "query":[[name, value], ...], "headers":{...},
//    "body":..., "trace_id":..., "json": <the body re-encoded, or null>, "json_error": <why not, or null>}
import {
  JSON_ARRAY,
  JSON_FALSE,
  JSON_NULL,
  JSON_NUMBER,
  JSON_OBJECT,
  JSON_STRING,
  JSON_TRUE,
  JsonReader,
  JsonWriter,
  LOG_INFO,
  Request,
  Response,
  log,
  serve,
} from '@gojinn/sdk-assemblyscript/assembly';

// Copies one value from `reader` to `writer`; false on error (reader.error says why).
// Recursion is bounded by the reader's MAX_JSON_DEPTH.
function transcode(reader: JsonReader, writer: JsonWriter): bool {
  const kind = reader.peekKind();
  if (kind == JSON_OBJECT) {
    if (!reader.beginObject()) return false;
    writer.beginObject();
    while (true) {
      const key = reader.nextKey();
      if (key === null) break;
      writer.key(key);
      if (!transcode(reader, writer)) return false;
    }
    if (reader.failed) return false;
    writer.endObject();
  } else if (kind == JSON_ARRAY) {
    if (!reader.beginArray()) return false;
    writer.beginArray();
    while (reader.nextItem()) {
      if (!transcode(reader, writer)) return false;
    }
    if (reader.failed) return false;
    writer.endArray();
  } else if (kind == JSON_STRING) {
    const text = reader.readString();
    if (text === null) return false;
    writer.stringValue(text);
  } else if (kind == JSON_NUMBER) {
    const value = reader.readNumber();
    if (reader.failed) return false;
    writer.numberValue(value);
  } else if (kind == JSON_TRUE || kind == JSON_FALSE) {
    const value = reader.readBool();
    if (reader.failed) return false;
    writer.boolValue(value);
  } else if (kind == JSON_NULL) {
    if (!reader.readNull()) return false;
    writer.nullValue();
  } else return reader.skipValue(); // records the error for whatever is there
  return true;
}

function inspect(request: Request): Response {
  // Exercises the gojinn.log wrapper: one line per request that asks for it.
  if (request.headers.has('x-inspect-log')) log(LOG_INFO, 'inspect: ' + request.method + ' ' + request.uri);
  const out = new JsonWriter().beginObject();
  out.key('method').stringValue(request.method);
  out.key('uri').stringValue(request.uri);
  out.key('path').stringValue(request.path);
  out.key('query').beginArray();
  const params = request.queryParams();
  for (let i = 0; i < params.length; i++) {
    const param = params[i];
    out.beginArray().stringValue(param.name).stringValue(param.value).endArray();
  }
  out.endArray();
  out.key('headers').beginObject();
  const headers = request.headers;
  for (let i = 0; i < headers.length; i++) out.key(headers.names[i]).stringValue(headers.values[i]);
  out.endObject();
  out.key('body').stringValue(request.body);
  out.key('trace_id').stringValue(request.traceId);

  // The body is transcoded into a writer of its own, so a failure halfway leaves `out` intact.
  const reader = JsonReader.ofString(request.body);
  const json = new JsonWriter();
  if (transcode(reader, json) && reader.finish()) {
    out.key('json').rawValue(json.out.toArrayBuffer());
    out.key('json_error').nullValue();
  } else {
    out.key('json').nullValue();
    out.key('json_error').nullableString(reader.error);
  }
  return Response.json(200, out.endObject().toString());
}

serve(inspect);
