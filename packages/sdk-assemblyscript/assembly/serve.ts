// The usual shape of a guest: read the request, run one handler, write its response.
import { Request, readRequest } from './request';
import { CONTENT_TYPE_JSON, Response, respond } from './response';
import { JsonWriter } from './json-writer';

/** A function from request to response (a plain function: AssemblyScript has no closures). */
export type Handler = (request: Request) => Response;

/** The response to stdin that is not a valid request: 400 with {"error": "..."}. */
export function badRequest(message: string): Response {
  const body = new JsonWriter().beginObject().key('error').stringValue(message).endObject();
  return new Response(400, body.toString()).withHeader('content-type', CONTENT_TYPE_JSON);
}

/** Reads the request from stdin, calls `handler` and writes its response to stdout. */
export function serve(handler: Handler): void {
  const parsed = readRequest();
  const error = parsed.error;
  if (error !== null) {
    respond(badRequest(error));
    return;
  }
  respond(handler(parsed.request));
}
