/**
 * Every way guest SQL could reach past its own database, run through the real handler and a real
 * executor process: each is refused with -DENIED, logged as a security event without the SQL or
 * its data, and leaves the database as it was. Plus the pure policy table for what SQLite's
 * authorizer asks.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as sqlite } from 'node:sqlite';
import { after, before, test } from 'node:test';
import { hostErrnoName } from '@gojinn/abi';
import { DEFAULT_INVOCATION_LIMITS } from '@gojinn/sandbox';
import { HostCallDispatcher } from '../src/dispatcher.ts';
import type { ModuleIdentity } from '../src/handler.ts';
import { DbQueryHandler } from '../src/db/index.ts';
import { sqlDenialReason } from '../src/db/sql-policy.ts';
import type { LogRecord } from '../src/observability.ts';
import { decodeReply } from '../src/wire.ts';
import { PUBLISHER_A, moduleIdentity } from './support/harness.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const dataDir = mkdtempSync(join(tmpdir(), 'gojinn-db-policy-'));
const outside = join(dataDir, 'outside.sqlite');
const records: LogRecord[] = [];
let handler: DbQueryHandler;
let dispatcher: HostCallDispatcher;
const ATTACKER = moduleIdentity('attacker', PUBLISHER_A);
const VICTIM = moduleIdentity('victim', PUBLISHER_A);

async function call(module: ModuleIdentity, sql: string): Promise<{ errno?: string; body?: unknown }> {
  const host = dispatcher.forInvocation({
    module,
    rights: { 'db.query': {} },
    traceId: 'b'.repeat(32),
    deadline: Date.now() + 10_000,
  });
  const spec = {
    moduleHash: module.hash,
    stdin: new Uint8Array(0),
    limits: DEFAULT_INVOCATION_LIMITS,
    seed: '0'.repeat(64),
    granted: host.granted,
  };
  const reply = decodeReply(
    await host.handler('db_query', encoder.encode(JSON.stringify({ statements: [{ sql }] })), {
      spec,
      signal: new AbortController().signal,
    }),
  );
  if (reply.status < 0) return { errno: hostErrnoName(-reply.status) };
  return { body: JSON.parse(decoder.decode(reply.body)) as unknown };
}

before(async () => {
  handler = new DbQueryHandler({ dataDir, limits: { executors: 1 } });
  dispatcher = new HostCallDispatcher({ handlers: [handler], log: (record) => records.push(record) });
  assert.deepEqual((await call(VICTIM, 'CREATE TABLE private (secret TEXT)')).errno, undefined);
  assert.deepEqual((await call(VICTIM, "INSERT INTO private VALUES ('victim-data')")).errno, undefined);
  assert.deepEqual((await call(ATTACKER, 'CREATE TABLE mine (x INTEGER)')).errno, undefined);
  assert.deepEqual((await call(ATTACKER, 'INSERT INTO mine VALUES (1)')).errno, undefined);
});
after(async () => {
  await handler.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const quoted = (path: string): string => `'${path.replaceAll("'", "''")}'`;

/** [what it tries, SQL]. Paths are filled in at run time. */
const ATTACKS: readonly (readonly [string, () => string])[] = [
  ["ATTACH another module's database", () => `ATTACH ${quoted(handler.databasePath(VICTIM))} AS v`],
  ['ATTACH a new file anywhere', () => `ATTACH ${quoted(outside)} AS o`],
  ['ATTACH an in-memory database', () => "ATTACH ':memory:' AS m"],
  ['ATTACH through a URI filename', () => `ATTACH 'file:${outside}?mode=rwc' AS u`],
  ['DETACH main', () => 'DETACH main'],
  ['load_extension()', () => "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so')"],
  ['fts3_tokenizer() (native pointers)', () => "SELECT fts3_tokenizer('simple')"],
  ['PRAGMA database_list (the host file path)', () => 'PRAGMA database_list'],
  ['pragma_database_list table-valued function', () => 'SELECT file FROM pragma_database_list'],
  ['PRAGMA writable_schema', () => 'PRAGMA writable_schema = ON'],
  ['PRAGMA journal_mode = OFF (unsafe writes)', () => 'PRAGMA journal_mode = OFF'],
  ['PRAGMA synchronous = OFF', () => 'PRAGMA synchronous = OFF'],
  ['PRAGMA max_page_count (raising the quota)', () => 'PRAGMA max_page_count = 4294967294'],
  ['PRAGMA hard_heap_limit', () => 'PRAGMA hard_heap_limit = 0'],
  ['PRAGMA mmap_size', () => 'PRAGMA mmap_size = 1073741824'],
  ['PRAGMA temp_store_directory', () => `PRAGMA temp_store_directory = ${quoted(dataDir)}`],
  ['PRAGMA trusted_schema', () => 'PRAGMA trusted_schema = ON'],
  ['PRAGMA foreign_keys = OFF', () => 'PRAGMA foreign_keys = OFF'],
  ['PRAGMA on the temp schema', () => 'PRAGMA temp.user_version'],
  ['BEGIN (a transaction outliving the request)', () => 'BEGIN'],
  ['COMMIT', () => 'COMMIT'],
  ['SAVEPOINT', () => 'SAVEPOINT s'],
  ['RELEASE', () => 'RELEASE s'],
  ['CREATE TEMP TABLE', () => 'CREATE TEMP TABLE t (x)'],
  ['CREATE TEMP VIEW', () => 'CREATE TEMP VIEW v AS SELECT 1'],
  ['CREATE TEMP TRIGGER', () => 'CREATE TEMP TRIGGER tr AFTER INSERT ON mine BEGIN SELECT 1; END'],
  ['reading the temp schema', () => 'SELECT * FROM temp.sqlite_master'],
  ['CREATE VIRTUAL TABLE USING fts3', () => 'CREATE VIRTUAL TABLE f USING fts3(a)'],
  ['CREATE VIRTUAL TABLE USING rtree', () => 'CREATE VIRTUAL TABLE r USING rtree(id, a, b)'],
];

