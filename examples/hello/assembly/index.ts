// hello: greets and echoes. The benchmark guest for fresh-instance latency, so it stays small:
// stub runtime, one page of memory, no exports besides `memory` and `_start`.
//
//   GET /hello?name=Ada            → {"hello":"Ada","method":"GET","uri":"/hello?name=Ada","echo":null}
//   POST / with body {"name":"Bo"} → {"hello":"Bo","method":"POST","uri":"/","echo":{"name":"Bo"}}
//
// The name comes from the `name` query parameter, else from a string `name` member of a JSON
// object body, else it is "world". `echo` is the body itself when it is valid JSON, the body as
// a string when it is not, and null when it is empty.
import {
  JSON_OBJECT,
  JSON_STRING,
  JsonReader,
  JsonWriter,
  Request,
  Response,
  serve,
} from '@gojinn/sdk-assemblyscript/assembly';

const DEFAULT_NAME = 'world';

// The string `name` member of a JSON object body, or null.
function nameFromBody(body: JsonReader): string | null {
  if (body.peekKind() != JSON_OBJECT || !body.beginObject()) return null;
  let name: string | null = null;
  while (true) {
    const key = body.nextKey();
    if (key === null) break;
    if (key == 'name' && body.peekKind() == JSON_STRING) name = body.readString();
    else body.skipValue();
  }
  return body.failed ? null : name;
}

function hello(request: Request): Response {
  let name = request.query('name');
  let echo: ArrayBuffer | null = null;
  if (request.body.length > 0) {
    const body = JsonReader.ofString(request.body);
    const value = body.readRawValue();
    if (value !== null && body.finish()) {
      echo = value;
      if (name === null) name = nameFromBody(JsonReader.ofBuffer(value));
    }
  }
  const out = new JsonWriter().beginObject();
  out.key('hello').stringValue(name === null ? DEFAULT_NAME : name);
  out.key('method').stringValue(request.method);
  out.key('uri').stringValue(request.uri);
  out.key('echo');
  if (request.body.length == 0) out.nullValue();
  else if (echo !== null) out.rawValue(echo);
  else out.stringValue(request.body);
  out.endObject();
  return Response.json(200, out.toString());
}

serve(hello);
