export * from './limits.ts';
export {
  PUBLIC_KEY_PREFIX,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SEED_BYTES,
  SIGNATURE_BYTES,
  generateKeyPair,
  keyPairFromSeed,
  keyPairFromSecretKey,
  formatPublicKey,
  parsePublicKey,
  isPublicKeyText,
  isWeakPublicKey,
  type PublisherKeyPair,
} from './keys.ts';
export {
  PRIVATE_KEY_FILE_TYPE,
  PRIVATE_KEY_FILE_VERSION,
  PRIVATE_KEY_FILE_MODE,
  encodePrivateKeyFile,
  parsePrivateKeyFile,
  readPrivateKeyFile,
  writePrivateKeyFile,
} from './key-file.ts';
export { sha256Hex, moduleDigest, contentCid, type ModuleDigest } from './content-hash.ts';
export { canonicalJson } from './canonical-json.ts';
export { parseStrictJson, type JsonValue, type JsonObject } from './strict-json.ts';
export { MANIFEST_DOMAIN_TAG, REVOCATION_DOMAIN_TAG, signedBytes, verifyDetached } from './signing.ts';
export {
  MANIFEST_SCHEMA_VERSION,
  NAME_PATTERN,
  SECRET_NAME_PATTERN,
  KV_PREFIX_PATTERN,
  httpHostPatternProblem,
  declaredCapabilities,
  type KvScope,
  type HttpScope,
  type SecretScope,
  type EmptyScope,
  type DeclaredCapabilities,
  type RequestedLimits,
  type UnsignedManifest,
  type Manifest,
} from './schema.ts';
export {
  signManifest,
  encodeManifest,
  parseManifest,
  manifestSigningBytes,
  unsignedManifest,
  verifyManifestSignature,
  type ManifestFields,
} from './manifest.ts';
export { TrustPolicy, type TrustPolicyInit } from './trust.ts';
export { VerificationCache } from './verification-cache.ts';
export {
  verifyManifest,
  verifyModule,
  checkImports,
  type ModuleImport,
  type ImportSource,
  type VerificationCheck,
  type VerificationCheckName,
  type VerifyOptions,
  type VerifiedModule,
} from './verify.ts';
export {
  REVOCATION_SCHEMA_VERSION,
  signRevocation,
  encodeRevocation,
  parseRevocation,
  verifyRevocation,
  revocationSigningBytes,
  revocationCovers,
  type RevocationTarget,
  type UnsignedRevocation,
  type Revocation,
  type RevocationFields,
  type VerifiedRevocation,
} from './revocation.ts';
export { readModuleImports } from './module-imports.ts';
