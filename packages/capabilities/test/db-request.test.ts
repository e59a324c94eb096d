import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostCallFailure } from '../src/handler.ts';
import { DEFAULT_DB_LIMITS, resolveDbLimits, type DbLimits } from '../src/db/db-limits.ts';
import { parseDbRequest } from '../src/db/db-request.ts';
import { encodeResultValue } from '../src/db/sql-values.ts';

const encoder = new TextEncoder();
const bytes = (value: unknown): Uint8Array =>
  encoder.encode(typeof value === 'string' ? value : JSON.stringify(value));
const limits = (overrides: Partial<DbLimits> = {}): Readonly<DbLimits> => resolveDbLimits(overrides);

function refused(
  request: unknown,
  errno: 'INVALID' | 'LIMIT',
  detail: RegExp,
  over: Partial<DbLimits> = {},
): void {
  assert.throws(
    () => parseDbRequest(bytes(request), limits(over)),
    (error: unknown) =>
      error instanceof HostCallFailure && error.errno === errno && detail.test(error.message),
  );
}

void test('a request is a list of statements with positional parameters', () => {
  const parsed = parseDbRequest(
    bytes({ statements: [{ sql: 'select ?, ?', params: [1, 'a'] }, { sql: 'select 1' }] }),
    DEFAULT_DB_LIMITS,
  );
  assert.deepEqual(parsed, {
    statements: [
      { sql: 'select ?, ?', params: [1n, 'a'] },
      { sql: 'select 1', params: [] },
    ],
  });
});

void test('parameters: safe integers bind as INTEGER, other numbers as REAL, booleans as 0/1, tagged blobs, big integers and infinities', () => {
  const parsed = parseDbRequest(
    bytes(
      '{"statements":[{"sql":"x","params":[null,true,false,7,-0.5,1e300,"s",{"$blob":"AP8="},{"$int":"-9223372036854775808"},{"$int":"9223372036854775807"},{"$real":"Infinity"},{"$real":"-Infinity"}]}]}',
    ),
    DEFAULT_DB_LIMITS,
  );
  assert.deepEqual(parsed.statements[0]?.params, [
    null,
    1n,
    0n,
    7n,
    -0.5,
    1e300,
    's',
    new Uint8Array([0, 255]),
    -(2n ** 63n),
    2n ** 63n - 1n,
    Infinity,
    -Infinity,
  ]);
});

void test('malformed requests are INVALID, naming the field', () => {
  refused('not json', 'INVALID', /not valid JSON/);
  refused('\xff', 'INVALID', /.+/);
  refused([], 'INVALID', /must be a JSON object/);
  refused({}, 'INVALID', /'statements' must be an array/);
  refused({ statements: [] }, 'INVALID', /'statements' is empty/);
  refused({ statements: [{ sql: 'x' }], extra: 1 }, 'INVALID', /unknown field "extra"/);
  refused({ statements: ['select 1'] }, 'INVALID', /'statements\[0\]' must be an object/);
  refused({ statements: [{ sql: 1 }] }, 'INVALID', /statements\[0\]\.sql' must be a string/);
  refused({ statements: [{ sql: 'x', bind: [] }] }, 'INVALID', /unknown field "bind"/);
  refused({ statements: [{ sql: 'x', params: {} }] }, 'INVALID', /params' must be an array/);
  refused({ statements: [{ sql: 'select 1\u0000; drop table t' }] }, 'INVALID', /NUL/);
  refused({ statements: [{ sql: 'x', params: [[1]] }] }, 'INVALID', /params\[0\]' must be null/);
  refused({ statements: [{ sql: 'x', params: [{ $blob: 'AP8' }] }] }, 'INVALID', /not padded base64/);
  refused({ statements: [{ sql: 'x', params: [{ $int: '1.5' }] }] }, 'INVALID', /not a decimal integer/);
  refused({ statements: [{ sql: 'x', params: [{ $int: '9223372036854775808' }] }] }, 'INVALID', /64-bit/);
  refused({ statements: [{ sql: 'x', params: [{ $real: 'NaN' }] }] }, 'INVALID', /must be null/);
  refused({ statements: [{ sql: 'x', params: [{ $blob: 'AA==', $int: '1' }] }] }, 'INVALID', /must be null/);
  refused('{"statements":[{"sql":"a","sql":"b"}]}', 'INVALID', /duplicate/i);
});

void test('maxStatements: at the limit accepted, one more is LIMIT', () => {
  const statements = (n: number) => ({ statements: Array.from({ length: n }, () => ({ sql: 'select 1' })) });
  assert.equal(parseDbRequest(bytes(statements(3)), limits({ maxStatements: 3 })).statements.length, 3);
  refused(statements(4), 'LIMIT', /4 statements; limit maxStatements is 3/, { maxStatements: 3 });
});

void test('maxSqlBytes counts UTF-8 bytes: at the limit accepted, one more is LIMIT', () => {
  const sql = `select '${'é'.repeat(10)}'`; // 9 + 20 bytes
  assert.equal(Buffer.byteLength(sql), 29);
  parseDbRequest(bytes({ statements: [{ sql }] }), limits({ maxSqlBytes: 29 }));
  refused({ statements: [{ sql }] }, 'LIMIT', /29 bytes; limit maxSqlBytes is 28/, { maxSqlBytes: 28 });
});

void test('maxParams: at the limit accepted, one more is LIMIT', () => {
  const request = (n: number) => ({ statements: [{ sql: 'x', params: Array.from({ length: n }, () => 1) }] });
  parseDbRequest(bytes(request(4)), limits({ maxParams: 4 }));
  refused(request(5), 'LIMIT', /5 values; limit maxParams is 4/, { maxParams: 4 });
});

void test('maxRequestBytes: at the limit accepted, one more is LIMIT (checked before parsing)', () => {
  const statement = { sql: `select '${'x'.repeat(80)}'` };
  const request = bytes({ statements: [statement] });
  parseDbRequest(request, limits({ maxRequestBytes: request.byteLength }));
  refused(
    { statements: [statement] },
    'LIMIT',
    new RegExp(`${request.byteLength} bytes; limit maxRequestBytes is ${request.byteLength - 1}`),
    { maxRequestBytes: request.byteLength - 1 },
  );
});

void test('limits outside what the implementation honours are refused by name', () => {
  assert.throws(() => resolveDbLimits({ maxRows: 0 }), /db limit maxRows must be an integer/);
  assert.throws(() => resolveDbLimits({ executors: 1.5 }), /db limit executors/);
  assert.throws(
    () => resolveDbLimits({ nope: 1 } as unknown as Partial<DbLimits>),
    /unknown db limit "nope"/,
  );
});

void test('result values: safe integers plain, larger ones tagged, blobs base64, infinities tagged', () => {
  assert.equal(encodeResultValue(null), 'null');
  assert.equal(encodeResultValue(9007199254740991n), '9007199254740991');
  assert.equal(encodeResultValue(-9007199254740992n), '{"$int":"-9007199254740992"}');
  assert.equal(encodeResultValue(0.1), '0.1');
  assert.equal(encodeResultValue(Infinity), '{"$real":"Infinity"}');
  assert.equal(encodeResultValue(-Infinity), '{"$real":"-Infinity"}');
  assert.equal(encodeResultValue('a"b'), '"a\\"b"');
  assert.equal(encodeResultValue(new Uint8Array([0, 255])), '{"$blob":"AP8="}');
});
