// @gojinn/sdk-assemblyscript: everything a Gojinn guest written in AssemblyScript needs to read
// its request from stdin and write its response to stdout (docs/guests.md).
//
// Typed wrappers for the `gojinn` host functions live in host/ (host/gojinn.ts declares the
// raw imports); a guest imports from `gojinn` only the functions it actually calls.

export { ByteBuffer, CodeUnitBuffer } from './buffers';
export { decimalText, pushDecimal } from './decimal-text';
export { Headers, equalsIgnoreAsciiCase } from './headers';
export {
  JsonReader,
  MAX_JSON_DEPTH,
  JSON_INVALID,
  JSON_OBJECT,
  JSON_ARRAY,
  JSON_STRING,
  JSON_NUMBER,
  JSON_TRUE,
  JSON_FALSE,
  JSON_NULL,
} from './json-reader';
export { JsonWriter, writeEscapedString } from './json-writer';
export { Request, RequestParse, parseRequest, parseRequestBuffer, readRequest } from './request';
export { Response, respond, CONTENT_TYPE_JSON, CONTENT_TYPE_TEXT } from './response';
export { Handler, badRequest, serve } from './serve';
export { readStdin, writeAll, writeStdout, writeStderr, STDIN, STDOUT, STDERR } from './stdio';
export { QueryParam, parseQuery, percentDecode, queryParam, uriPath } from './uri';
export { log, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } from './host/log';
export {
  finishCall,
  firstOut,
  hostError,
  setHostError,
  takeHeldResult,
  FIRST_OUT_CAPACITY,
  HOST_DENIED,
  HOST_NOT_FOUND,
  HOST_TOO_SMALL,
  HOST_INVALID,
  HOST_LIMIT,
  HOST_QUOTA,
  HOST_RATE,
  HOST_NO_RESULT,
  HOST_UNAVAILABLE,
  HOST_TIMEOUT,
  HOST_UPSTREAM,
} from './host/call';
export {
  KvPage,
  kvDelete,
  kvDeleteBytes,
  kvGet,
  kvGetBytes,
  kvList,
  kvListBytes,
  kvSet,
  kvSetBytes,
} from './host/kv';
export { debugEvent } from './host/debug';
export * from './host/http';
export * from './host/db';
export * from './host/secrets';
