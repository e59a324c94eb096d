export { createAdminServer, type AdminServer, type AdminServerOptions } from './server.ts';
export { readAdminToken, generateAdminToken, adminTokenMatches, ADMIN_TOKEN_PATTERN } from './token.ts';
export { DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_LIMITS, DEFAULT_ADMIN_PORT, type AdminLimits } from './limits.ts';
