/**
 * The `secrets.read` capability and the node's secret storage: values sealed with tweetnacl
 * secretbox under the node's master key, in the store's `secrets` sublevel.
 * docs/capabilities-db-secrets.md.
 */
export {
  KEY_ID_BYTES,
  MASTER_KEY_BYTES,
  MASTER_KEY_ENV,
  MASTER_KEY_FILE,
  MasterKey,
  loadMasterKey,
  type LoadMasterKeyOptions,
} from './master-key.ts';
export { SEALED_FORMAT_VERSION, openSecret, sealSecret } from './sealed-secret.ts';
export {
  DEFAULT_SECRET_LIMITS,
  MAX_SECRET_LISTING,
  SecretStore,
  checkSecretName,
  type SecretLimits,
  type SecretListing,
  type SecretOwner,
} from './secret-store.ts';
export { SecretsReadHandler } from './secrets-read-handler.ts';
export { createSecretsCapability, type SecretsCapabilityOptions } from './secrets-capability.ts';
