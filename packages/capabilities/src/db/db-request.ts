import { GojinnError } from '@gojinn/errors';
import { parseStrictJson, type JsonValue } from '@gojinn/manifest';
import { HostCallFailure } from '../handler.ts';
import type { DbLimits } from './db-limits.ts';
import type { SqlParam } from './sql-values.ts';

/** One statement of a request: SQL text and its positional parameters. */
export interface DbStatement {
  readonly sql: string;
  readonly params: readonly SqlParam[];
}

/** A parsed `db_query` request: statements that run in order, in one transaction. */
export interface DbRequest {
  readonly statements: readonly DbStatement[];
}

/** Nesting of a request: the object, `statements`, one statement, `params`, one `{"$blob":…}`. */
const MAX_REQUEST_DEPTH = 5;
/** Largest and smallest integer SQLite stores (64-bit two's complement). */
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const DECIMAL_INTEGER = /^-?(?:0|[1-9][0-9]{0,19})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A malformed request: `-INVALID` to the guest. */
function fail(message: string): never {
  throw new HostCallFailure('INVALID', `db request ${message}`);
}

/** A request over one of the named limits: `-LIMIT` to the guest. */
function overLimit(message: string): never {
  throw new HostCallFailure('LIMIT', `db request ${message}`);
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys of `value` other than `allowed`, for a message naming the first one. */
function unknownKey(value: { [key: string]: JsonValue }, allowed: readonly string[]): string | undefined {
  return Object.keys(value).find((key) => !allowed.includes(key));
}

/**
 * Parses the guest's request bytes once, strictly and bounded (docs/capabilities-db-secrets.md):
 * `{"statements": [{"sql": "...", "params": [...]}, ...]}`. Throws HostCallFailure: `INVALID` for a
 * malformed request, `LIMIT` past a named limit, the detail naming the field or the limit.
 * Nothing of the request reaches SQLite before this succeeds.
 */
export function parseDbRequest(bytes: Uint8Array, limits: DbLimits): DbRequest {
  if (bytes.byteLength > limits.maxRequestBytes) {
    overLimit(`is ${bytes.byteLength} bytes; limit maxRequestBytes is ${limits.maxRequestBytes}`);
  }
  let root: JsonValue;
  try {
    root = parseStrictJson(bytes, 'db request', 'bad_request', MAX_REQUEST_DEPTH);
  } catch (error) {
    if (error instanceof GojinnError) throw new HostCallFailure('INVALID', error.message);
    throw error;
  }
  if (!isObject(root)) fail('must be a JSON object');
  const extra = unknownKey(root, ['statements']);
  if (extra !== undefined) fail(`has unknown field ${JSON.stringify(extra.slice(0, 64))}`);
  const list = root.statements;
  if (!Array.isArray(list)) fail("field 'statements' must be an array");
  if (list.length === 0) fail("field 'statements' is empty");
  if (list.length > limits.maxStatements) {
    overLimit(`has ${list.length} statements; limit maxStatements is ${limits.maxStatements}`);
  }
  return { statements: list.map((item, i) => parseStatement(item, `statements[${i}]`, limits)) };
}

function parseStatement(item: JsonValue, field: string, limits: DbLimits): DbStatement {
  if (!isObject(item)) fail(`field '${field}' must be an object`);
  const extra = unknownKey(item, ['sql', 'params']);
  if (extra !== undefined) fail(`field '${field}' has unknown field ${JSON.stringify(extra.slice(0, 64))}`);
  const { sql, params = [] } = item;
  if (typeof sql !== 'string') fail(`field '${field}.sql' must be a string`);
  const sqlBytes = Buffer.byteLength(sql, 'utf8');
  if (sqlBytes > limits.maxSqlBytes) {
    overLimit(`field '${field}.sql' is ${sqlBytes} bytes; limit maxSqlBytes is ${limits.maxSqlBytes}`);
  }
  // SQLite would stop reading at a NUL; refuse instead of running a different text than was sent.
  if (sql.includes('\0')) fail(`field '${field}.sql' contains a NUL character`);
  if (!Array.isArray(params)) fail(`field '${field}.params' must be an array`);
  if (params.length > limits.maxParams) {
    overLimit(`field '${field}.params' has ${params.length} values; limit maxParams is ${limits.maxParams}`);
  }
  return { sql, params: params.map((value, i) => parseParam(value, `${field}.params[${i}]`)) };
}

/**
 * One parameter. node:sqlite binds every JS number as REAL, so a JSON number that is a safe
 * integer binds as INTEGER (a bigint) — `1` means the integer 1 in SQL too.
 */
function parseParam(value: JsonValue, field: string): SqlParam {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (isObject(value)) {
    const keys = Object.keys(value);
    const [key] = keys;
    const text = key === undefined ? undefined : value[key];
    if (keys.length === 1 && typeof text === 'string') {
      if (key === '$blob') {
        if (!BASE64.test(text)) fail(`field '${field}.$blob' is not padded base64`);
        return new Uint8Array(Buffer.from(text, 'base64'));
      }
      if (key === '$int') {
        if (!DECIMAL_INTEGER.test(text)) fail(`field '${field}.$int' is not a decimal integer`);
        const int = BigInt(text);
        if (int > INT64_MAX || int < INT64_MIN) fail(`field '${field}.$int' is outside the 64-bit range`);
        return int;
      }
      if (key === '$real' && (text === 'Infinity' || text === '-Infinity')) {
        return text === 'Infinity' ? Infinity : -Infinity;
      }
    }
  }
  return fail(
    `field '${field}' must be null, a boolean, a number, a string, {"$blob": …}, {"$int": …} or {"$real": …}`,
  );
}
