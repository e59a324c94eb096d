export { AuditLog, type AuditLogOptions, type AuditPage } from './audit-log.ts';
export { verifyAuditLog, type AuditVerification, type VerifyAuditOptions } from './verify.ts';
export {
  AUDIT_CHECKPOINT_DOMAIN_TAG,
  AUDIT_ENTRY_DOMAIN_TAG,
  AUDIT_ENTRY_VERSION,
  AUDIT_HEAD_DOMAIN_TAG,
  AUDIT_SEAL_DOMAIN_TAG,
  AUDIT_SIGNED_ENTRY_VERSION,
  GENESIS_HASH,
  entryKey,
  sealKey,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditHead,
  type AuditSeal,
  type SealedAuditEntry,
  type SignedAuditEntry,
} from './entry.ts';
export { AUDIT_KIND_PATTERN, DEFAULT_AUDIT_LIMITS, type AuditLimits } from './limits.ts';
export {
  AUDIT_AGE_PRUNE_INTERVAL_MS,
  AuditPruneRefused,
  NO_AUDIT_RETENTION,
  type AuditRetention,
} from './prune.ts';
export { auditKeyPairFromNodeKey, readNodePublicKey } from './node-key.ts';
