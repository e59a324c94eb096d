/**
 * The JSON messages of `/gojinn/invoke/1.0.0` (protocols/invoke.md): the call a caller sends
 * and the `{ response, receipt }` a server answers with. Both sides parse what the other sent
 * once, strictly (the manifest package's strict JSON: no duplicate keys, bounded nesting),
 * refusing unknown fields: a bad call is `bad_request` at the server, a bad answer
 * `bad_response` at the caller (a bad receipt inside it `signature_invalid`).
 */
import semver from 'semver';
import { GojinnError } from '@gojinn/errors';
import type { ErrorCode } from '@gojinn/errors';
import { MAX_NAME_LENGTH, NAME_PATTERN, isPublicKeyText, parseStrictJson } from '@gojinn/manifest';
import type { JsonObject } from '@gojinn/manifest';
import { buildRequest, guestResponseFrom } from '@gojinn/sandbox';
import type { GuestRequest, GuestResponse } from '@gojinn/sandbox';
import { parseReceipt } from './receipt.ts';
import type { Receipt } from './receipt.ts';

/** Longest semver range accepted in a module reference. */
export const MAX_RANGE_CHARS = 128;
/** Largest `deadlineMs` a call may carry (one hour, the largest invocation timeout). */
export const MAX_DEADLINE_MS = 3_600_000;
/** Largest `hops` a call may carry: no configuration forwards further. */
export const MAX_HOPS = 8;

/** A module by name (a semver range, optionally pinned to a publisher key) or by exact hash. */
export type ModuleRef = { name: string; range: string; publisher?: string } | { sha256: string };

/** One federated call as the caller sends it. */
export interface InvokeCall {
  module: ModuleRef;
  /** The guest request; its `trace_id` is the call's trace id. */
  request: GuestRequest;
  /** Time the caller gives the call, ms (1..MAX_DEADLINE_MS). */
  deadlineMs: number;
  /** Fuel the caller allows (the server may lower it, never raise it). */
  fuel?: number;
  /** 64 hex characters; absent ⇒ the server draws one (it is in the receipt). */
  seed?: string;
  /** Times the call was already forwarded between nodes before this one (0 from the caller). */
  hops?: number;
}

/** What a server answers with on success. */
export interface InvokeAnswer {
  response: GuestResponse;
  receipt: Receipt;
}

const HEX64 = /^[0-9a-f]{64}$/;
const CALL_FIELDS: ReadonlySet<string> = new Set(['module', 'request', 'deadlineMs', 'fuel', 'seed', 'hops']);
const REQUEST_FIELDS = ['method', 'uri', 'headers', 'body', 'trace_id'] as const;
const ANSWER_FIELDS: ReadonlySet<string> = new Set(['response', 'receipt']);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `module` of a call in a form for messages: `hello@^1.0.0`, `hello@^1.0.0 by ed25519:…`, `sha256:…`. */
export function describeModule(module: ModuleRef): string {
  if ('sha256' in module) return `sha256:${module.sha256}`;
  const by = module.publisher === undefined ? '' : ` by ${module.publisher}`;
  return `${module.name}@${module.range}${by}`;
}

export function encodeInvokeCall(call: InvokeCall): Uint8Array {
  return encoder.encode(JSON.stringify(call));
}

export function encodeInvokeAnswer(answer: InvokeAnswer): Uint8Array {
  return encoder.encode(JSON.stringify(answer));
}

/** Parses (and so validates) a call as a server receives it: strict JSON, then every field. */
export function parseInvokeCall(bytes: Uint8Array): InvokeCall {
  return invokeCallFrom(parseStrictJson(bytes, 'invoke call', 'bad_request', 4));
}

/**
 * The server's checks of every field, on a call this node encoded itself (`encodeInvokeCall`),
 * before sending it. JSON.stringify's output needs no strict parse — it is valid UTF-8 JSON
 * without duplicate keys, and the field checks bound its nesting (headers must be strings) —
 * so JSON.parse stands in for parseStrictJson here, and only here: untrusted bytes go through
 * `parseInvokeCall`.
 */
export function checkOwnInvokeCall(encoded: Uint8Array): InvokeCall {
  return invokeCallFrom(JSON.parse(decoder.decode(encoded)) as unknown);
}

