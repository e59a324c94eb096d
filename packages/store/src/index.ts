export { openStore, Store, type InstallWrite, type StoreOptions } from './store.ts';
export { ContentAddressedSublevel } from './content-addressed.ts';
export { ModuleIndex } from './module-index.ts';
export { RevocationStore, type RevocationTarget, type StoredRevocation } from './revocation-store.ts';
export { checkStoreIntegrity, MAX_REPORTED_PROBLEMS, type IntegrityReport } from './integrity.ts';
export { StoreCorruptError, StoreLockedError } from './errors.ts';
export { sha256Hex } from './content-hash.ts';
export {
  DEFAULT_STORE_LIMITS,
  clampPageSize,
  type Page,
  type PageRequest,
  type StoreLimits,
} from './limits.ts';
export {
  CORE_SUBLEVELS,
  EXTENSION_SUBLEVELS,
  LAYOUT_VERSION,
  MAX_KEY_PART_LENGTH,
  SHA256_HEX,
  type ExtensionSublevelName,
} from './layout.ts';
export type { ModuleKey, ModuleRecord, ModuleState } from './records.ts';
export type { BytesSublevel, TextSublevel } from './sublevels.ts';
