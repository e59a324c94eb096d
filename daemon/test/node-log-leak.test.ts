/**
 * Logs never expose secrets (SECURITY_MODEL.md, "Logs and traces … never expose secrets by
 * default"; issue 6: "a secret and the admin token never appear in any log line at any level").
 *
 * A real `gojinn daemon` process, its log level at trace (GOJINN_LOG_LEVEL), its master key in
 * GOJINN_MASTER_KEY; everything it writes on stdout and stderr is captured. A guest
 * (secret-logger.wat) reads its secret and writes the value to the node log at every level and
 * to its stderr; the admin API is called with the token, with wrong tokens, with the token in
 * places it does not belong; the gateway is handed the admin token as an API key and in a query.
 * None of the secret value, the admin token, the master key or the API key the admin API made
 * may appear in any captured line — raw, or JSON-escaped once or twice. The guest's lines must
 * be there (scrubbed), so the test cannot pass because nothing was logged. A second run under
 * another master key makes the secrets capability fail inside the node (host_error): that line
 * must carry no part of either master key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MASTER_KEY_ENV, createSecretsCapability } from '@gojinn/capabilities';
import { openStore } from '@gojinn/store';
import { assembleWat } from '../../test/support/wat.ts';
import { prepareDevNode, readAdminToken } from '../src/index.ts';
import { METRICS_TOKEN_FILE } from '../src/observability/index.ts';
import { call } from './gateway-fixtures.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'packages/cli/src/main.ts');
const GUEST_WAT = new URL('./secret-logger.wat', import.meta.url).pathname;
const HELLO_WASM = join(ROOT, 'examples/hello/build/hello.wasm');
/** How long the daemon may take to print its addresses, and to exit after SIGTERM. */
const START_WAIT_MS = 20_000;
const STOP_WAIT_MS = 10_000;
const SECRET_NAME = 'API_TOKEN';
/** Quotes and a backslash: its JSON-escaped form differs from the raw one, and both must go. */
const SECRET_VALUE = `leak-"quoted"\\slash-${randomBytes(6).toString('hex')}`;
const MASTER_KEY = randomBytes(32).toString('hex');
/** Hex characters of a master key that must not appear together anywhere in the output. */
const KEY_WINDOW = 12;

let root: string;
let dataDir: string;
let daemon: ChildProcess | undefined;
let output = '';

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gojinn-log-leak-'));
  dataDir = join(root, 'node');
  const guestPath = join(root, 'secret-logger.wasm');
  await writeFile(guestPath, await assembleWat(GUEST_WAT));
  const dev = await prepareDevNode({
    dataDir,
    modules: [
      { name: 'hello', wasmPath: HELLO_WASM },
      {
        name: 'secret-logger',
        wasmPath: guestPath,
        capabilities: { 'secrets.read': { names: [SECRET_NAME] } },
      },
    ],
    gateway: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    mesh: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  });
  // Scrapes need the metrics token: it must stay out of the logs like the admin token.
  const configPath = join(dataDir, 'config.toml');
  const configText = await readFile(configPath, 'utf8');
  assert.match(configText, /^\[metrics\]$/m);
  await writeFile(configPath, configText.replace(/^\[metrics\]$/m, '[metrics]\nrequireToken = true'));
  // As `gojinn secrets set` does, while no node holds the store; sealed under the env key.
  const store = await openStore(dataDir);
  try {
    const { secrets } = createSecretsCapability({ store, dataDir, env: { [MASTER_KEY_ENV]: MASTER_KEY } });
    await secrets.set(
      { name: 'secret-logger', publisher: dev.publicKey },
      SECRET_NAME,
      new TextEncoder().encode(SECRET_VALUE),
    );
  } finally {
    await store.close();
  }
});

after(async () => {
  if (daemon !== undefined && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

/** The child's environment: ours without any GOJINN_* or test-runner variable, plus `extra`. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('GOJINN_') && !key.startsWith('NODE_TEST')) env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * Starts `gojinn daemon` (its output captured in `output`, from empty) and resolves with its
 * gateway and admin URLs once it printed them.
 */
async function startDaemon(
  masterKey = MASTER_KEY,
): Promise<{ gatewayUrl: string; adminUrl: string; metricsUrl: string }> {
  output = '';
  const child = spawn(process.execPath, [CLI, 'daemon', '--data', dataDir], {
    cwd: root,
    env: childEnv({ GOJINN_LOG_LEVEL: 'trace', [MASTER_KEY_ENV]: masterKey }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  daemon = child;
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('exit', early);
      reject(new Error(`gojinn daemon printed no addresses within ${START_WAIT_MS} ms:\n${output}`));
    }, START_WAIT_MS);
    const early = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`gojinn daemon exited ${String(code)} before it was ready:\n${output}`));
    };
    child.once('exit', early);
    const check = (): void => {
      const gateway = /^gateway\s+(http:\/\/\S+)/m.exec(output)?.[1];
      const admin = /^admin\s+(http:\/\/\S+)/m.exec(output)?.[1];
      const metrics = /^metrics\s+(http:\/\/\S+)/m.exec(output)?.[1];
      if (gateway === undefined || admin === undefined || metrics === undefined) return;
      clearTimeout(timer);
      child.off('exit', early);
      child.stdout.off('data', check);
      resolve({ gatewayUrl: gateway, adminUrl: admin, metricsUrl: metrics });
    };
    child.stdout.on('data', check);
  });
}

