export {
  fetchProtocol,
  FETCH_PROTOCOL_ID,
  FETCH_PROTOCOL_NAME,
  MAX_FETCH_CHUNK_BYTES,
  FETCH_MAX_REQUEST_BYTES,
  FETCH_TIMEOUT_MS,
  FETCH_MAX_INBOUND_STREAMS,
} from './protocol.ts';
export { encodeFetchRequest, parseFetchRequest, SHA256_HEX_PATTERN } from './request.ts';
export type { FetchRequest } from './request.ts';
export { createFetchProtocol, DEFAULT_MAX_CONCURRENT_FETCHES } from './server.ts';
export type { ModuleSource, FetchServer, FetchServerOptions } from './server.ts';
export {
  announceModule,
  findModuleProviders,
  moduleContentId,
  DEFAULT_MAX_PROVIDERS,
  DEFAULT_FIND_PROVIDERS_TIMEOUT_MS,
} from './discovery.ts';
export type { FindProvidersOptions } from './discovery.ts';
export {
  PeerLatencyCache,
  latencyCacheOf,
  DEFAULT_LATENCY_TTL_MS,
  DEFAULT_PING_TIMEOUT_MS,
  MAX_LATENCY_ENTRIES,
} from './latency.ts';
export type { PeerLatencyOptions, PingNode } from './latency.ts';
export { fetchModule, FETCH_PIPELINE_DEPTH } from './client.ts';
export type { FetchModuleOptions, FetchProgress, BadProvider, FetchAttempt } from './client.ts';
