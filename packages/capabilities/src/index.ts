/**
 * @gojinn/capabilities — the `gojinn` host functions: the worker-side imports
 * (`@gojinn/capabilities/host-imports`, for PoolOptions.hostImportsUrl = HOST_IMPORTS_URL), the
 * main-side dispatcher that checks rights and routes each call to its capability handler,
 * grants and scopes, and the kv, log and debug capabilities. docs/capabilities.md.
 */
export * from './limits.ts';
export {
  HostCallFailure,
  type AnyCapabilityHandler,
  type CallContext,
  type CapabilityHandler,
  type CapabilityRights,
  type ModuleIdentity,
  type ScopeOf,
} from './handler.ts';
export {
  HostCallDispatcher,
  type HostCallDispatcherOptions,
  type InvocationGrant,
  type InvocationHost,
} from './dispatcher.ts';
export {
  NO_COUNTERS,
  type CounterSink,
  type GuestLogDropReason,
  type GuestLogLevel,
  type LogRecord,
  type LogSink,
} from './observability.ts';
export {
  MAX_GRANT_RULES,
  NO_GRANTS,
  effectiveRights,
  grantedTo,
  intersectRights,
  normalizeRights,
  parseGrants,
  parseRights,
  type EffectiveRightsInput,
  type GrantRule,
  type NodeGrants,
} from './grants.ts';
export { intersectPrefixes, keyInPrefixes, minimalPrefixes } from './scopes/kv-prefixes.ts';
export { intersectPatterns, minimalPatterns, originMatches, patternContains } from './scopes/http-hosts.ts';
export { intersectNames } from './scopes/secret-names.ts';
export {
  KvStore,
  type KvDatabase,
  type KvPage,
  type KvSetResult,
  type KvStoreOptions,
  type KvUsage,
} from './kv/kv-store.ts';
export { DEFAULT_KV_LIMITS, resolveKvLimits, type KvLimits } from './kv/kv-limits.ts';
export { KvReadHandler, KvWriteHandler, createKvHandlers } from './kv/kv-handler.ts';
export type { KvOwner } from './kv/kv-keys.ts';
export { DEFAULT_GUEST_LOG_LIMITS, guestLogLevel, type GuestLogLimits } from './log/invocation-log.ts';
export { MAX_TRACKED_MODULES } from './log/module-log-rates.ts';

/** The module the pool workers load for the `gojinn` functions (PoolOptions.hostImportsUrl). */
export const HOST_IMPORTS_URL = new URL('./host-imports.ts', import.meta.url);
export * from './db/index.ts';
export * from './secrets/index.ts';
export * from './http/index.ts';
