import { GojinnError } from '@gojinn/errors';

/**
 * Every limit of `db.query`, with its name and default (docs/capabilities-db-secrets.md gives the
 * reasons). A guest's SQL and data are untrusted: each of these bounds something it controls.
 */
export interface DbLimits {
  /** Bytes of one `db_query` request (the JSON the guest sends). */
  maxRequestBytes: number;
  /** Statements in one request (they run together, in one transaction). */
  maxStatements: number;
  /** UTF-8 bytes of one statement's SQL text (also SQLite's SQLITE_LIMIT_SQL_LENGTH). */
  maxSqlBytes: number;
  /** Parameters bound to one statement (also SQLite's SQLITE_LIMIT_VARIABLE_NUMBER). */
  maxParams: number;
  /** Largest string or blob SQLite may hold or build, in bytes (SQLITE_LIMIT_LENGTH). */
  maxValueBytes: number;
  /** Rows one request may return, over all its statements. One more fails the request. */
  maxRows: number;
  /** Bytes of the JSON response of one request. One more fails the request. */
  maxResultBytes: number;
  /** Size of one module's database file (SQLite's max_page_count × page size). */
  maxDatabaseBytes: number;
  /**
   * Wall-clock time one request may run, in ms, even when the invocation's deadline is later.
   * At the deadline (or this), the process running the statement is killed.
   */
  maxQueryMs: number;
  /** SQLite processes running statements (each serves any module, one request at a time). */
  executors: number;
  /** Database connections one executor keeps open (least recently used closed first). */
  maxOpenDatabases: number;
  /** Requests waiting for an executor. One more is refused with `overloaded`. */
  maxQueuedRequests: number;
  /** SQLite's heap in one executor process, bytes (sqlite3_hard_heap_limit64). */
  executorHeapBytes: number;
}

export const DEFAULT_DB_LIMITS: Readonly<DbLimits> = Object.freeze({
  maxRequestBytes: 256 * 1024,
  maxStatements: 16,
  maxSqlBytes: 16 * 1024,
  maxParams: 256,
  maxValueBytes: 1024 * 1024,
  maxRows: 1000,
  maxResultBytes: 256 * 1024,
  maxDatabaseBytes: 64 * 1024 * 1024,
  maxQueryMs: 5000,
  executors: 2,
  maxOpenDatabases: 16,
  maxQueuedRequests: 256,
  executorHeapBytes: 128 * 1024 * 1024,
});

/** SQLite's page size for new databases (its default); max_page_count is derived from it. */
export const DB_PAGE_BYTES = 4096;

const RANGES: Readonly<Record<keyof DbLimits, readonly [number, number]>> = {
  maxRequestBytes: [64, 64 * 1024 * 1024],
  maxStatements: [1, 1000],
  maxSqlBytes: [16, 1024 * 1024],
  maxParams: [0, 32766],
  maxValueBytes: [16, 512 * 1024 * 1024],
  maxRows: [1, 10_000_000],
  maxResultBytes: [16, 512 * 1024 * 1024],
  maxDatabaseBytes: [DB_PAGE_BYTES * 4, 2 ** 44],
  maxQueryMs: [1, 3_600_000],
  executors: [1, 64],
  maxOpenDatabases: [1, 4096],
  maxQueuedRequests: [0, 1 << 20],
  executorHeapBytes: [1024 * 1024, 2 ** 40],
};

/** Fills in defaults and refuses values outside what the implementation can honour. */
export function resolveDbLimits(limits: Partial<DbLimits> = {}): Readonly<DbLimits> {
  const merged: DbLimits = { ...DEFAULT_DB_LIMITS };
  for (const [name, value] of Object.entries(limits) as [keyof DbLimits, number | undefined][]) {
    if (value === undefined) continue;
    const range = RANGES[name];
    if (range === undefined) throw new GojinnError('bad_request', `unknown db limit ${JSON.stringify(name)}`);
    if (!Number.isSafeInteger(value) || value < range[0] || value > range[1]) {
      throw new GojinnError(
        'bad_request',
        `db limit ${name} must be an integer in [${range[0]}, ${range[1]}], got ${String(value)}`,
      );
    }
    merged[name] = value;
  }
  return Object.freeze(merged);
}
