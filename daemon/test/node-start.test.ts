/**
 * The composed node, in process: a dev data directory (init, publisher key, signed modules), a
 * start from its config file, calls through the gateway and the admin API, a clean stop, and a
 * restart that keeps modules, KV data and the node identity. Failed starts name what failed and
 * leave nothing open.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, prepareDevNode, readAdminToken, startNode, type RunningNode } from '../src/index.ts';
import { call, errorCode } from './gateway-fixtures.ts';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const MODULES = [
  { name: 'hello', wasmPath: join(EXAMPLES, 'hello/build/hello.wasm') },
  {
    name: 'kv-counter',
    wasmPath: join(EXAMPLES, 'kv-counter/build/kv-counter.wasm'),
    capabilities: { 'kv.read': { prefixes: ['counter/'] }, 'kv.write': { prefixes: ['counter/'] } },
  },
];
const ANY_PORT = { host: '127.0.0.1', port: 0 };
const ANY_MESH = { listen: ['/ip4/127.0.0.1/tcp/0'] };

let root: string;
let dataDir: string;
const running: RunningNode[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gojinn-node-'));
  dataDir = join(root, 'node');
});

after(async () => {
  for (const node of running) await node.stop().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

async function start(dir = dataDir): Promise<RunningNode> {
  const config = await loadConfigFile(join(dir, 'config.toml'), { env: {} });
  const node = await startNode(config, { env: {}, log: () => undefined, drainMs: 2000 });
  running.push(node);
  return node;
}

function json(body: string): Record<string, unknown> {
  return JSON.parse(body) as Record<string, unknown>;
}

void test('a dev node starts, serves hello and kv-counter, answers the admin API, and stops', async () => {
  const dev = await prepareDevNode({
    dataDir,
    modules: MODULES,
    gateway: ANY_PORT,
    admin: ANY_PORT,
    mesh: ANY_MESH,
    metrics: ANY_PORT,
  });
  assert.equal(dev.created, true);
  assert.deepEqual(dev.installed, ['hello@1.0.0', 'kv-counter@1.0.0']);
  const node = await start();
  assert.match(node.peerId, /^12D3KooW/);

  const hello = await call(node.gatewayUrl, '/fn/hello?name=Ada');
  assert.equal(hello.status, 200, hello.body);
  assert.equal(json(hello.body).hello, 'Ada');

  const first = await call(node.gatewayUrl, '/fn/kv-counter?key=home');
  assert.equal(first.status, 200, first.body);
  assert.deepEqual(json(first.body), { key: 'home', count: 1 });
  assert.deepEqual(json((await call(node.gatewayUrl, '/fn/kv-counter?key=home')).body), {
    key: 'home',
    count: 2,
  });

  const token = await readAdminToken(dataDir);
  const status = await call(node.adminUrl, '/v1/status', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(status.status, 200, status.body);
  assert.equal(json(status.body).peerId, node.peerId);
  const refused = await call(node.adminUrl, '/v1/status', {
    headers: { authorization: `Bearer ${'0'.repeat(64)}` },
  });
  assert.equal(refused.status, 401);

  await node.stop();
  await node.stop(); // idempotent
  await assert.rejects(call(node.gatewayUrl, '/fn/hello'), { code: 'ECONNREFUSED' });
  await assert.rejects(call(node.adminUrl, '/v1/status'), { code: 'ECONNREFUSED' });
});

void test('a restart keeps the modules, the KV data and the identity; preparing again installs nothing', async () => {
  const before = await readFile(join(dataDir, 'node.key'));
  const again = await prepareDevNode({
    dataDir,
    modules: MODULES,
    gateway: ANY_PORT,
    admin: ANY_PORT,
    mesh: ANY_MESH,
    metrics: ANY_PORT,
  });
  assert.equal(again.created, false);
  assert.deepEqual(again.installed, []);
  const node = await start();
  const reply = await call(node.gatewayUrl, '/fn/kv-counter?key=home');
  assert.deepEqual(json(reply.body), { key: 'home', count: 3 });
  assert.equal((await call(node.gatewayUrl, '/fn/hello')).status, 200);
  assert.deepEqual(await readFile(join(dataDir, 'node.key')), before);
  const token = await readAdminToken(dataDir);
  const status = json(
    (await call(node.adminUrl, '/v1/status', { headers: { authorization: `Bearer ${token}` } })).body,
  );
  assert.equal(status.peerId, node.peerId);
  // The audit log saw the first run start and stop, this run start, and the admin calls.
  assert.ok(typeof status.auditEntries === 'number' && status.auditEntries >= 4, String(status.auditEntries));
  // Nothing pruned under the default retention: every entry appended is kept, from entry 0.
  assert.equal(status.auditKept, status.auditEntries);
  assert.equal(status.auditFirstSeq, 0);
  await node.stop();
});

void test('without a [[grants]] rule a declared kv capability is denied (403 capability_denied), and the node keeps serving', async () => {
  const dir = join(root, 'ungranted');
  await prepareDevNode({
    dataDir: dir,
    modules: MODULES,
    gateway: ANY_PORT,
    admin: ANY_PORT,
    mesh: ANY_MESH,
    metrics: ANY_PORT,
    grants: [],
  });
  const node = await start(dir);
  const reply = await call(node.gatewayUrl, '/fn/kv-counter?key=home');
  assert.equal(reply.status, 403, reply.body);
  assert.equal(errorCode(reply), 'capability_denied');
  assert.equal((await call(node.gatewayUrl, '/fn/hello')).status, 200);
  await node.stop();
});

void test('a second node on the same data directory fails naming the store, and the first keeps serving', async () => {
  const node = await start();
  await assert.rejects(start(), (error: Error) => {
    assert.match(error.message, /starting the node: opening the store in .* failed/);
    return true;
  });
  assert.equal((await call(node.gatewayUrl, '/fn/hello')).status, 200);
  await node.stop();
});

void test('a gateway port in use fails the start naming the address, and leaves the store unlocked', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const dir = join(root, 'busy');
    await prepareDevNode({
      dataDir: dir,
      modules: MODULES,
      gateway: { host: '127.0.0.1', port },
      admin: ANY_PORT,
      mesh: ANY_MESH,
      metrics: ANY_PORT,
    });
    await assert.rejects(start(dir), (error: Error) => {
      assert.match(error.message, new RegExp(`binding the gateway to 127\\.0\\.0\\.1:${port} failed`));
      return true;
    });
    // The failed start closed the store: preparing (which opens it) works.
    const again = await prepareDevNode({ dataDir: dir, modules: MODULES });
    assert.deepEqual(again.installed, []);
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

void test('a data directory without init fails naming the admin token', async () => {
  const dir = join(root, 'bare');
  const { defaultConfig } = await import('../src/index.ts');
  await assert.rejects(startNode(defaultConfig(dir), { log: () => undefined }), (error: Error) => {
    assert.match(error.message, /starting the node: reading the admin token in .* failed: .*admin\.token/);
    return true;
  });
});
