// hello: greets and echoes. The benchmark guest for fresh-instance latency, so it stays small:
// stub runtime, one page of memory, no exports besides `memory` and `_start`.
//
//   GET /hello?name=Ada            → {"hello":"Ada","method":"GET","uri":"/hello?name=Ada","echo":null}
//   POST / with body {"name":"Bo"} → {"hello":"Bo","method":"POST","uri":"/","echo":{"name":"Bo"}}
//
// The name comes from the `name` query parameter, else from a string `name` member of a JSON
// object body, else it is "world". `echo` is the body itself when it is valid JSON, the body as
// a string when it is not, and null when it is empty.
import { JsonReader, JsonWriter, Request, Response, serve } from '@gojinn/sdk-assemblyscript/assembly';

const DEFAULT_NAME = 'world';

function hello(request: Request): Response {
  let name = request.query('name');
  let echo: ArrayBuffer | null = null;
  if (request.body.length > 0) {
    const body = JsonReader.ofString(request.body);
    const value = body.readRawValue();
    if (value !== null && body.finish()) {
      echo = value;
      if (name === null) name = JsonReader.ofBuffer(value).stringMember('name');
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
