export { createAdminServer, type AdminServer } from './server.ts';
export type {
  AdminServerOptions,
  AdminPeer,
  AdminInvokeCall,
  AdminInvokeResult,
  PublishedModule,
  PublishAnnouncement,
  SecretNames,
} from './options.ts';
export { readAdminToken, generateAdminToken, adminTokenMatches, ADMIN_TOKEN_PATTERN } from './token.ts';
export {
  DEFAULT_ADMIN_HOST,
  DEFAULT_ADMIN_LIMITS,
  DEFAULT_ADMIN_PORT,
  publishBodyBytes,
  type AdminLimits,
} from './limits.ts';
export { RECEIPT_KIND } from './routes/audit-routes.ts';
export { MAX_INVOKE_HEADERS, outcomeJson } from './routes/mesh-routes.ts';
