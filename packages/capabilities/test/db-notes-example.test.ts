/**
 * db.query end to end: the `notes` example (AssemblyScript, built by scripts/build-guests.ts) and
 * the driver guest, run by the real Sandbox and worker pool, their host calls served by the
 * HostCallDispatcher and the DbQueryHandler's executor processes.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HOST_ERRNO } from '@gojinn/abi';
import { Sandbox, type InvocationOutcome, type PreparedModule } from '@gojinn/sandbox';
import { HostCallDispatcher } from '../src/dispatcher.ts';
import type { CapabilityRights, ModuleIdentity } from '../src/handler.ts';
import { HOST_IMPORTS_URL } from '../src/index.ts';
import { DbQueryHandler } from '../src/db/index.ts';
import type { LogRecord } from '../src/observability.ts';
import { decodeResults, driverGuest, encodeScript } from './support/driver-guest.ts';
import { PUBLISHER_A, PUBLISHER_B, moduleIdentity } from './support/harness.ts';

function readExample(name: string): Uint8Array {
  const path = fileURLToPath(new URL(`../../../examples/${name}/build/${name}.wasm`, import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build:guests\` first`);
  return new Uint8Array(readFileSync(path));
}

const DB_RIGHTS: CapabilityRights = { 'db.query': {} };
const dataDir = mkdtempSync(join(tmpdir(), 'gojinn-db-example-'));
const records: LogRecord[] = [];
let sandbox: Sandbox;
let handler: DbQueryHandler;
let dispatcher: HostCallDispatcher;
let notes: PreparedModule;

before(async () => {
  sandbox = new Sandbox({ pool: { size: 2, hostImportsUrl: HOST_IMPORTS_URL } });
  handler = new DbQueryHandler({ dataDir, limits: { executors: 2 } });
  dispatcher = new HostCallDispatcher({ handlers: [handler], log: (record) => records.push(record) });
  notes = sandbox.prepare(readExample('notes'));
  await handler.warm();
});
after(async () => {
  await sandbox.close();
  await handler.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function invoke(
  module: ModuleIdentity,
  prepared: PreparedModule,
  request: { method?: string; uri?: string; body?: string } | Uint8Array,
  options: { rights?: CapabilityRights; timeoutMs?: number; deadlineMs?: number } = {},
): Promise<InvocationOutcome> {
  const host = dispatcher.forInvocation({
    module,
    rights: options.rights ?? DB_RIGHTS,
    traceId: 'e'.repeat(32),
    deadline: Date.now() + (options.deadlineMs ?? options.timeoutMs ?? 5000),
  });
  return sandbox.invoke(prepared, request, {
    granted: host.granted,
    hostHandler: host.handler,
    limits: { timeoutMs: options.timeoutMs ?? 5000 },
  });
}

function json(outcome: InvocationOutcome): { status: number; body: unknown } {
  assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
  return {
    status: outcome.response?.status ?? 0,
    body: JSON.parse(outcome.response?.body ?? 'null') as unknown,
  };
}

const NOTES_A = moduleIdentity('notes', PUBLISHER_A);
const NOTES_B = moduleIdentity('notes', PUBLISHER_B);

void test('notes: POST creates a note, GET lists them newest first; the outcome is non-deterministic', async () => {
  assert.deepEqual(json(await invoke(NOTES_A, notes, { method: 'POST', body: '{"body":"buy milk"}' })), {
    status: 201,
    body: { id: 1 },
  });
  assert.deepEqual(
    json(await invoke(NOTES_A, notes, { method: 'POST', body: '{"body":"call \\"Ada\\" é"}' })),
    {
      status: 201,
      body: { id: 2 },
    },
  );
  const listed = await invoke(NOTES_A, notes, { method: 'GET' });
  assert.deepEqual(json(listed), {
    status: 200,
    body: {
      notes: [
        { id: 2, body: 'call "Ada" é' },
        { id: 1, body: 'buy milk' },
      ],
    },
  });
  assert.equal(listed.deterministic, false);
  assert.equal(json(await invoke(NOTES_A, notes, { method: 'POST', body: '{}' })).status, 400);
});

void test("notes: another module's database is its own (same name, other publisher sees no notes)", async () => {
  assert.deepEqual(json(await invoke(NOTES_B, notes, { method: 'GET' })), {
    status: 200,
    body: { notes: [] },
  });
  json(await invoke(NOTES_B, notes, { method: 'POST', body: '{"body":"b only"}' }));
  const mine = json(await invoke(NOTES_A, notes, { method: 'GET' })).body as { notes: unknown[] };
  assert.equal(mine.notes.length, 2);
});

void test('notes without db.query granted does not instantiate: capability_denied naming db.query', async () => {
  const outcome = await invoke(NOTES_A, notes, { method: 'GET' }, { rights: {} });
  assert.equal(outcome.ok, false);
  assert.equal(outcome.error?.code, 'capability_denied');
  assert.match(outcome.error?.message ?? '', /gojinn\.db_query needs capability db\.query/);
});

void test('a guest whose statement never ends: -TIMEOUT at the deadline, the guest carries on; then the invocation timeout; other modules and the DB keep working', async () => {
  const driver = sandbox.prepare(await driverGuest(['db_query']));
  const forever = JSON.stringify({
    statements: [
      { sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c' },
    ],
  });
  const calls = [
    { fn: 'db_query', arg: forever, cap: 1024 },
    { fn: 'db_query', arg: '{"statements":[{"sql":"SELECT 7 AS seven"}]}', cap: 1024 },
  ];
  const runner = moduleIdentity('runner', PUBLISHER_A);
  // The capability deadline (400 ms) comes before the sandbox's timeout (5 s): the guest gets -TIMEOUT.
  const outcome = await invoke(runner, driver, encodeScript(['db_query'], calls), {
    deadlineMs: 400,
    timeoutMs: 5000,
  });
  assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
  const results = decodeResults(calls, outcome.response?.body ?? '');
  assert.equal(results[0]?.result, -HOST_ERRNO.TIMEOUT);
  // The second call came after the deadline too: it never runs.
  assert.equal(results[1]?.result, -HOST_ERRNO.TIMEOUT);
  // The sandbox's own timeout ends an invocation whose statement outlives it (the capability
  // deadline is later here, so the invocation's end is what stops the statement).
  const timedOut = await invoke(runner, driver, encodeScript(['db_query'], calls.slice(0, 1)), {
    timeoutMs: 400,
    deadlineMs: 30_000,
  });
  assert.equal(timedOut.ok, false);
  assert.equal(timedOut.error?.code, 'timeout');
  // Afterwards: the runner's database, the notes databases and the pool all answer.
  const again = await invoke(runner, driver, encodeScript(['db_query'], calls.slice(1)));
  assert.equal(
    new TextDecoder().decode(decodeResults(calls.slice(1), again.response?.body ?? '')[0]?.out),
    '{"results":[{"columns":["seven"],"rows":[[7]]}]}',
  );
  assert.equal(
    (json(await invoke(NOTES_A, notes, { method: 'GET' })).body as { notes: unknown[] }).notes.length,
    2,
  );
  assert.ok(handler.stats.deadlineKills >= 1);
});

void test('an escape attempt from a guest is -DENIED and logged as a security event without the SQL', async () => {
  const driver = sandbox.prepare(await driverGuest(['db_query']));
  const attach = JSON.stringify({
    statements: [{ sql: `ATTACH '${handler.databasePath(NOTES_A)}' AS theirs` }],
  });
  const calls = [{ fn: 'db_query', arg: attach, cap: 1024 }];
  const before = records.length;
  const outcome = await invoke(
    moduleIdentity('intruder', PUBLISHER_A),
    driver,
    encodeScript(['db_query'], calls),
  );
  assert.equal(decodeResults(calls, outcome.response?.body ?? '')[0]?.result, -HOST_ERRNO.DENIED);
  const logged = records.slice(before);
  assert.equal(logged.length, 1);
  assert.equal(logged[0]?.type, 'security');
  assert.ok(!JSON.stringify(logged).includes(dataDir));
});
