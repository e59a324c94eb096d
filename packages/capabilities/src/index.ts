/**
 * @gojinn/capabilities — the `gojinn` host functions: the worker-side imports (./host-imports),
 * the main-side dispatcher that checks rights and routes each call to its capability handler,
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