function invokeCallFrom(parsed: unknown): InvokeCall {
  const fail = (message: string): never => {
    throw new GojinnError('bad_request', `invoke call ${message}`);
  };
  const value = objectOf(parsed, 'invoke call', 'bad_request');
  onlyFields(value, CALL_FIELDS, 'invoke call', 'bad_request');
  const call: InvokeCall = {
    module: parseModuleRef(value.module),
    request: parseRequest(value.request),
    deadlineMs: integerIn(value.deadlineMs, 1, MAX_DEADLINE_MS, 'deadlineMs', fail),
  };
  if (value.fuel !== undefined) call.fuel = integerIn(value.fuel, 1, Number.MAX_SAFE_INTEGER, 'fuel', fail);
  if (value.seed !== undefined) {
    if (typeof value.seed !== 'string' || !HEX64.test(value.seed))
      fail('seed must be 64 lowercase hex characters');
    call.seed = value.seed as string;
  }
  if (value.hops !== undefined) call.hops = integerIn(value.hops, 0, MAX_HOPS, 'hops', fail);
  return call;
}

/** Parses a server's answer at the caller (the receipt's signature is checked separately). */
export function parseInvokeAnswer(bytes: Uint8Array, peer: string): InvokeAnswer {
  const what = `invoke answer from ${peer}`;
  const value = objectOf(parseStrictJson(bytes, what, 'bad_response', 4), what, 'bad_response');
  onlyFields(value, ANSWER_FIELDS, what, 'bad_response');
  // The guest response's own checks, on the value parsed above: the same as a local run's.
  const response = objectOf(value.response, `${what}: response`, 'bad_response');
  return {
    response: guestResponseFrom(response),
    receipt: parseReceipt(value.receipt),
  };
}

function parseModuleRef(value: unknown): ModuleRef {
  const fail = (message: string): never => {
    throw new GojinnError('bad_request', `invoke call module ${message}`);
  };
  const module = objectOf(value, 'invoke call module', 'bad_request');
  if ('sha256' in module) {
    onlyFields(module, new Set(['sha256']), 'invoke call module', 'bad_request');
    if (typeof module.sha256 !== 'string' || !HEX64.test(module.sha256)) {
      fail('sha256 must be 64 lowercase hex characters');
    }
    return { sha256: module.sha256 as string };
  }
  onlyFields(module, new Set(['name', 'range', 'publisher']), 'invoke call module', 'bad_request');
  const { name, range, publisher } = module;
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    fail(`name must be a module name (${NAME_PATTERN}, at most ${MAX_NAME_LENGTH} characters)`);
  }
  if (typeof range !== 'string' || range.length > MAX_RANGE_CHARS || semver.validRange(range) === null) {
    fail(`range must be a semver range of at most ${MAX_RANGE_CHARS} characters (MAX_RANGE_CHARS)`);
  }
  const ref: ModuleRef = { name: name as string, range: range as string };
  if (publisher !== undefined) {
    if (!isPublicKeyText(publisher)) fail('publisher must be a public key ed25519:<43 base64url characters>');
    ref.publisher = publisher as string;
  }
  return ref;
}

function parseRequest(value: unknown): GuestRequest {
  const request = objectOf(value, 'invoke call request', 'bad_request');
  onlyFields(request, new Set(REQUEST_FIELDS), 'invoke call request', 'bad_request');
  for (const field of REQUEST_FIELDS) {
    if (request[field] === undefined) {
      throw new GojinnError('bad_request', `invoke call request.${field} is missing`);
    }
  }
  // The sandbox's own checks: strings, headers of strings, a 32-hex trace id.
  return buildRequest(request as unknown as Partial<GuestRequest>);
}

function objectOf(value: unknown, what: string, code: ErrorCode): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GojinnError(code, `${what} must be a JSON object`);
  }
  return value as JsonObject;
}

function onlyFields(value: JsonObject, allowed: ReadonlySet<string>, what: string, code: ErrorCode): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      throw new GojinnError(code, `${what} has an unknown field ${JSON.stringify(key.slice(0, 64))}`);
    }
  }
}

function integerIn(
  value: unknown,
  min: number,
  max: number,
  field: string,
  fail: (m: string) => never,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    return fail(`${field} must be an integer in [${min}, ${max}]`);
  }
  return value;
}
