/** net.http: SSRF-safe outbound HTTP for guests (docs/capabilities-http.md). */
export { HttpCapability, httpCapability, HTTP_FAILURE_ERRNO } from './http-handler.ts';
export { HttpFetcher, DEFAULT_USER_AGENT, type HttpFetcherOptions, type HttpCallScope } from './fetcher.ts';
export { AddressPolicy, MAX_ALLOWED_RANGES, type AddressPolicyOptions } from './address-policy.ts';
export { HostAllowList, parseHostPattern, type HostPattern } from './host-patterns.ts';
export {
  systemResolver,
  MAX_RESOLVED_ADDRESSES,
  type HostResolver,
  type ResolvedAddress,
} from './checked-resolver.ts';
export { HttpFailure, HTTP_FAILURE_CODES, type HttpFailureKind } from './http-failure.ts';
export { DEFAULT_HTTP_LIMITS, resolveHttpLimits, type HttpLimits } from './limits.ts';
export {
  DENIED_REQUEST_HEADERS,
  DENIED_REQUEST_HEADER_PREFIXES,
  CREDENTIAL_HEADERS,
} from './request-headers.ts';
export { decodeHttpRequest, encodeHttpResponse } from './wire.ts';
export {
  HTTP_METHODS,
  type HttpMethod,
  type HttpFetchRequest,
  type HttpFetchResponse,
  type RedirectMode,
} from './types.ts';