for (const [what, sql] of ATTACKS) {
  void test(`refused: ${what}`, async () => {
    const before = records.length;
    const answer = await call(ATTACKER, sql());
    assert.equal(answer.errno, 'DENIED', `${what}: ${JSON.stringify(answer)}`);
    const logged = records.slice(before);
    assert.equal(logged.length, 1);
    const [record] = logged;
    assert.equal(record?.type, 'security');
    if (record?.type === 'security') {
      assert.equal(record.capability, 'db.query');
      assert.equal(record.function, 'db_query');
      assert.equal(record.module.name, 'attacker');
      // The reason names the rule, never the SQL's data (paths, values).
      assert.ok(!record.reason.includes(dataDir), record.reason);
      assert.ok(!record.reason.includes('/usr/lib'), record.reason);
    }
  });
}

void test('refused: VACUUM and VACUUM INTO a file — SQLite refuses VACUUM inside the request transaction (and the authorizer and the attach limit would refuse the ATTACH it needs)', async () => {
  for (const sql of [`VACUUM INTO ${quoted(outside)}`, 'VACUUM']) {
    assert.deepEqual(await call(ATTACKER, sql), {
      body: { error: { message: 'cannot VACUUM from within a transaction', statement: 0 } },
    });
  }
  assert.equal(existsSync(outside), false);
});

void test('none of the attacks left a file behind or touched the victim', async () => {
  assert.equal(existsSync(outside), false);
  assert.deepEqual(await call(VICTIM, 'SELECT secret FROM private'), {
    body: { results: [{ columns: ['secret'], rows: [['victim-data']] }] },
  });
  assert.deepEqual(await call(ATTACKER, 'SELECT x FROM mine'), {
    body: { results: [{ columns: ['x'], rows: [[1]] }] },
  });
});

