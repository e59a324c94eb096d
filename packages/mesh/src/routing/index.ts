/** Routing of invocations: here or on the best provider, failover, hops; deterministic re-execution checks. */
export { InvocationRouter, DEFAULT_MAX_ATTEMPTS, REFUSED_BEFORE_RUN } from './router.ts';
export type {
  InvocationRouterOptions,
  LocalCall,
  LocalExecutor,
  LocalModule,
  LocalResult,
  ProviderLookup,
  RemoteInvoke,
  RouteAttempt,
  RouteRequest,
  Routed,
} from './router.ts';
export {
  PeerStats,
  LATENCY_EWMA_ALPHA,
  UNMEASURED_LATENCY_MS,
  FAILED_PEER_LATENCY_MS,
  DEFAULT_MAX_TRACKED_PROVIDERS,
} from './peer-stats.ts';
export { compareReExecution } from './re-execution.ts';
export type { LocalReExecution, ReExecutionVerdict } from './re-execution.ts';
