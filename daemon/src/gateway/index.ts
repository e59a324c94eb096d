/** The HTTP gateway (docs/gateway.md): a library the daemon mounts. */
export { ApiKeyStore, apiKeyHash, parseBearer, type ApiKeyEntry, type ApiKeyGrant } from './api-keys.ts';
export { DEFAULT_CORS_MAX_AGE_SECONDS, type CorsOptions } from './cors.ts';
export {
  TRACE_ID_HEADER,
  createGateway,
  type FunctionResolver,
  type Gateway,
  type GatewayEvents,
  type InvocationEvent,
  type GatewayFunction,
  type GatewayHandler,
  type GatewayOptions,
  type GatewayOutcome,
} from './gateway.ts';
export { DROPPED_RESPONSE_HEADERS } from './headers.ts';
export * from './limits.ts';
export { DEFAULT_DRAIN_MS, listen, type ListenOptions, type ListeningGateway } from './listen.ts';
export { RateLimiter, type Clock } from './rate-limit.ts';
export { ROUTE_PREFIX, parseRoute, type FunctionRoute } from './route.ts';
export { STATUS_BY_CODE, statusForCode } from './status.ts';
export { newTraceId, traceIdFromTraceparent } from './trace.ts';
export {
  DEFAULT_RESOLUTION_CACHE_MS,
  DEFAULT_MAX_CACHED_RESOLUTIONS,
  createLocalResolver,
  type LocalResolver,
  type LocalResolverOptions,
} from './local-resolver.ts';
