import type { DbLimits } from './db-limits.ts';
import type { DbStatement } from './db-request.ts';

/**
 * Messages between the node and one SQLite executor process (IPC with `serialization:
 * 'advanced'`, so bigints and Uint8Arrays cross as they are). The node sends one request at a
 * time and waits for its answer or kills the process.
 */

/** The limits an executor applies itself (SQLite's own limits and the result caps). */
export type ExecutorLimits = Pick<
  DbLimits,
  | 'maxSqlBytes'
  | 'maxParams'
  | 'maxValueBytes'
  | 'maxRows'
  | 'maxResultBytes'
  | 'maxDatabaseBytes'
  | 'maxOpenDatabases'
  | 'executorHeapBytes'
>;

/** node → executor: the first message, before any query. */
export interface ExecutorInit {
  type: 'init';
  limits: ExecutorLimits;
  /**
   * Milliseconds past a query's deadline after which the executor kills itself, should the
   * node fail to (the node kills it AT the deadline; this is the second line of defence).
   */
  selfKillGraceMs: number;
}

/** node → executor: run `statements` on the database file at `path`, in one transaction. */
export interface ExecutorQuery {
  type: 'query';
  id: number;
  /** Absolute path chosen by the node from the module's identity; never from guest input. */
  path: string;
  statements: readonly DbStatement[];
  /** Epoch ms after which this query must not be running. */
  deadline: number;
}

export type ExecutorRequest = ExecutorInit | ExecutorQuery;

/**
 * Why a query failed, as plain data:
 * - `sql`: SQLite refused the statement (syntax, missing table, constraint, a value it cannot
 *   bind, more than one statement in a text) — the guest's own mistake, reported to it in the
 *   response with SQLite's message;
 * - `denied`: the SQL policy refused an action (a security event);
 * - `limit`: maxRows, maxResultBytes, maxValueBytes or the SQLite heap;
 * - `quota`: the database file reached maxDatabaseBytes;
 * - `internal`: anything else (a damaged file, a bug): for the node's log.
 */
export interface QueryFailure {
  kind: 'sql' | 'denied' | 'limit' | 'quota' | 'internal';
  message: string;
  /** Index of the statement that failed, when one did. */
  statement?: number;
}

/** executor → node. `ready` answers `init`; a query gets exactly one `result`. */
export type ExecutorReply =
  | { type: 'ready' }
  | { type: 'result'; id: number; ok: true; json: string }
  | { type: 'result'; id: number; ok: false; failure: QueryFailure };
