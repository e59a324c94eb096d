import type { HostErrnoName } from '@gojinn/abi';
import type { CallContext, CapabilityHandler } from '../handler.ts';
import { HostCallFailure } from '../handler.ts';
import { HOST_CALL_MAX_RESPONSE_BYTES } from '../limits.ts';
import { HttpFetcher, type HttpFetcherOptions } from './fetcher.ts';
import { HostAllowList } from './host-patterns.ts';
import { HttpFailure, type HttpFailureKind } from './http-failure.ts';
import { decodeHttpRequest, encodeHttpResponse } from './wire.ts';

/** The host error number the guest gets for each way a call can fail (`denied` goes through ctx.deny). */
export const HTTP_FAILURE_ERRNO: Readonly<Record<HttpFailureKind, HostErrnoName>> = Object.freeze({
  denied: 'DENIED',
  bad_request: 'INVALID',
  request_too_large: 'LIMIT',
  response_too_large: 'LIMIT',
  timeout: 'TIMEOUT',
  too_many_redirects: 'UPSTREAM',
  bad_response: 'UPSTREAM',
  unreachable: 'UPSTREAM',
});

/**
 * The `net.http` capability: serves `gojinn.http_request` (wire format in wire.ts and
 * docs/capabilities-http.md) with an HttpFetcher, inside the module's effective `net.http`
 * hosts and the invocation's deadline. Every call marks the invocation non-deterministic — the
 * network is outside the invocation's inputs even when the call fails.
 */
export class HttpCapability implements CapabilityHandler<'net.http'> {
  readonly capability = 'net.http';
  readonly fetcher: HttpFetcher;
  /** Allow-lists by scope array: one module's scope is parsed once, not once per call. */
  readonly #allowLists = new WeakMap<readonly string[], HostAllowList>();

  constructor(options: HttpFetcherOptions = {}) {
    this.fetcher = new HttpFetcher(options);
  }

  async handle(method: string, request: Uint8Array, ctx: CallContext<'net.http'>): Promise<Uint8Array> {
    if (method !== 'http_request') throw new HostCallFailure('INVALID', `net.http has no function ${method}`);
    ctx.markNondeterministic('net.http: outbound HTTP request');
    try {
      const decoded = decodeHttpRequest(request, this.fetcher.limits);
      const response = await this.fetcher.fetch(decoded, {
        allowList: this.#allowList(ctx.scope.hosts),
        signal: ctx.signal,
      });
      const bytes = encodeHttpResponse(response);
      if (bytes.byteLength > HOST_CALL_MAX_RESPONSE_BYTES) {
        throw new HostCallFailure(
          'LIMIT',
          `http_request response encodes to ${bytes.byteLength} bytes; the limit is HOST_CALL_MAX_RESPONSE_BYTES (${HOST_CALL_MAX_RESPONSE_BYTES})`,
        );
      }
      return bytes;
    } catch (error) {
      if (!(error instanceof HttpFailure)) throw error;
      // The security log gets the rule only; the host and address stay in the detail.
      if (error.kind === 'denied') ctx.deny(error.rule ?? 'outside net.http scope');
      throw new HostCallFailure(HTTP_FAILURE_ERRNO[error.kind], error.message);
    }
  }

  #allowList(hosts: readonly string[]): HostAllowList {
    let list = this.#allowLists.get(hosts);
    if (list === undefined) {
      list = new HostAllowList(hosts);
      this.#allowLists.set(hosts, list);
    }
    return list;
  }
}

/** Factory in the house style: `httpCapability({ allowedRanges, limits })`. */
export function httpCapability(options: HttpFetcherOptions = {}): HttpCapability {
  return new HttpCapability(options);
}
