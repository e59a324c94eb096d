/**
 * prepareDevNode, what `npm start` runs before the daemon: the config it writes is one the
 * parser accepts with the dev key trusted, a rebuilt module (other bytes under the same name)
 * is installed as the next patch version and served, and the config is never rewritten.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, prepareDevNode, startNode } from '../src/index.ts';
import { call } from './gateway-fixtures.ts';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const ANY_PORT = { host: '127.0.0.1', port: 0 };
const ANY_MESH = { listen: ['/ip4/127.0.0.1/tcp/0'] };

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gojinn-node-dev-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

void test('the dev config trusts the dev key, makes the modules public, and is kept across runs', async () => {
  const dataDir = join(root, 'config');
  const modules = [{ name: 'hello', wasmPath: join(EXAMPLES, 'hello/build/hello.wasm') }];
  const dev = await prepareDevNode({
    dataDir,
    modules,
    gateway: ANY_PORT,
    admin: ANY_PORT,
    mesh: ANY_MESH,
    metrics: ANY_PORT,
  });
  const config = await loadConfigFile(dev.configFile, { env: {} });
  assert.deepEqual(config.trust.publishers, [dev.publicKey]);
  assert.deepEqual(config.gateway.publicFunctions, ['hello']);
  assert.equal(config.node.mode, 'development');
  assert.equal(config.node.dataDir, dataDir);
  const edited = `${await readFile(dev.configFile, 'utf8')}# an operator's edit\n`;
  await writeFile(dev.configFile, edited);
  const again = await prepareDevNode({ dataDir, modules });
  assert.equal(again.publicKey, dev.publicKey);
  assert.equal(await readFile(dev.configFile, 'utf8'), edited);
});

void test('other bytes under the same name are installed as the next patch version and served', async () => {
  const dataDir = join(root, 'rebuilt');
  const first = await prepareDevNode({
    dataDir,
    modules: [{ name: 'greet', wasmPath: join(EXAMPLES, 'hello/build/hello.wasm') }],
    gateway: ANY_PORT,
    admin: ANY_PORT,
    mesh: ANY_MESH,
    metrics: ANY_PORT,
  });
  assert.deepEqual(first.installed, ['greet@1.0.0']);
  const second = await prepareDevNode({
    dataDir,
    modules: [{ name: 'greet', wasmPath: join(EXAMPLES, 'fib/build/fib.wasm') }],
  });
  assert.deepEqual(second.installed, ['greet@1.0.1']);
  const node = await startNode(await loadConfigFile(first.configFile, { env: {} }), {
    env: {},
    log: () => undefined,
  });
  try {
    const reply = await call(node.gatewayUrl, '/fn/greet?n=10');
    assert.equal(reply.status, 200, reply.body);
    assert.deepEqual(JSON.parse(reply.body), { n: 10, fib: 55 });
  } finally {
    await node.stop();
  }
});
