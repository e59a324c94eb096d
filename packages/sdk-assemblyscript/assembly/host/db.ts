// SQL on the module's own SQLite database through `gojinn.db_query` (capability db.query;
// docs/capabilities-db-secrets.md). Each module has exactly one database, which no other module
// can reach; statements are parameterised, and one call runs its statements in one transaction.
//
//   const result = dbQuery([
//     new Statement('INSERT INTO notes (body) VALUES (?)').text(body),
//     new Statement('SELECT id, body FROM notes ORDER BY id DESC LIMIT ?').int(10),
//   ]);
//   if (result.ok) { const rows = result.results[1].rows; ... }
//   else if (result.error !== null) { ... SQLite refused a statement: result.error ... }
//   else { ... result.errno: DB_DENIED, DB_LIMIT, DB_QUOTA, DB_TIMEOUT ... }
//
// Wire format (the host's side is packages/capabilities/src/db/db-request.ts): the request is
//   {"statements": [{"sql": "...", "params": [...]}, ...]}
// and the response {"results": [{"columns": [...], "rows": [[...], ...]} | {"changes": n,
// "lastInsertRowid": n}, ...]} or {"error": {"message": "...", "statement": i}}.
import { ByteBuffer } from '../buffers';
import { decimalText } from '../decimal-text';
import { JSON_ARRAY, JSON_NUMBER, JSON_OBJECT, JSON_STRING, JsonReader } from '../json-reader';
import { JsonWriter } from '../json-writer';
import * as gojinn from './gojinn';

// Host error numbers a call can fail with (HOST_ERRNO in @gojinn/abi; result.errno holds one).
/** The SQL policy refused an action (ATTACH, a pragma, a transaction statement, ...). Logged by the node. */
export const DB_DENIED: i32 = 1;
/** The response did not fit the out buffer (handled inside dbQuery: never returned). */
const HOST_TOO_SMALL: i32 = 3;
/** The request was malformed (should not happen through this wrapper). */
export const DB_INVALID: i32 = 4;
/** A limit was exceeded: statements, SQL size, parameters, rows, response bytes, value size. */
export const DB_LIMIT: i32 = 5;
/** The database reached its size limit; the call's writes were rolled back. */
export const DB_QUOTA: i32 = 6;
/** The node could not run the query (overloaded, or a failure it logged). */
export const DB_UNAVAILABLE: i32 = 9;
/** The invocation's deadline came first; the call's writes were rolled back. */
export const DB_TIMEOUT: i32 = 10;

/** First guess at the response size; a larger response is fetched with result_take. */
const FIRST_RESPONSE_CAPACITY: usize = 16 * 1024;
/** Integers beyond ±(2^53 − 1) travel as {"$int": "<decimal>"} (JSON numbers are doubles). */
const MAX_SAFE_INTEGER: i64 = 9007199254740991;

/** One SQL statement and its positional parameters (`?`), added in order. */
export class Statement {
  sql: string;
  /** The parameters' JSON, comma-separated, without the brackets. */
  private params: ByteBuffer = new ByteBuffer();
  private count: i32 = 0;

  constructor(sql: string) {
    this.sql = sql;
  }

  private next(): JsonWriter {
    if (this.count++ > 0) this.params.pushByte(0x2c); // ','
    return new JsonWriter(this.params);
  }

  /** Binds a TEXT value. */
  text(value: string): Statement {
    this.next().stringValue(value);
    return this;
  }

  /** Binds an INTEGER value. */
  int(value: i64): Statement {
    const writer = this.next();
    if (value <= MAX_SAFE_INTEGER && value >= -MAX_SAFE_INTEGER) writer.integerValue(value);
    else writer.beginObject().key('$int').stringValue(decimalText(value)).endObject();
    return this;
  }

  /** Binds a REAL value (a whole number is sent as INTEGER; NaN as NULL, as SQLite would store it). */
  real(value: f64): Statement {
    const writer = this.next();
    if (isFinite(value)) writer.numberValue(value);
    else if (isNaN(value)) writer.nullValue();
    else
      writer
        .beginObject()
        .key('$real')
        .stringValue(value > 0 ? 'Infinity' : '-Infinity')
        .endObject();
    return this;
  }

  /** Binds 1 or 0. */
  bool(value: bool): Statement {
    this.next().boolValue(value);
    return this;
  }

  /** Binds NULL. */
  nullValue(): Statement {
    this.next().nullValue();
    return this;
  }

  /** Appends this statement's JSON object to `writer`. */
  encodeInto(writer: JsonWriter): void {
    writer.beginObject().key('sql').stringValue(this.sql);
    if (this.count > 0) {
      writer.key('params').beginArray();
      writer.rawValue(this.params.toArrayBuffer());
      writer.endArray();
    }
    writer.endObject();
  }
}

