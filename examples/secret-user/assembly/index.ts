// secret-user: proves it can read a secret without ever revealing it (capability secrets.read).
//
//   GET /?name=API_TOKEN  → 200 {"name": "API_TOKEN", "length": 19, "sha256": "<64 hex digits>"}
//                         → 404 when the secret is not set, 403 when the name is not granted
//
// The name defaults to API_TOKEN. The response carries the value's length and SHA-256 — a
// fingerprint an operator can compare with `printf %s "$VALUE" | sha256sum` — never the value.
// Sign it with `--cap secrets.read --secret API_TOKEN` (plus any other names it may read).
import { JsonWriter, Request, Response, serve } from '@gojinn/sdk-assemblyscript/assembly';
import { SECRET_DENIED, SECRET_NOT_FOUND, secretGet } from '@gojinn/sdk-assemblyscript/assembly/host/secrets';
import { DIGEST_BYTES, sha256Final, sha256Reset, sha256Update } from '../../sha256/assembly/sha256';

const DEFAULT_NAME = 'API_TOKEN';
const HEX = '0123456789abcdef';
const digest: usize = memory.data(<i32>DIGEST_BYTES);

function hex(ptr: usize, length: usize): string {
  let text = '';
  for (let i: usize = 0; i < length; i++) {
    const byte = <i32>load<u8>(ptr + i);
    text += HEX.charAt(byte >> 4) + HEX.charAt(byte & 15);
  }
  return text;
}

function fingerprint(request: Request): Response {
  const requested = request.query('name');
  const name = requested === null ? DEFAULT_NAME : requested!;
  const secret = secretGet(name);
  if (!secret.ok) {
    const status = secret.errno == SECRET_NOT_FOUND ? 404 : secret.errno == SECRET_DENIED ? 403 : 500;
    const out = new JsonWriter().beginObject().key('name').stringValue(name);
    out.key('error').integerValue(secret.errno).endObject();
    return Response.json(status, out.toString());
  }
  const value = secret.value!;
  sha256Reset();
  sha256Update(changetype<usize>(value), <usize>value.byteLength);
  sha256Final(digest);
  // The value is no longer needed: scrub it before building the response.
  memory.fill(changetype<usize>(value), 0, <usize>value.byteLength);
  const out = new JsonWriter().beginObject().key('name').stringValue(name);
  out.key('length').integerValue(value.byteLength);
  out.key('sha256').stringValue(hex(digest, DIGEST_BYTES));
  return Response.json(200, out.endObject().toString());
}

serve(fingerprint);
