import { constants as sqlite } from 'node:sqlite';

/**
 * What guest SQL may do, decided by SQLite's authorizer (sqlite3_set_authorizer, exposed by
 * node:sqlite as `DatabaseSync.setAuthorizer`): SQLite asks it about every action while it
 * compiles a statement — and again, for pragmas, when the statement runs — so the decision is
 * taken on SQLite's own parse of the SQL, never on a second parser's guess at it.
 *
 * Deny by default: an action code this table does not know (a newer SQLite) is refused.
 * docs/capabilities-db-secrets.md lists each rule and the attack it stops; sql-policy.test.ts
 * runs each attack.
 */

/** Actions on the module's own tables, views, triggers and indexes: the point of the capability. */
const ALWAYS_ALLOWED: ReadonlySet<number> = new Set([
  sqlite.SQLITE_SELECT,
  sqlite.SQLITE_READ,
  sqlite.SQLITE_INSERT,
  sqlite.SQLITE_UPDATE,
  sqlite.SQLITE_DELETE,
  sqlite.SQLITE_CREATE_TABLE,
  sqlite.SQLITE_CREATE_INDEX,
  sqlite.SQLITE_CREATE_VIEW,
  sqlite.SQLITE_CREATE_TRIGGER,
  sqlite.SQLITE_DROP_TABLE,
  sqlite.SQLITE_DROP_INDEX,
  sqlite.SQLITE_DROP_VIEW,
  sqlite.SQLITE_DROP_TRIGGER,
  sqlite.SQLITE_ALTER_TABLE,
  sqlite.SQLITE_REINDEX,
  sqlite.SQLITE_ANALYZE,
  sqlite.SQLITE_RECURSIVE,
]);

/** Actions refused whatever their arguments, with the reason the guest is told. */
const ALWAYS_DENIED: ReadonlyMap<number, string> = new Map([
  // Another file: ATTACH names any path; VACUUM (also VACUUM INTO 'path') attaches internally.
  [sqlite.SQLITE_ATTACH, 'ATTACH and VACUUM are not allowed (a module reaches only its own database)'],
  [sqlite.SQLITE_DETACH, 'DETACH is not allowed'],
  // The host runs each request as one transaction; a guest-held transaction could outlive its
  // invocation on a shared connection.
  [sqlite.SQLITE_TRANSACTION, 'transaction statements are not allowed (each request is one transaction)'],
  [sqlite.SQLITE_SAVEPOINT, 'SAVEPOINT and RELEASE are not allowed (each request is one transaction)'],
  // TEMP objects live in the connection, which the host reuses and closes at will.
  [sqlite.SQLITE_CREATE_TEMP_TABLE, 'TEMP tables are not allowed'],
  [sqlite.SQLITE_CREATE_TEMP_INDEX, 'TEMP indexes are not allowed'],
  [sqlite.SQLITE_CREATE_TEMP_TRIGGER, 'TEMP triggers are not allowed'],
  [sqlite.SQLITE_CREATE_TEMP_VIEW, 'TEMP views are not allowed'],
  [sqlite.SQLITE_DROP_TEMP_TABLE, 'TEMP tables are not allowed'],
  [sqlite.SQLITE_DROP_TEMP_INDEX, 'TEMP indexes are not allowed'],
  [sqlite.SQLITE_DROP_TEMP_TRIGGER, 'TEMP triggers are not allowed'],
  [sqlite.SQLITE_DROP_TEMP_VIEW, 'TEMP views are not allowed'],
]);

/**
 * Pragmas a guest may run, each with or without an argument. Everything else — journal_mode,
 * synchronous, writable_schema, trusted_schema, mmap_size, temp_store(_directory),
 * max_page_count, hard_heap_limit, database_list (which would show the host's file path), … —
 * is the host's business and refused.
 */
const PRAGMAS_WITH_ARGUMENT: ReadonlySet<string> = new Set([
  // Introspection of the module's own schema; the argument names a table or index.
  'table_info',
  'table_xinfo',
  'table_list',
  'index_list',
  'index_info',
  'index_xinfo',
  'foreign_key_list',
  'foreign_key_check',
  'integrity_check',
  'quick_check',
  // The one setting a guest owns: its schema version counter, for migrations.
  'user_version',
]);
const PRAGMAS_WITHOUT_ARGUMENT: ReadonlySet<string> = new Set([
  ...PRAGMAS_WITH_ARGUMENT,
  'page_count',
  'freelist_count',
  'page_size',
  'schema_version',
  'data_version',
  'foreign_keys',
]);

/** Virtual table modules a guest may create: full-text search. Others (fts3, rtree, geopoly) are not offered. */
const VIRTUAL_TABLE_MODULES: ReadonlySet<string> = new Set(['fts5']);

/**
 * SQL functions refused by name (extension loading is also off for the connection; fts3_tokenizer
 * can install native callbacks from a pointer). Clock and randomness functions are allowed: a
 * db.query invocation is reported non-deterministic instead.
 */
const DENIED_FUNCTIONS: ReadonlySet<string> = new Set(['load_extension', 'fts3_tokenizer']);

/** Schema names a guest may touch: its own database. `temp` and attached schemas are refused. */
function isOwnSchema(dbName: string | null): boolean {
  return dbName === null || dbName === 'main';
}

/**
 * The authorizer's decision for one action: undefined to allow, or the reason it is refused
 * (shown to the guest; it names the action, never data). Arguments as sqlite3_set_authorizer
 * passes them.
 */
export function sqlDenialReason(
  action: number,
  arg1: string | null,
  arg2: string | null,
  dbName: string | null,
): string | undefined {
  const denied = ALWAYS_DENIED.get(action);
  if (denied !== undefined) return denied;
  if (ALWAYS_ALLOWED.has(action)) {
    return isOwnSchema(dbName) ? undefined : `access to schema ${quoteName(dbName)} is not allowed`;
  }
  switch (action) {
    case sqlite.SQLITE_PRAGMA: {
      const name = (arg1 ?? '').toLowerCase();
      const allowed = arg2 === null ? PRAGMAS_WITHOUT_ARGUMENT : PRAGMAS_WITH_ARGUMENT;
      if (allowed.has(name) && isOwnSchema(dbName)) return undefined;
      return `PRAGMA ${quoteName(arg1)}${arg2 === null ? '' : ' with an argument'} is not allowed`;
    }
    case sqlite.SQLITE_FUNCTION: {
      const name = (arg2 ?? '').toLowerCase();
      return DENIED_FUNCTIONS.has(name) ? `function ${quoteName(arg2)} is not allowed` : undefined;
    }
    case sqlite.SQLITE_CREATE_VTABLE:
    case sqlite.SQLITE_DROP_VTABLE: {
      const module = (arg2 ?? '').toLowerCase();
      if (VIRTUAL_TABLE_MODULES.has(module) && isOwnSchema(dbName)) return undefined;
      return `virtual table module ${quoteName(arg2)} is not allowed (only fts5)`;
    }
    default:
      return `SQL action ${action} is not allowed`;
  }
}

/** An identifier from the guest's SQL inside a message: quoted, bounded, printable ASCII only. */
function quoteName(name: string | null): string {
  if (name === null) return '(none)';
  const cut = name.length > 64 ? `${name.slice(0, 64)}...` : name;
  return JSON.stringify(cut).replace(/[^\x20-\x7e]/gu, '?');
}
