export {
  PersistentApiKeys,
  API_KEY_PREFIX,
  API_KEY_RANDOM_BYTES,
  MAX_KEY_FUNCTIONS,
  type ApiKeyInfo,
  type ApiKeyRequest,
} from './persistent-api-keys.ts';