void test('a denied statement fails its whole request: earlier statements are rolled back', async () => {
  const host = dispatcher.forInvocation({
    module: ATTACKER,
    rights: { 'db.query': {} },
    traceId: 'c'.repeat(32),
    deadline: Date.now() + 10_000,
  });
  const request = {
    statements: [{ sql: 'INSERT INTO mine VALUES (2)' }, { sql: `ATTACH ${quoted(outside)} AS o` }],
  };
  const spec = {
    moduleHash: ATTACKER.hash,
    stdin: new Uint8Array(0),
    limits: DEFAULT_INVOCATION_LIMITS,
    seed: '0'.repeat(64),
    granted: host.granted,
  };
  const reply = decodeReply(
    await host.handler('db_query', encoder.encode(JSON.stringify(request)), {
      spec,
      signal: new AbortController().signal,
    }),
  );
  assert.equal(hostErrnoName(-reply.status), 'DENIED');
  assert.deepEqual(await call(ATTACKER, 'SELECT count(*) FROM mine'), {
    body: { results: [{ columns: ['count(*)'], rows: [[1]] }] },
  });
});

void test('what a guest may do: its own schema, fts5, json, recursive CTEs, user_version, introspection pragmas', async () => {
  for (const sql of [
    'CREATE TABLE IF NOT EXISTS t (a INTEGER PRIMARY KEY, b TEXT)',
    'CREATE INDEX IF NOT EXISTS t_b ON t (b)',
    'CREATE VIEW IF NOT EXISTS v AS SELECT a FROM t',
    'CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN UPDATE t SET b = upper(b) WHERE a = new.a; END',
    "INSERT INTO t (b) VALUES ('x')",
    'ALTER TABLE t ADD COLUMN c TEXT',
    'CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(body)',
    "INSERT INTO search VALUES ('hello world')",
    "SELECT * FROM search WHERE search MATCH 'hello'",
    "SELECT value FROM json_each('[1,2]')",
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3) SELECT x FROM c',
    'PRAGMA user_version = 7',
    'PRAGMA user_version',
    'PRAGMA table_info(t)',
    'PRAGMA index_list(t)',
    'PRAGMA foreign_keys',
    'PRAGMA page_count',
    'PRAGMA integrity_check',
    "SELECT datetime('now'), random()",
    'SELECT name FROM sqlite_master',
    'ANALYZE',
    'DROP VIEW v',
    'DROP TABLE search',
  ]) {
    const answer = await call(ATTACKER, sql);
    assert.equal(answer.errno, undefined, `${sql}: ${JSON.stringify(answer)}`);
    assert.ok(
      (answer.body as { error?: unknown }).error === undefined,
      `${sql}: ${JSON.stringify(answer.body)}`,
    );
  }
});

void test('writing the schema table directly is refused by SQLite itself (defensive mode)', async () => {
  const answer = await call(ATTACKER, "UPDATE sqlite_master SET sql = 'x' WHERE name = 'mine'");
  assert.deepEqual(answer.body, {
    error: { message: 'table sqlite_master may not be modified', statement: 0 },
  });
});

void test('the policy table: unknown action codes are refused; known ones as documented', () => {
  assert.equal(sqlDenialReason(999, null, null, null), 'SQL action 999 is not allowed');
  assert.equal(sqlDenialReason(sqlite.SQLITE_SELECT, null, null, null), undefined);
  assert.equal(sqlDenialReason(sqlite.SQLITE_READ, 't', 'c', 'main'), undefined);
  assert.match(sqlDenialReason(sqlite.SQLITE_READ, 't', 'c', 'other') ?? '', /schema "other"/);
  assert.equal(sqlDenialReason(sqlite.SQLITE_PRAGMA, 'USER_VERSION', '3', null), undefined);
  assert.match(sqlDenialReason(sqlite.SQLITE_PRAGMA, 'page_count', '3', null) ?? '', /with an argument/);
  assert.equal(sqlDenialReason(sqlite.SQLITE_FUNCTION, null, 'upper', null), undefined);
  assert.match(sqlDenialReason(sqlite.SQLITE_FUNCTION, null, 'LOAD_EXTENSION', null) ?? '', /not allowed/);
  assert.equal(sqlDenialReason(sqlite.SQLITE_CREATE_VTABLE, 's', 'fts5', 'main'), undefined);
  // Identifiers in reasons are bounded and printable.
  const reason = sqlDenialReason(sqlite.SQLITE_PRAGMA, `x\u001b[31m${'y'.repeat(100)}`, null, null) ?? '';
  assert.ok(!reason.includes('\u001b') && reason.length < 120, reason);
});