/** SIGTERM, then waits (bounded) for the daemon to exit; resolves with its exit code. */
async function stopDaemon(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`gojinn daemon did not exit ${STOP_WAIT_MS} ms after SIGTERM`)),
      STOP_WAIT_MS,
    );
  });
  try {
    return await Promise.race([exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The forms a value takes in a JSON line: raw, escaped once, escaped twice (JSON inside JSON). */
function formsOf(value: string): string[] {
  const once = JSON.stringify(value).slice(1, -1);
  const twice = JSON.stringify(once).slice(1, -1);
  return [...new Set([value, once, twice])];
}

void test('at trace level, no secret value, admin token, master key or API key reaches any log line', async () => {
  const { gatewayUrl, adminUrl, metricsUrl } = await startDaemon();
  const token = await readAdminToken(dataDir);
  const metricsToken = (await readFile(join(dataDir, METRICS_TOKEN_FILE), 'utf8')).trim();
  const bearer = (value: string) => ({ headers: { authorization: `Bearer ${value}` } });

  // The guest reads its secret and logs it (and writes it to stderr); the call still succeeds.
  for (let i = 0; i < 2; i++) {
    const reply = await call(gatewayUrl, '/fn/secret-logger');
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.body, 'ok');
  }
  // The admin token where it does not belong: as a gateway API key, in a query string.
  assert.equal((await call(gatewayUrl, '/fn/not-public', bearer(token))).status, 401);
  assert.equal((await call(gatewayUrl, `/fn/hello?token=${token}`, bearer(token))).status, 200);

  // The admin API: right token, wrong tokens, the token in the body of a refused request.
  assert.equal((await call(adminUrl, '/v1/status', bearer(token))).status, 200);
  assert.equal((await call(adminUrl, '/v1/secrets', bearer(token))).status, 200);
  const created = await call(adminUrl, '/v1/api-keys', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'ci', functions: ['hello'] }),
  });
  assert.equal(created.status, 201, created.body);
  const apiKey = (JSON.parse(created.body) as { key: string }).key;
  assert.equal((await call(gatewayUrl, '/fn/hello', bearer(apiKey))).status, 200);
  const nearlyToken = `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`;
  assert.equal((await call(adminUrl, '/v1/status', bearer(nearlyToken))).status, 401);
  assert.equal((await call(adminUrl, '/v1/status', bearer('0'.repeat(64)))).status, 401);
  assert.equal((await call(adminUrl, `/v1/status?token=${token}`)).status, 401);
  const refused = await call(adminUrl, '/v1/api-keys', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: `${token} ${SECRET_VALUE}`, functions: ['hello'], key: token }),
  });
  assert.equal(refused.status, 400, refused.body);

  // The metrics token: a scrape with it, one without, and the token where it does not belong.
  assert.equal((await call(metricsUrl, '', bearer(metricsToken))).status, 200);
  assert.equal((await call(metricsUrl, '', bearer(token))).status, 401);
  assert.equal((await call(gatewayUrl, '/fn/not-public', bearer(metricsToken))).status, 401);
  assert.equal((await call(adminUrl, '/v1/status', bearer(metricsToken))).status, 401);

  const code = await stopDaemon(daemon as ChildProcess);
  assert.equal(code, 0, output);

  const lines = output.split('\n').filter((line) => line !== '');
  const forbidden: Record<string, string> = {
    'the metrics token': metricsToken,
    'the secret value': SECRET_VALUE,
    'the admin token': token,
    'the master key': MASTER_KEY,
    'the API key': apiKey,
  };
  for (const [what, value] of Object.entries(forbidden)) {
    for (const form of formsOf(value)) {
      const leaking = lines.filter((line) => line.includes(form));
      assert.deepEqual(leaking, [], `${what} appears in ${leaking.length} captured line(s)`);
    }
  }
  // The guest's log lines reached the node log, scrubbed: the test is not vacuous.
  const guestLines = lines.filter((line) => line.includes('secret-logger') && line.includes('leaked: '));
  assert.ok(guestLines.length > 0, `no guest log line captured:\n${output}`);
  assert.ok(
    guestLines.every((line) => line.includes('leaked: [redacted]')),
    guestLines.join('\n'),
  );
});

void test('a host error while reading the secret (another master key) is logged without key material', async () => {
  // The sealed record fails authentication under another key: an internal failure of the
  // secrets capability, logged as host_error while the guest gets an errno (and answers 404).
  const otherKey = randomBytes(32).toString('hex');
  const { gatewayUrl } = await startDaemon(otherKey);
  const reply = await call(gatewayUrl, '/fn/secret-logger');
  assert.equal(reply.status, 404, reply.body);
  assert.equal(await stopDaemon(daemon as ChildProcess), 0, output);

  const lines = output.split('\n').filter((line) => line !== '');
  const hostErrors = lines.filter((line) => line.includes('"event":"host_error"'));
  assert.ok(hostErrors.length > 0, `no host_error line captured:\n${output}`);
  assert.match(hostErrors[0] ?? '', /secret-logger/);
  for (const [what, value] of Object.entries({
    'the master key in use': otherKey,
    'the master key that sealed the secret': MASTER_KEY,
    'the secret value': SECRET_VALUE,
  })) {
    for (const form of formsOf(value)) {
      const leaking = lines.filter((line) => line.includes(form));
      assert.deepEqual(leaking, [], `${what} appears in ${leaking.length} captured line(s)`);
    }
  }
  // The message names the keys by id (a domain-separated hash), never by any part of the key.
  for (const key of [otherKey, MASTER_KEY]) {
    for (let at = 0; at + KEY_WINDOW <= key.length; at++) {
      assert.ok(
        !output.includes(key.slice(at, at + KEY_WINDOW)),
        `a part of a master key at ${at} is logged`,
      );
    }
  }
});
