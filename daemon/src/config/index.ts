export { ConfigError } from './config-error.ts';
export {
  CONFIG_FILE,
  configFilePath,
  defaultConfig,
  loadConfigFile,
  parseConfig,
  type ParseConfigOptions,
} from './config-parser.ts';
export {
  ADMIN_TOKEN_BYTES,
  ADMIN_TOKEN_FILE,
  DATA_DIR_FILES,
  DATA_DIR_MODE,
  DATA_FILE_MODE,
  initDataDir,
  type DataDirFile,
  type InitDataDirResult,
} from './data-dir.ts';
export type { NodeConfig, PeerPolicy } from './node-config.ts';
export { configReferenceTables, REFERENCE_COLUMNS } from './reference.ts';
export {
  CONFIG_SCHEMA,
  ENV_OTHER,
  ENV_OVERRIDES,
  MAX_ADDRESSES,
  MAX_CONFIG_BYTES,
  MAX_CORS_ORIGINS,
  MAX_GRANTS,
  MAX_MODULE_NAMES,
  MAX_PEER_POLICIES,
  MAX_TEXT_LENGTH,
  MAX_TRUSTED_KEYS,
  type FieldSpec,
  type SectionSpec,
} from './schema.ts';
export { renderConfigTemplate, type ConfigSettings } from './template.ts';
export { formatListenAddress, isLoopbackHost, type ListenAddress } from './value-kinds.ts';