/** What one statement produced: rows (a query, or RETURNING) or a count of changes. */
export class StatementResult {
  /** Column names; empty for a statement that returns no rows. */
  columns: string[] = [];
  /**
   * Each row as its JSON array text: numbers, strings, null, {"$blob": base64}, {"$int": "…"}.
   * Read one with `JsonReader.ofBuffer(row)` (beginArray, then nextItem per column).
   */
  rows: ArrayBuffer[] = [];
  /** Rows changed by an INSERT, UPDATE or DELETE without RETURNING. */
  changes: i64 = 0;
  /** The rowid of the last INSERT (without RETURNING). */
  lastInsertRowid: i64 = 0;
}

export class DbResult {
  /** 0 unless the host refused the call: DB_DENIED, DB_LIMIT, DB_QUOTA, DB_TIMEOUT, ... */
  errno: i32 = 0;
  /** SQLite's message when it refused a statement (the call's writes were rolled back). */
  error: string | null = null;
  /** Index of the statement `error` is about (-1 when none). */
  errorStatement: i32 = -1;
  /** One entry per statement, when the call succeeded. */
  results: StatementResult[] = [];

  get ok(): bool {
    return this.errno == 0 && this.error === null;
  }

  static failed(errno: i32): DbResult {
    const result = new DbResult();
    result.errno = errno;
    return result;
  }
}

/** Runs `statements` in order, in one transaction, on the module's database. */
export function dbQuery(statements: Statement[]): DbResult {
  const encoded = new ByteBuffer();
  const writer = new JsonWriter(encoded);
  writer.beginObject().key('statements').beginArray();
  for (let i = 0; i < statements.length; i++) unchecked(statements[i]).encodeInto(writer);
  writer.endArray().endObject();
  let capacity = FIRST_RESPONSE_CAPACITY;
  let out = heap.alloc(capacity);
  let n = gojinn.db_query(encoded.ptr, encoded.length, out, capacity);
  encoded.dispose();
  if (n == -HOST_TOO_SMALL) {
    // The host kept the response: ask its size, then take it into a buffer that fits.
    const size = gojinn.result_take(0, 0);
    heap.free(out);
    if (size < 0) return DbResult.failed(-size);
    capacity = <usize>size;
    out = heap.alloc(max<usize>(capacity, 1));
    n = gojinn.result_take(out, capacity);
  }
  if (n < 0) {
    heap.free(out);
    return DbResult.failed(-n);
  }
  const result = parseResponse(new JsonReader(out, <usize>n));
  heap.free(out);
  return result;
}

/** Runs one statement without parameters (DDL, for instance). */
export function dbExec(sql: string): DbResult {
  return dbQuery([new Statement(sql)]);
}

function parseResponse(reader: JsonReader): DbResult {
  const result = new DbResult();
  if (!reader.beginObject()) return DbResult.failed(DB_UNAVAILABLE);
  while (true) {
    const key = reader.nextKey();
    if (key === null) break;
    if (key == 'results' && reader.peekKind() == JSON_ARRAY && reader.beginArray()) {
      while (reader.nextItem()) result.results.push(parseStatementResult(reader));
    } else if (key == 'error' && reader.peekKind() == JSON_OBJECT && reader.beginObject()) {
      while (true) {
        const field = reader.nextKey();
        if (field === null) break;
        if (field == 'message' && reader.peekKind() == JSON_STRING) {
          result.error = reader.readString();
        } else if (field == 'statement' && reader.peekKind() == JSON_NUMBER) {
          result.errorStatement = <i32>reader.readNumber();
        } else {
          reader.skipValue();
        }
      }
    } else {
      reader.skipValue();
    }
  }
  if (reader.failed) return DbResult.failed(DB_UNAVAILABLE);
  return result;
}

function parseStatementResult(reader: JsonReader): StatementResult {
  const result = new StatementResult();
  if (!reader.beginObject()) return result;
  while (true) {
    const key = reader.nextKey();
    if (key === null) break;
    if (key == 'columns' && reader.beginArray()) {
      while (reader.nextItem()) {
        const name = reader.readString();
        if (name === null) break;
        result.columns.push(name);
      }
    } else if (key == 'rows' && reader.beginArray()) {
      while (reader.nextItem()) {
        const row = reader.readRawValue();
        if (row !== null) result.rows.push(row);
      }
    } else if (key == 'changes' && reader.peekKind() == JSON_NUMBER) {
      result.changes = <i64>reader.readNumber();
    } else if (key == 'lastInsertRowid' && reader.peekKind() == JSON_NUMBER) {
      result.lastInsertRowid = <i64>reader.readNumber();
    } else {
      reader.skipValue();
    }
  }
  return result;
}
