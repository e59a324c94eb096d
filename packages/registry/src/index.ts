export {
  ModuleRegistry,
  type InstallResult,
  type ListedModule,
  type PinResult,
  type RemoveResult,
  type ServedModule,
} from './registry.ts';
export type { ModuleRegistryOptions, RegistryLogger } from './options.ts';
export { DEFAULT_VERIFIED_CACHE_ENTRIES, VerifiedModuleCache } from './verified-cache.ts';
export { nextState, pinnedState, unpinnedState } from './install-policy.ts';
export { highestVersion, stateAfterRemoval } from './remove-policy.ts';
