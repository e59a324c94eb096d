/**
 * The http-proxy example (AssemblyScript, built by `npm run build:guests`) end to end: manifest
 * declaration, node grants, effective rights, the real pool, HttpCapability, loopback servers.
 * 127.0.0.2 plays the public upstream (the node allows exactly that address); 127.0.0.1 is the
 * internal service nobody may reach.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { GojinnError } from '@gojinn/errors';
import { checkImports, readModuleImports } from '@gojinn/manifest';
import type { InvocationOutcome, PreparedModule } from '@gojinn/sandbox';
import { effectiveRights, grantedTo, parseGrants } from '../src/grants.ts';
import type { CapabilityRights } from '../src/handler.ts';
import { httpCapability } from '../src/http/http-handler.ts';
import { Harness, PUBLISHER_A, moduleIdentity } from './support/harness.ts';
import { startServer, type TestServer } from './http-helpers.ts';

const WASM = fileURLToPath(new URL('../../../examples/http-proxy/build/http-proxy.wasm', import.meta.url));

let h: Harness;
let proxy: PreparedModule;
let bytes: Uint8Array;
let upstream: TestServer;
let internal: TestServer;

before(async () => {
  if (!existsSync(WASM)) throw new Error(`${WASM} is missing: run \`npm run build:guests\` first`);
  bytes = new Uint8Array(readFileSync(WASM));
  internal = await startServer((_req, res) => res.end('internal admin'), '127.0.0.1');
  upstream = await startServer((req, res) => {
    if (req.url === '/big') res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(100_000));
    else if (req.url === '/hang') res.flushHeaders();
    else if (req.url === '/down') res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance');
    else if (req.url === '/to-internal') res.writeHead(302, { location: `${internal.origin}/admin` }).end();
    else
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ path: req.url, accept: req.headers.accept ?? null }));
  }, '127.0.0.2');
  h = new Harness({
    handlers: [httpCapability({ allowedRanges: ['127.0.0.2/32'], limits: { timeoutMs: 300 } })],
  });
  proxy = h.sandbox.prepare(bytes);
});

after(async () => {
  await h.close();
  await upstream.close();
  await internal.close();
});

function declared(): CapabilityRights {
  return { 'net.http': { hosts: [upstream.origin] } };
}

async function visit(
  uri: string,
  rights: CapabilityRights,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<InvocationOutcome> {
  const request = new TextEncoder().encode(
    JSON.stringify({
      method,
      uri,
      headers: { 'x-upstream': upstream.origin, ...headers },
      body: '',
      trace_id: 'b'.repeat(32),
    }),
  );
  const { outcome } = await h.invoke(proxy, request, rights, { module: moduleIdentity('http-proxy') });
  return outcome;
}

void test('granted and in scope: the proxy forwards the GET and answers with the upstream’s response', async () => {
  const grants = parseGrants(
    {
      rules: [
        {
          module: 'http-proxy',
          publisher: PUBLISHER_A,
          capabilities: { 'net.http': { hosts: [upstream.origin] } },
        },
      ],
    },
    { strict: true },
  );
  const rights = effectiveRights({
    declared: declared(),
    granted: grantedTo(grants, { name: 'http-proxy', publisher: PUBLISHER_A }),
    allowDebug: false,
  });
  assert.deepEqual(rights, declared());
  const outcome = await visit('/items?page=2', rights, {
    accept: 'application/json',
    cookie: 'sid=1',
    authorization: 'Bearer t',
  });
  assert.ok(outcome.ok, JSON.stringify(outcome.error));
  assert.equal(outcome.deterministic, false, 'a run that used the network says so');
  assert.equal(outcome.response?.status, 200);
  assert.equal(outcome.response?.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(outcome.response?.body ?? ''), {
    path: '/items?page=2',
    accept: 'application/json',
  });
  const received = upstream.requests.at(-1);
  assert.equal(received?.headers.cookie, undefined, 'the caller’s cookie is not forwarded');
  assert.equal(received?.headers.authorization, undefined, 'nor its credentials');
});

void test('upstream statuses pass through; a response beyond the first buffer arrives whole through result_take', async () => {
  const down = await visit('/down', declared());
  assert.equal(down.response?.status, 503);
  assert.equal(down.response?.body, 'maintenance');
  const big = await visit('/big', declared());
  assert.equal(big.response?.status, 200);
  assert.equal(big.response?.body.length, 100_000);
});

void test('out of scope: another origin, the internal service and a redirect into it are 403, logged without the URL', async () => {
  const before = h.records.length;
  const elsewhere = await visit('/', declared(), { 'x-upstream': 'http://127.0.0.3:8080' });
  assert.equal(elsewhere.response?.status, 403);
  assert.deepEqual(JSON.parse(elsewhere.response?.body ?? ''), {
    error: 'upstream not allowed for this function',
    errno: 1,
  });
  // Even allow-listed, 127.0.0.1 is loopback: refused by the address rules, before any connection.
  const rights: CapabilityRights = { 'net.http': { hosts: [internal.origin, upstream.origin] } };
  assert.equal((await visit('/admin', rights, { 'x-upstream': internal.origin })).response?.status, 403);
  assert.equal((await visit('/to-internal', rights)).response?.status, 403);
  assert.equal(internal.requests.length, 0, 'the internal service never saw a request');
  const security = h.records.slice(before).filter((record) => record.type === 'security');
  assert.equal(security.length, 3);
  assert.doesNotMatch(JSON.stringify(security), /127\.0\.0\.[13]|8080|admin|to-internal/);
});

void test('an upstream that does not answer in time is 504; one that refuses connections is 502; POST is 405', async () => {
  assert.equal((await visit('/hang', declared())).response?.status, 504);
  const closedPort = await startServer((_req, res) => res.end(), '127.0.0.2');
  const origin = closedPort.origin;
  await closedPort.close();
  const refused = await visit('/', { 'net.http': { hosts: [origin] } }, { 'x-upstream': origin });
  assert.equal(refused.response?.status, 502);
  assert.equal(JSON.parse(refused.response?.body ?? '').errno, 11);
  assert.equal((await visit('/', declared(), {}, 'POST')).response?.status, 405);
});

void test('declared but not granted: without a net.http grant the proxy does not instantiate', async () => {
  const grants = parseGrants({ rules: [{ module: 'http-proxy', capabilities: {} }] }, { strict: false });
  const rights = effectiveRights({
    declared: declared(),
    granted: grantedTo(grants, { name: 'http-proxy', publisher: PUBLISHER_A }),
    allowDebug: false,
  });
  const outcome = await visit('/', rights);
  assert.equal(outcome.error?.code, 'capability_denied');
  assert.match(outcome.error?.message ?? '', /gojinn\.http_request needs capability net\.http/);
});

void test('not declared: the manifest check refuses the proxy’s imports unless net.http is declared', () => {
  const imports = readModuleImports(bytes);
  assert.deepEqual(checkImports(imports, declared()), ['net.http']);
  assert.throws(
    () => checkImports(imports, {}),
    (error: unknown) =>
      error instanceof GojinnError &&
      error.code === 'capability_denied' &&
      /gojinn\.http_request needs capability net\.http, which the manifest does not declare/.test(
        error.message,
      ),
  );
});
