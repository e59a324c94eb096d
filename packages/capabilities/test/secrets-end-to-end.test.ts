/**
 * secrets.read end to end: the operator sets a secret with `gojinn secrets set`, the
 * `secret-user` example (and the driver guest) read it through the real Sandbox and worker pool,
 * scopes are enforced on every call — and the value appears in NO output the test can see: log
 * records of every kind and level, counters, invocation outcomes (responses, errors, stderr),
 * CLI output, a crashing process's output, and every byte of the data directory on disk.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HOST_ERRNO } from '@gojinn/abi';
import { Sandbox, type InvocationOutcome, type PreparedModule } from '@gojinn/sandbox';
import { openStore, type Store } from '@gojinn/store';
import { runGojinn, type CliResult } from '../../../test/support/cli.ts';
import { HostCallDispatcher } from '../src/dispatcher.ts';
import type { CapabilityRights, ModuleIdentity } from '../src/handler.ts';
import { HOST_IMPORTS_URL } from '../src/index.ts';
import type { LogRecord } from '../src/observability.ts';
import { MasterKey, SecretStore, SecretsReadHandler, createSecretsCapability } from '../src/secrets/index.ts';
import { decodeResults, driverGuest, encodeScript, type ScriptCall } from './support/driver-guest.ts';
import { PUBLISHER_A, PUBLISHER_B } from './support/harness.ts';

/** A value no output could contain by chance. */
const VALUE = `tok-${randomBytes(12).toString('hex')}-SECRET`;
/** A second secret of the same module, never granted to the guest. */
const OTHER_VALUE = `other-${randomBytes(12).toString('hex')}`;
const LARGE_VALUE = `large-${randomBytes(1500).toString('hex')}`; // > the SDK's first 1 KiB guess

const dataDir = mkdtempSync(join(tmpdir(), 'gojinn-secrets-e2e-'));
const records: LogRecord[] = [];
const counters: string[] = [];
const outcomes: InvocationOutcome[] = [];
const cliRuns: CliResult[] = [];
const crashOutputs: string[] = [];
let store: Store;
let sandbox: Sandbox;
let dispatcher: HostCallDispatcher;
let secretUser: PreparedModule;

const OWNER: ModuleIdentity = { name: 'secret-user', publisher: PUBLISHER_A, hash: 'a'.repeat(64) };

