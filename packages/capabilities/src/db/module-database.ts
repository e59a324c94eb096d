import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { DbStatement } from './db-request.ts';
import type { ExecutorLimits, QueryFailure } from './executor-protocol.ts';
import { sqlDenialReason } from './sql-policy.ts';
import { encodeResultValue, type SqlResultValue } from './sql-values.ts';

/** SQLite result codes this file tells apart (sqlite3.h). */
const SQLITE_ERROR = 1;
const SQLITE_NOMEM = 7;
const SQLITE_FULL = 13;
const SQLITE_TOOBIG = 18;
const SQLITE_CONSTRAINT = 19;
const SQLITE_AUTH = 23;
const SQLITE_RANGE = 25;

/** Whitespace, semicolons and comments: all that may follow the one statement of an `sql` text. */
const STATEMENT_TAIL = /^(?:\s|;|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*$/u;

const RESULTS_OPEN = '{"results":[';
const RESULTS_CLOSE = ']}';
const ROWS_CLOSE = ']}';

/** What a response has used so far of maxRows and maxResultBytes. */
interface ResultBudget {
  rows: number;
  bytes: number;
}

/** A failure that becomes one QueryFailure. */
export class QueryError extends Error {
  readonly failure: QueryFailure;
  constructor(failure: QueryFailure) {
    super(failure.message);
    this.failure = failure;
  }
}

/**
 * One module's SQLite database, open in an executor process. Runs inside the executor only:
 * every call is synchronous and may run as long as the SQL makes it — the node bounds it by
 * killing the process.
 *
 * The connection is set up by the host (WAL, full sync, no trusted schema, temp data in
 * memory, a page-count ceiling, defensive mode, no extensions, SQLite's length limits) and only
 * then handed the authorizer, which checks every action of the guest's SQL (sql-policy.ts).
 */
export class ModuleDatabase {
  readonly #db: DatabaseSync;
  readonly #limits: ExecutorLimits;
  /** True while the host runs its own statements (BEGIN/COMMIT), which the policy would refuse. */
  #hostStatement = false;
  /** Why the authorizer last refused an action, for the error the guest gets. */
  #lastDenial: string | undefined;

  constructor(path: string, limits: ExecutorLimits) {
    this.#limits = limits;
    this.#db = new DatabaseSync(path, {
      allowExtension: false,
      enableForeignKeyConstraints: true,
      enableDoubleQuotedStringLiterals: false,
      // Requests of one module never overlap, so a lock is only ever held by a killed process
      // until the OS drops it; wait briefly rather than fail.
      timeout: 1000,
      limits: {
        length: limits.maxValueBytes,
        sqlLength: limits.maxSqlBytes,
        variableNumber: Math.max(1, limits.maxParams),
        attach: 0,
        triggerDepth: 64,
      },
    });
    try {
      this.#db.enableDefensive(true);
      this.#db.exec(
        [
          'PRAGMA journal_mode = WAL',
          'PRAGMA synchronous = FULL',
          'PRAGMA trusted_schema = OFF',
          'PRAGMA temp_store = MEMORY',
          'PRAGMA mmap_size = 0',
          'PRAGMA cell_size_check = ON',
        ].join(';'),
      );
      const pageSize = Number(
        (this.#db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size,
      );
      const maxPages = Math.max(1, Math.floor(limits.maxDatabaseBytes / pageSize));
      this.#db.exec(`PRAGMA max_page_count = ${maxPages}`);
      this.#db.setAuthorizer((action, arg1, arg2, dbName) => {
        if (this.#hostStatement) return 0;
        const denial = sqlDenialReason(action, arg1, arg2, dbName);
        if (denial === undefined) return 0;
        this.#lastDenial = denial;
        return 1; // SQLITE_DENY
      });
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  /**
   * Runs the statements in order in one transaction (all or nothing) and returns the response
   * JSON: `{"results": [...]}`, one entry per statement. Throws QueryError.
   */
  run(statements: readonly DbStatement[]): string {
    this.#host('BEGIN IMMEDIATE');
    try {
      const results: string[] = [];
      // Bytes of the response as it grows: the envelope first, then each result and row as it
      // is encoded, so a response of exactly maxResultBytes passes and one more byte fails.
      const budget: ResultBudget = { rows: 0, bytes: RESULTS_OPEN.length + RESULTS_CLOSE.length };
      for (const [index, statement] of statements.entries()) {
        if (index > 0) this.#charge(budget, 0, 1); // the comma between results
        results.push(this.#runOne(statement, index, budget));
      }
      this.#host('COMMIT');
      return `${RESULTS_OPEN}${results.join(',')}${RESULTS_CLOSE}`;
    } catch (error) {
      if (this.#db.isTransaction) this.#host('ROLLBACK');
      throw error instanceof QueryError ? error : this.#failure(error, undefined);
    }
  }

  #host(sql: string): void {
    this.#hostStatement = true;
    try {
      this.#db.exec(sql);
    } finally {
      this.#hostStatement = false;
    }
  }

  #runOne(statement: DbStatement, index: number, budget: ResultBudget): string {
    let prepared: StatementSync;
    try {
      this.#lastDenial = undefined;
      prepared = this.#db.prepare(statement.sql);
    } catch (error) {
      throw this.#failure(error, index);
    }
    // SQLite compiles the first statement of a text and ignores the rest: refuse a text that
    // holds more than one, so what runs is exactly what was sent.
    const source = prepared.sourceSQL;
    if (!statement.sql.startsWith(source) || !STATEMENT_TAIL.test(statement.sql.slice(source.length))) {
      throw new QueryError({
        kind: 'sql',
        message: 'the SQL text holds more than one statement',
        statement: index,
      });
    }
    prepared.setReadBigInts(true);
    prepared.setReturnArrays(true);
    try {
      const columns = prepared.columns();
      if (columns.length === 0) {
        const { changes, lastInsertRowid } = prepared.run(...statement.params);
        const text = `{"changes":${encodeResultValue(changes)},"lastInsertRowid":${encodeResultValue(lastInsertRowid)}}`;
        this.#charge(budget, 0, text.length);
        return text;
      }
      const head = `{"columns":${JSON.stringify(columns.map((column) => column.name))},"rows":[`;
      this.#charge(budget, 0, Buffer.byteLength(head) + ROWS_CLOSE.length);
      const parts = [head];
      for (const row of prepared.iterate(...statement.params) as Iterable<SqlResultValue[]>) {
        let encoded = parts.length === 1 ? '[' : ',[';
        for (let i = 0; i < row.length; i++) {
          if (i > 0) encoded += ',';
          encoded += encodeResultValue(row[i] ?? null);
        }
        encoded += ']';
        this.#charge(budget, 1, Buffer.byteLength(encoded));
        parts.push(encoded);
      }
      parts.push(ROWS_CLOSE);
      return parts.join('');
    } catch (error) {
      throw error instanceof QueryError ? error : this.#failure(error, index);
    }
  }

  /** Counts rows and bytes of the response; the one that crosses a limit fails the request. */
  #charge(budget: ResultBudget, rows: number, bytes: number): void {
    budget.rows += rows;
    budget.bytes += bytes;
    if (budget.rows > this.#limits.maxRows) {
      throw new QueryError({
        kind: 'limit',
        message: `result has more than maxRows (${this.#limits.maxRows}) rows`,
      });
    }
    if (budget.bytes > this.#limits.maxResultBytes) {
      throw new QueryError({
        kind: 'limit',
        message: `result is larger than maxResultBytes (${this.#limits.maxResultBytes} bytes)`,
      });
    }
  }

  /** The QueryError for an error SQLite (or node:sqlite's binding) threw at statement `index`. */
  #failure(error: unknown, index: number | undefined): QueryError {
    const extended = (error as { errcode?: unknown }).errcode;
    // node:sqlite reports extended result codes (SQLITE_CONSTRAINT_UNIQUE = 2067); the primary
    // code is the low byte.
    const errcode = typeof extended === 'number' ? extended & 0xff : undefined;
    const text = boundedMessage(error);
    const fail = (kind: QueryFailure['kind'], message: string): QueryError =>
      new QueryError(index === undefined ? { kind, message } : { kind, message, statement: index });
    // The authorizer refusing an action aborts the statement (SQLite reports it as
    // SQLITE_AUTH, or as SQLITE_ERROR "not authorized to use function: …" for functions).
    if (errcode === SQLITE_AUTH || this.#lastDenial !== undefined) {
      return fail('denied', this.#lastDenial ?? 'not authorized');
    }
    switch (errcode) {
      case SQLITE_FULL:
        return fail('quota', `database is full (maxDatabaseBytes is ${this.#limits.maxDatabaseBytes} bytes)`);
      case SQLITE_TOOBIG:
        return fail(
          'limit',
          `string or blob larger than maxValueBytes (${this.#limits.maxValueBytes} bytes)`,
        );
      case SQLITE_NOMEM:
        return fail(
          'limit',
          `SQLite ran out of memory (executorHeapBytes is ${this.#limits.executorHeapBytes})`,
        );
      case SQLITE_CONSTRAINT:
      case SQLITE_RANGE:
      case SQLITE_ERROR:
        return fail('sql', text);
      default:
        // node:sqlite's own argument checks (a value it cannot bind) carry no errcode.
        if (errcode === undefined && error instanceof Error) return fail('sql', text);
        return fail('internal', `SQLite error ${String(extended)}: ${text}`);
    }
  }
}

/**
 * SQLite's message, bounded and printable: it quotes pieces of the guest's own SQL
 * (`near "x": syntax error`), never host data — the connection has no file path to show.
 */
function boundedMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cut = message.length > 200 ? `${message.slice(0, 200)}...` : message;
  return cut.replace(/[^\x20-\x7e]/gu, '?');
}
