import { randomBytes } from 'node:crypto';
import { peerIdFromString } from '@libp2p/peer-id';
import { GojinnError } from '@gojinn/errors';
import { MAX_NAME_LENGTH, NAME_PATTERN, type JsonObject, type JsonValue } from '@gojinn/manifest';
import type { GuestRequest, InvocationOutcome } from '@gojinn/sandbox';
import { effectivePolicies } from '../../policies/index.ts';
import { jsonObjectBody, onlyKeys, stringField, type RouteSpec } from '../http-util.ts';
import type { AdminServerOptions } from '../options.ts';

/** A W3C trace id: what the sandbox and the receipts carry. */
const TRACE_ID = /^[0-9a-f]{32}$/;
const newTraceId = (): string => randomBytes(16).toString('hex');

/** Most headers one `POST /v1/invoke` request may carry. */
export const MAX_INVOKE_HEADERS = 100;

function checkedPeerId(text: string, what: string): string {
  try {
    peerIdFromString(text);
    return text;
  } catch {
    throw new GojinnError('bad_request', `admin API: ${what} is not a peer id`);
  }
}

/** The guest request of an invoke body: defaults of an empty GET of `/`; `bad_request` naming the field. */
function guestRequest(value: unknown): GuestRequest {
  if (value === undefined) return { method: 'GET', uri: '/', headers: {}, body: '', trace_id: newTraceId() };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new GojinnError(
      'bad_request',
      'admin API: invoke request must be an object {method, uri, headers, body}',
    );
  const request = value as Record<string, unknown>;
  onlyKeys(request, ['method', 'uri', 'headers', 'body', 'trace_id'], 'invoke request');
  const method = stringField(request, 'method', 'invoke request', { optional: true, max: 16 }) ?? 'GET';
  if (!/^[A-Z]{1,16}$/.test(method))
    throw new GojinnError(
      'bad_request',
      'admin API: invoke request.method must be an upper-case HTTP method',
    );
  const uri = stringField(request, 'uri', 'invoke request', { optional: true, max: 8192 }) ?? '/';
  if (!uri.startsWith('/'))
    throw new GojinnError('bad_request', "admin API: invoke request.uri must start with '/'");
  const headers: Record<string, string> = {};
  if (request.headers !== undefined) {
    const given = request.headers;
    if (typeof given !== 'object' || given === null || Array.isArray(given))
      throw new GojinnError('bad_request', 'admin API: invoke request.headers must be an object of strings');
    const entries = Object.entries(given);
    if (entries.length > MAX_INVOKE_HEADERS)
      throw new GojinnError(
        'bad_request',
        `admin API: invoke request has more than ${MAX_INVOKE_HEADERS} headers (MAX_INVOKE_HEADERS)`,
      );
    for (const [name, headerValue] of entries) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/.test(name) || typeof headerValue !== 'string')
        throw new GojinnError(
          'bad_request',
          `admin API: invoke request header ${JSON.stringify(name).slice(0, 64)} must be a token with a string value`,
        );
      headers[name.toLowerCase()] = headerValue;
    }
  }
  const body =
    stringField(request, 'body', 'invoke request', { optional: true, max: Number.MAX_SAFE_INTEGER }) ?? '';
  const traceId =
    stringField(request, 'trace_id', 'invoke request', { optional: true, max: 32 }) ?? newTraceId();
  if (!TRACE_ID.test(traceId))
    throw new GojinnError(
      'bad_request',
      'admin API: invoke request.trace_id must be 32 lower-case hex digits',
    );
  return { method, uri, headers, body, trace_id: traceId };
}

/** An outcome as JSON: fuel as a decimal string (it is a bigint), stderr as text. */
export function outcomeJson(outcome: InvocationOutcome): JsonObject {
  return {
    ok: outcome.ok,
    ...(outcome.response === undefined ? {} : { response: { ...outcome.response } }),
    ...(outcome.error === undefined ? {} : { error: { ...outcome.error } }),
    fuelUsed: outcome.fuelUsed.toString(),
    durationMs: outcome.durationMs,
    seed: outcome.seed,
    deterministic: outcome.deterministic,
    stderr: Buffer.from(outcome.stderr).toString('utf8'),
    stderrTruncated: outcome.stderrTruncated,
  };
}

/** GET /v1/peers, POST /v1/invoke. */
export function meshRoutes(options: AdminServerOptions): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/v1/peers',
      run: async () => {
        if (options.mesh === undefined)
          throw new GojinnError('not_found', 'admin API: this node runs no mesh');
        const withPolicy = new Set(
          effectivePolicies(options.configPeers ?? [], options.policies?.list() ?? []).map(
            (e) => e.policy.id,
          ),
        );
        const peers = (await options.mesh.peers()).map((peer): JsonObject => ({
          id: peer.id,
          addresses: [...peer.addresses],
          latencyMs: peer.latencyMs ?? null,
          policy: withPolicy.has(peer.id),
        }));
        return { status: 200, body: { ok: true, peers } };
      },
    },
    {
      method: 'POST',
      path: '/v1/invoke',
      run: async ({ body }) => {
        if (options.invoke === undefined)
          throw new GojinnError('not_found', 'admin API: this node cannot invoke');
        const call = jsonObjectBody(body, '{"name", "request"?, "remote"?, "peer"?, "verify"?}');
        onlyKeys(call, ['name', 'request', 'remote', 'peer', 'verify'], 'invoke body');
        const name = stringField(call, 'name', 'invoke body', { max: MAX_NAME_LENGTH }) ?? '';
        if (!NAME_PATTERN.test(name))
          throw new GojinnError('bad_request', 'admin API: invoke body.name is not a module name');
        if (call.remote !== undefined && typeof call.remote !== 'boolean')
          throw new GojinnError('bad_request', 'admin API: invoke body.remote must be true or false');
        if (call.verify !== undefined && typeof call.verify !== 'boolean')
          throw new GojinnError('bad_request', 'admin API: invoke body.verify must be true or false');
        const peerText = stringField(call, 'peer', 'invoke body', { optional: true, max: 128 });
        const peer = peerText === undefined ? undefined : checkedPeerId(peerText, 'invoke body.peer');
        const request = guestRequest(call.request);
        const result = await options.invoke({
          name,
          request,
          remote: call.remote === true,
          ...(peer === undefined ? {} : { peer }),
          ...(call.verify === true ? { verify: true } : {}),
        });
        const outcome = outcomeJson(result.outcome);
        return {
          status: 200,
          body: {
            ok: true,
            outcome,
            servedBy: result.servedBy,
            ...(result.receipt === undefined ? {} : { receipt: result.receipt as JsonValue }),
            ...(result.reExecution === undefined ? {} : { reExecution: result.reExecution }),
          },
          audit: {
            name,
            remote: call.remote === true,
            peer: peer ?? null,
            servedBy: result.servedBy,
            outcome: result.outcome.ok ? 'ok' : (result.outcome.error?.code ?? 'failed'),
          },
        };
      },
    },
  ];
}
