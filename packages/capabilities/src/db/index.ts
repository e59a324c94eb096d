/**
 * The `db.query` capability: a SQLite database per module, run in executor processes that the
 * node kills at a query's deadline. docs/capabilities-db-secrets.md.
 */
export { DB_DIRECTORY, DbQueryHandler, type DbQueryHandlerOptions } from './db-query-handler.ts';
export { DEFAULT_DB_LIMITS, DB_PAGE_BYTES, resolveDbLimits, type DbLimits } from './db-limits.ts';
export { parseDbRequest, type DbRequest, type DbStatement } from './db-request.ts';
export type { DbExecutorEvent, DbPoolStats } from './db-executor-pool.ts';
export { sqlDenialReason } from './sql-policy.ts';
export type { SqlParam, SqlResultValue } from './sql-values.ts';