function readExample(name: string): Uint8Array {
  const path = fileURLToPath(new URL(`../../../examples/${name}/build/${name}.wasm`, import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build:guests\` first`);
  return new Uint8Array(readFileSync(path));
}

async function gojinn(args: string[], stdin = ''): Promise<CliResult> {
  const result = await runGojinn(dataDir, args, stdin);
  cliRuns.push(result);
  return result;
}

before(async () => {
  const set = (name: string, value: string) =>
    gojinn(
      ['secrets', 'set', 'secret-user', name, '--value-stdin', '--publisher', PUBLISHER_A, '--data', dataDir],
      `${value}\n`,
    );
  for (const [name, value] of [
    ['API_TOKEN', VALUE],
    ['OTHER', OTHER_VALUE],
    ['LARGE', LARGE_VALUE],
  ] as const) {
    const result = await set(name, value);
    assert.equal(result.code, 0, result.stderr);
  }
  store = await openStore(dataDir);
  const { handler } = createSecretsCapability({ store, dataDir, env: {} });
  sandbox = new Sandbox({ pool: { size: 1, hostImportsUrl: HOST_IMPORTS_URL } });
  dispatcher = new HostCallDispatcher({
    handlers: [handler],
    log: (record) => records.push(record),
    counters: (name, labels) => counters.push(`${name} ${JSON.stringify(labels)}`),
  });
  secretUser = sandbox.prepare(readExample('secret-user'));
});
after(async () => {
  await sandbox.close();
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function invoke(
  module: ModuleIdentity,
  prepared: PreparedModule,
  request: { uri?: string } | Uint8Array,
  rights: CapabilityRights,
): Promise<InvocationOutcome> {
  const host = dispatcher.forInvocation({
    module,
    rights,
    traceId: 'f'.repeat(32),
    deadline: Date.now() + 5000,
  });
  const outcome = await sandbox.invoke(prepared, request, {
    granted: host.granted,
    hostHandler: host.handler,
  });
  outcomes.push(outcome);
  return outcome;
}

const granted = (...names: string[]): CapabilityRights => ({ 'secrets.read': { names } });

function body(outcome: InvocationOutcome): { status: number; body: unknown } {
  assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
  return {
    status: outcome.response?.status ?? 0,
    body: JSON.parse(outcome.response?.body ?? 'null') as unknown,
  };
}

void test('granted and in scope: secret-user reads the value and answers its length and sha-256, not the value', async () => {
  const outcome = await invoke(OWNER, secretUser, { uri: '/?name=API_TOKEN' }, granted('API_TOKEN'));
  assert.deepEqual(body(outcome), {
    status: 200,
    body: {
      name: 'API_TOKEN',
      length: VALUE.length, // the trailing newline from stdin was removed
      sha256: createHash('sha256').update(VALUE).digest('hex'),
    },
  });
  const large = await invoke(OWNER, secretUser, { uri: '/?name=LARGE' }, granted('API_TOKEN', 'LARGE'));
  assert.equal(
    (body(large).body as { sha256: string }).sha256,
    createHash('sha256').update(LARGE_VALUE).digest('hex'),
  );
});

void test('a name outside the granted names is DENIED (403), counted and logged without the name or the value', async () => {
  const before = records.length;
  const outcome = await invoke(OWNER, secretUser, { uri: '/?name=OTHER' }, granted('API_TOKEN'));
  assert.deepEqual(body(outcome), { status: 403, body: { name: 'OTHER', error: HOST_ERRNO.DENIED } });
  const logged = records.slice(before);
  assert.equal(logged.length, 1);
  assert.equal(logged[0]?.type, 'security');
  assert.ok(!JSON.stringify(logged).includes('OTHER'), JSON.stringify(logged));
  assert.ok(counters.some((c) => c.startsWith('host_calls_denied_total') && c.includes('secrets.read')));
});

void test("another module never reads this module's secret: same name granted, but its own (empty) scope of secrets", async () => {
  const impostors: ModuleIdentity[] = [
    { name: 'secret-user', publisher: PUBLISHER_B, hash: 'a'.repeat(64) }, // same name, other publisher
    { name: 'secret-user2', publisher: PUBLISHER_A, hash: 'a'.repeat(64) }, // same publisher, other name
  ];
  for (const module of impostors) {
    const outcome = await invoke(module, secretUser, { uri: '/?name=API_TOKEN' }, granted('API_TOKEN'));
    assert.deepEqual(body(outcome), {
      status: 404,
      body: { name: 'API_TOKEN', error: HOST_ERRNO.NOT_FOUND },
    });
  }
});

void test('secrets.read not granted: the module does not instantiate (capability_denied naming secrets.read)', async () => {
  const outcome = await invoke(OWNER, secretUser, { uri: '/' }, {});
  assert.equal(outcome.error?.code, 'capability_denied');
  assert.match(outcome.error?.message ?? '', /gojinn\.secret_get needs capability secrets\.read/);
});

void test('raw calls: malformed names are INVALID, a small buffer gets TOO_SMALL and result_take returns the value', async () => {
  const driver = sandbox.prepare(await driverGuest(['secret_get', 'result_take']));
  const calls: ScriptCall[] = [
    { fn: 'secret_get', arg: 'API_TOKEN', cap: 4 },
    { fn: 'result_take', cap: 4096 },
    { fn: 'secret_get', arg: '', cap: 64 },
    { fn: 'secret_get', arg: 'a/b', cap: 64 },
    { fn: 'secret_get', arg: new Uint8Array([0xff, 0xfe]), cap: 64 },
    { fn: 'secret_get', arg: 'x'.repeat(129), cap: 64 },
  ];
  const outcome = await invoke(
    OWNER,
    driver,
    encodeScript(['secret_get', 'result_take'], calls),
    granted('API_TOKEN'),
  );
  assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
  const results = decodeResults(calls, outcome.response?.body ?? '');
  assert.equal(results[0]?.result, -HOST_ERRNO.TOO_SMALL);
  assert.equal(new TextDecoder().decode(results[1]?.out), VALUE);
  for (const result of results.slice(2)) assert.equal(result.result, -HOST_ERRNO.INVALID);
  // This outcome's response is the guest's own choice to echo the value: not a node output.
  outcomes.pop();
});

void test('a node whose master key does not open the secrets: UNAVAILABLE, a host_error logged without the value', async () => {
  const wrongKey = new SecretStore(
    store.extension('secrets'),
    async () => new MasterKey(new Uint8Array(32).fill(3), 'env'),
  );
  const wrongDispatcher = new HostCallDispatcher({
    handlers: [new SecretsReadHandler(wrongKey)],
    log: (record) => records.push(record),
  });
  const host = wrongDispatcher.forInvocation({
    module: OWNER,
    rights: granted('API_TOKEN'),
    traceId: '1'.repeat(32),
    deadline: Date.now() + 5000,
  });
  const before = records.length;
  const outcome = await sandbox.invoke(
    secretUser,
    { uri: '/' },
    { granted: host.granted, hostHandler: host.handler },
  );
  outcomes.push(outcome);
  assert.deepEqual(body(outcome), {
    status: 500,
    body: { name: 'API_TOKEN', error: HOST_ERRNO.UNAVAILABLE },
  });
  const logged = records.slice(before);
  assert.equal(logged[0]?.type, 'host_error');
  assert.match(JSON.stringify(logged[0]), /sealed under master key/);
});

void test('a process that crashes while handling a secret prints no value', () => {
  // A stand-in node that reads the secret, then dies on an uncaught error carrying the record
  // it failed on (the worst case a careless handler could produce).
  const script = `
    import { openStore } from '@gojinn/store';
    import { SecretStore, MasterKey, loadMasterKey } from '@gojinn/capabilities';
    const store = await openStore(${JSON.stringify(join(dataDir, 'crash-copy'))});
    const key = await loadMasterKey({ dataDir: ${JSON.stringify(dataDir)}, env: {} });
    const secrets = new SecretStore(store.extension('secrets'), async () => key);
    const owner = { name: 'secret-user', publisher: ${JSON.stringify(PUBLISHER_A)} };
    await secrets.set(owner, 'API_TOKEN', new TextEncoder().encode(${JSON.stringify(VALUE)}));
    const wrong = new SecretStore(store.extension('secrets'), async () => new MasterKey(new Uint8Array(32), 'env'));
    await wrong.get(owner, 'API_TOKEN'); // throws: the uncaught error and its stack go to stderr
  `;
  const crashed = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    encoding: 'utf8',
    env: {},
  });
  assert.notEqual(crashed.status, 0);
  assert.match(crashed.stderr, /sealed under master key/);
  crashOutputs.push(crashed.stdout, crashed.stderr);
  // The script source holds the value (it sets it); the crash output must not echo it.
  assert.ok(!crashed.stderr.includes(VALUE));
});

void test('the CLI lists names only, removes, and never prints a value — even one typed as an extra argument', async () => {
  // The store has one owner: the stand-in node stops before the operator's commands run.
  await store.close();
  const listed = await gojinn(['secrets', 'list', 'secret-user', '--data', dataDir, '--json']);
  assert.equal(listed.code, 0);
  assert.deepEqual(
    (JSON.parse(listed.stdout) as { secrets: { name: string }[] }).secrets.map((s) => s.name).sort(),
    ['API_TOKEN', 'LARGE', 'OTHER'],
  );
  const table = await gojinn(['secrets', 'list', '--data', dataDir]);
  assert.match(table.stdout, /secret-user\s+API_TOKEN/);
  const misplaced = await gojinn(['secrets', 'set', 'secret-user', 'API_TOKEN', VALUE, '--data', dataDir]);
  assert.equal(misplaced.code, 2);
  const viaFlag = await gojinn([
    'secrets',
    'set',
    'secret-user',
    'FLAG',
    '--value',
    VALUE,
    '--publisher',
    PUBLISHER_A,
    '--data',
    dataDir,
    '--json',
  ]);
  assert.equal(viaFlag.code, 0);
  assert.match(viaFlag.stderr, /prefer --value-stdin/);
  const removed = await gojinn([
    'secrets',
    'rm',
    'secret-user',
    'FLAG',
    '--publisher',
    PUBLISHER_A,
    '--data',
    dataDir,
  ]);
  assert.equal(removed.code, 0, removed.stderr);
  const again = await gojinn([
    'secrets',
    'rm',
    'secret-user',
    'FLAG',
    '--publisher',
    PUBLISHER_A,
    '--data',
    dataDir,
  ]);
  assert.equal(again.code, 1);
});

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

void test('the values appear in no output: logs, counters, outcomes, CLI output, crash output, bytes on disk', () => {
  const forms = (value: string): string[] => [
    value,
    value.slice(4, 20), // a fragment
    Buffer.from(value).toString('hex'),
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
  ];
  const needles = [...forms(VALUE), ...forms(OTHER_VALUE), ...forms(LARGE_VALUE)];
  const texts: [string, string][] = [
    ...records.map((r, i): [string, string] => [`log record ${i} (${r.type})`, JSON.stringify(r)]),
    ...counters.map((c, i): [string, string] => [`counter ${i}`, c]),
    ...outcomes.map((o, i): [string, string] => [
      `outcome ${i}`,
      `${JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))} ${new TextDecoder().decode(o.stderr)}`,
    ]),
    ...cliRuns.map((r, i): [string, string] => [`cli run ${i}`, `${r.stdout}\n${r.stderr}`]),
    ...crashOutputs.map((text, i): [string, string] => [`crash output ${i}`, text]),
  ];
  assert.ok(records.length >= 2 && outcomes.length >= 6 && cliRuns.length >= 8, 'the outputs were collected');
  for (const [where, text] of texts) {
    for (const needle of needles)
      assert.ok(!text.includes(needle), `a secret value (or form of it) in ${where}`);
  }
  const files = filesUnder(dataDir);
  assert.ok(
    files.some((f) => f.endsWith('.log') || f.endsWith('.ldb')),
    'LevelDB files were scanned',
  );
  for (const file of files) {
    if (!statSync(file).isFile()) continue;
    const bytes = readFileSync(file);
    for (const needle of needles) assert.equal(bytes.includes(needle), false, `a secret value in ${file}`);
  }
});
