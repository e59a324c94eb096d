/**
 * db.query through the real dispatcher and real executor processes: statements, values,
 * transactions, per-module isolation, and every result/size limit at the limit and one over.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hostErrnoName } from '@gojinn/abi';
import { DEFAULT_INVOCATION_LIMITS } from '@gojinn/sandbox';
import { HostCallDispatcher } from '../src/dispatcher.ts';
import type { ModuleIdentity } from '../src/handler.ts';
import { DbQueryHandler } from '../src/db/index.ts';
import type { DbLimits } from '../src/db/db-limits.ts';
import type { LogRecord } from '../src/observability.ts';
import { decodeReply, FLAG_NONDETERMINISTIC } from '../src/wire.ts';
import { PUBLISHER_A, PUBLISHER_B, moduleIdentity } from './support/harness.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Answer {
  /** The errno name when the call failed. */
  errno?: string;
  /** The parsed response when it succeeded. */
  body?: unknown;
  nondeterministic: boolean;
}

/** A DbQueryHandler behind a real HostCallDispatcher, in a fresh data directory. */
class DbFixture {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'gojinn-db-'));
  readonly records: LogRecord[] = [];
  readonly handler: DbQueryHandler;
  readonly dispatcher: HostCallDispatcher;

  constructor(limits: Partial<DbLimits> = {}) {
    this.handler = new DbQueryHandler({ dataDir: this.dataDir, limits });
    this.dispatcher = new HostCallDispatcher({ handlers: [this.handler], log: (r) => this.records.push(r) });
  }

  async call(
    module: ModuleIdentity,
    request: unknown,
    options: { deadlineMs?: number; signal?: AbortSignal } = {},
  ): Promise<Answer> {
    const host = this.dispatcher.forInvocation({
      module,
      rights: { 'db.query': {} },
      traceId: 'a'.repeat(32),
      deadline: Date.now() + (options.deadlineMs ?? 10_000),
    });
    const payload =
      typeof request === 'string' ? encoder.encode(request) : encoder.encode(JSON.stringify(request));
    const spec = {
      moduleHash: module.hash,
      stdin: new Uint8Array(0),
      limits: DEFAULT_INVOCATION_LIMITS,
      seed: '0'.repeat(64),
      granted: host.granted,
    };
    const reply = decodeReply(
      await host.handler('db_query', payload, {
        spec,
        signal: options.signal ?? new AbortController().signal,
      }),
    );
    const nondeterministic = (reply.flags & FLAG_NONDETERMINISTIC) !== 0;
    if (reply.status < 0)
      return { errno: hostErrnoName(-reply.status) ?? String(reply.status), nondeterministic };
    return { body: JSON.parse(decoder.decode(reply.body)) as unknown, nondeterministic };
  }

  /** Runs statements and returns the results, failing the test on any error. */
  async ok(module: ModuleIdentity, statements: unknown[]): Promise<unknown[]> {
    const answer = await this.call(module, { statements });
    assert.equal(answer.errno, undefined, `expected success, got ${answer.errno}`);
    const body = answer.body as { results?: unknown[]; error?: unknown };
    assert.ok(body.results !== undefined, `expected results, got ${JSON.stringify(body)}`);
    return body.results;
  }

  async close(): Promise<void> {
    await this.handler.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

const NOTES = moduleIdentity('notes', PUBLISHER_A);
let db: DbFixture;

before(async () => {
  db = new DbFixture({ maxRows: 5, maxValueBytes: 1000, maxDatabaseBytes: 64 * 1024, executors: 2 });
  await db.handler.warm();
  await db.ok(NOTES, [
    { sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)' },
    { sql: 'INSERT INTO notes (body) VALUES (?), (?)', params: ['first', 'second'] },
  ]);
});
after(() => db.close());

void test('statements run in order; writes report changes and the last rowid, reads columns and rows', async () => {
  const results = await db.ok(NOTES, [
    { sql: 'INSERT INTO notes (body) VALUES (?)', params: ['third'] },
    { sql: 'SELECT id, body FROM notes WHERE id >= ? ORDER BY id', params: [2] },
    { sql: 'DELETE FROM notes WHERE body = ?', params: ['third'] },
  ]);
  assert.deepEqual(results, [
    { changes: 1, lastInsertRowid: 3 },
    {
      columns: ['id', 'body'],
      rows: [
        [2, 'second'],
        [3, 'third'],
      ],
    },
    { changes: 1, lastInsertRowid: 3 },
  ]);
});

void test('values round-trip: integers beyond 2^53, blobs, infinities, NULL; RETURNING gives rows', async () => {
  const results = await db.ok(NOTES, [
    {
      sql: 'SELECT ?, ?, ?, ?, ?, typeof(?), typeof(?)',
      params: [
        { $int: '9223372036854775807' },
        { $blob: 'AP8=' },
        { $real: '-Infinity' },
        null,
        0.25,
        3,
        3.5,
      ],
    },
    { sql: 'INSERT INTO notes (body) VALUES (?) RETURNING id, body', params: ['returned'] },
    { sql: 'DELETE FROM notes WHERE body = ?', params: ['returned'] },
  ]);
  assert.deepEqual((results[0] as { rows: unknown[] }).rows, [
    [
      { $int: '9223372036854775807' },
      { $blob: 'AP8=' },
      { $real: '-Infinity' },
      null,
      0.25,
      'integer',
      'real',
    ],
  ]);
  const [returned] = (results[1] as { rows: unknown[][] }).rows;
  assert.equal(typeof returned?.[0], 'number');
  assert.equal(returned?.[1], 'returned');
});

void test('a request is one transaction: a failing statement undoes the ones before it', async () => {
  const answer = await db.call(NOTES, {
    statements: [
      { sql: 'INSERT INTO notes (body) VALUES (?)', params: ['undone'] },
      { sql: 'INSERT INTO notes (body) VALUES (?)', params: ['first'] }, // UNIQUE violation
    ],
  });
  assert.deepEqual(answer.body, {
    error: { message: 'UNIQUE constraint failed: notes.body', statement: 1 },
  });
  const results = await db.ok(NOTES, [{ sql: "SELECT count(*) FROM notes WHERE body = 'undone'" }]);
  assert.deepEqual(results, [{ columns: ['count(*)'], rows: [[0]] }]);
});

void test("SQL errors come back in the response with SQLite's message; the guest's own mistakes are not denials", async () => {
  for (const [sql, message] of [
    ['SELECT * FROM missing', 'no such table: missing'],
    ['SELEC 1', 'near "SELEC": syntax error'],
    ['SELECT 1; DROP TABLE notes', 'the SQL text holds more than one statement'],
    ['-- nothing but a comment', 'The SQL query contains no statements.'],
  ] as const) {
    const answer = await db.call(NOTES, { statements: [{ sql }] });
    assert.deepEqual(answer.body, { error: { message, statement: 0 } }, sql);
  }
  const wrongCount = await db.call(NOTES, { statements: [{ sql: 'SELECT ?', params: [1, 2] }] });
  assert.match(
    (wrongCount.body as { error: { message: string } }).error.message,
    /column index out of range/,
  );
  // The table survived the multi-statement text.
  await db.ok(NOTES, [{ sql: 'SELECT count(*) FROM notes' }]);
  assert.equal(
    db.records.filter((r) => r.type === 'security').length,
    0,
    'no security events for ordinary SQL errors',
  );
});

void test('every db.query call is reported non-deterministic (stored data, clock and random() are reachable)', async () => {
  const answer = await db.call(NOTES, { statements: [{ sql: 'SELECT 1' }] });
  assert.equal(answer.nondeterministic, true);
});

void test('modules never share a database: same table name, different data; files are named by identity hash', async () => {
  const other = moduleIdentity('notes', PUBLISHER_B); // same name, another publisher
  const missing = await db.call(other, { statements: [{ sql: 'SELECT * FROM notes' }] });
  assert.deepEqual(missing.body, { error: { message: 'no such table: notes', statement: 0 } });
  await db.ok(other, [{ sql: 'CREATE TABLE notes (body TEXT)' }, { sql: "INSERT INTO notes VALUES ('b')" }]);
  assert.deepEqual(await db.ok(other, [{ sql: 'SELECT body FROM notes' }]), [
    { columns: ['body'], rows: [['b']] },
  ]);
  const mine = (await db.ok(NOTES, [{ sql: 'SELECT count(*) FROM notes' }])) as { rows: number[][] }[];
  assert.deepEqual(mine[0]?.rows, [[2]]);
  // Another version (hash) of the same module shares its database.
  const nextVersion = { ...NOTES, hash: '0'.repeat(64) };
  assert.deepEqual(await db.ok(nextVersion, [{ sql: 'SELECT count(*) FROM notes' }]), mine);
  const files = readdirSync(db.handler.directory).filter((f) => f.endsWith('.sqlite'));
  assert.ok(
    files.every((f) => /^[0-9a-f]{64}\.sqlite$/.test(f)),
    files.join(','),
  );
  assert.notEqual(db.handler.databasePath(NOTES), db.handler.databasePath(other));
  // Owner-only, in an owner-only folder.
  assert.equal(statSync(db.handler.directory).mode & 0o777, 0o700);
  for (const file of readdirSync(db.handler.directory)) {
    assert.equal(statSync(join(db.handler.directory, file)).mode & 0o077, 0, file);
  }
  // Separators in a name cannot move the file: a hash has none.
  assert.match(
    db.handler.databasePath({ name: '../../etc', publisher: PUBLISHER_A }),
    /\/db\/[0-9a-f]{64}\.sqlite$/,
  );
});

void test('maxRows: exactly maxRows rows are returned, one more fails the request with LIMIT', async () => {
  const rows = (n: number) => ({
    statements: [
      {
        sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT x FROM c',
        params: [n],
      },
    ],
  });
  const five = await db.call(NOTES, rows(5));
  assert.equal((five.body as { results: { rows: unknown[] }[] }).results[0]?.rows.length, 5);
  assert.equal((await db.call(NOTES, rows(6))).errno, 'LIMIT');
  // Rows of all statements count together.
  const twoStatements = await db.call(NOTES, {
    statements: [
      { sql: 'SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3' },
      { sql: 'SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3' },
    ],
  });
  assert.equal(twoStatements.errno, 'LIMIT');
});

void test('maxValueBytes: a value of exactly the limit is fine, one byte more is LIMIT', async () => {
  const blob = (n: number) => ({ statements: [{ sql: 'SELECT length(zeroblob(?))', params: [n] }] });
  assert.deepEqual((await db.call(NOTES, blob(1000))).body, {
    results: [{ columns: ['length(zeroblob(?))'], rows: [[1000]] }],
  });
  assert.equal((await db.call(NOTES, blob(1001))).errno, 'LIMIT');
});

void test('maxDatabaseBytes: writes past the file size are QUOTA, rolled back, and the database stays usable', async () => {
  const filler = moduleIdentity('filler', PUBLISHER_A);
  await db.ok(filler, [{ sql: 'CREATE TABLE t (b BLOB)' }]);
  let answer: Answer | undefined;
  for (let i = 0; i < 100; i++) {
    answer = await db.call(filler, {
      statements: [
        { sql: 'INSERT INTO t VALUES (zeroblob(900))' },
        { sql: 'INSERT INTO t VALUES (zeroblob(900))' },
      ],
    });
    if (answer.errno !== undefined) break;
  }
  assert.equal(answer?.errno, 'QUOTA');
  const count = (await db.ok(filler, [{ sql: 'SELECT count(*) FROM t' }])) as { rows: number[][] }[];
  assert.equal((count[0]?.rows[0]?.[0] ?? 1) % 2, 0, 'the failed pair was rolled back whole');
  await db.ok(filler, [{ sql: 'DELETE FROM t' }]);
});

void test('maxResultBytes: a response of exactly the limit passes, one byte more is LIMIT', async () => {
  const request = { statements: [{ sql: "SELECT 'abc' AS v UNION ALL SELECT 'defg'" }] };
  const probe = new DbFixture({ executors: 1 });
  try {
    const answer = await probe.call(NOTES, request);
    const size = encoder.encode(JSON.stringify(answer.body)).byteLength;
    assert.equal(size, '{"results":[{"columns":["v"],"rows":[["abc"],["defg"]]}]}'.length);
    await probe.handler.close();
    const exact = new DbFixture({ executors: 1, maxResultBytes: size });
    const under = new DbFixture({ executors: 1, maxResultBytes: size - 1 });
    try {
      assert.deepEqual((await exact.call(NOTES, request)).body, answer.body);
      assert.equal((await under.call(NOTES, request)).errno, 'LIMIT');
      // Two results: the comma between them counts too.
      const two = { statements: [{ sql: 'SELECT 1 AS a' }, { sql: 'SELECT 2 AS b' }] };
      const twoSize = '{"results":[{"columns":["a"],"rows":[[1]]},{"columns":["b"],"rows":[[2]]}]}'.length;
      const twoExact = new DbFixture({ executors: 1, maxResultBytes: twoSize });
      const twoUnder = new DbFixture({ executors: 1, maxResultBytes: twoSize - 1 });
      try {
        assert.equal(
          encoder.encode(JSON.stringify((await twoExact.call(NOTES, two)).body)).byteLength,
          twoSize,
        );
        assert.equal((await twoUnder.call(NOTES, two)).errno, 'LIMIT');
      } finally {
        await twoExact.close();
        await twoUnder.close();
      }
    } finally {
      await exact.close();
      await under.close();
    }
  } finally {
    await probe.close();
  }
});

void test('a malformed request is INVALID and a request over a limit LIMIT, before any SQL runs', async () => {
  assert.equal((await db.call(NOTES, 'not json')).errno, 'INVALID');
  assert.equal((await db.call(NOTES, { statements: [{ sql: 'x'.repeat(20_000) }] })).errno, 'LIMIT');
});
