export { AuditLog, type AuditLogOptions, type AuditPage } from './audit-log.ts';
export { verifyAuditLog, type AuditVerification, type VerifyAuditOptions } from './verify.ts';
export {
  AUDIT_ENTRY_DOMAIN_TAG,
  AUDIT_ENTRY_VERSION,
  AUDIT_HEAD_DOMAIN_TAG,
  GENESIS_HASH,
  entryKey,
  type AuditEntry,
  type AuditHead,
} from './entry.ts';
export { AUDIT_KIND_PATTERN, DEFAULT_AUDIT_LIMITS, type AuditLimits } from './limits.ts';
export { auditKeyPairFromNodeKey, readNodePublicKey } from './node-key.ts';
