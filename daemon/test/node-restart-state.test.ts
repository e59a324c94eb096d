/**
 * Restart keeps state (issue 6): a real node gets state through its public surfaces — a per-peer
 * policy and an API key through the admin API, a module published through the admin API, KV
 * written by kv-counter through the gateway, a secret set while the node is stopped (through
 * the SecretStore, and again with `gojinn secrets set`) — is stopped, and is started again from
 * the same data directory. Every piece must still be there and still work: the same peer id,
 * the module still served (and still behind its API key), the counter continuing, the policy
 * and the key listed, the secret still readable by secret-user.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecretsCapability } from '@gojinn/capabilities';
import { encodeManifest, moduleDigest, readPrivateKeyFile, signManifest } from '@gojinn/manifest';
import { openStore } from '@gojinn/store';
import {
  createNodeLogger,
  loadConfigFile,
  prepareDevNode,
  readAdminToken,
  startNode,
  type RunningNode,
} from '../src/index.ts';
import { PEER_A } from './admin-harness.ts';
import { call } from './gateway-fixtures.ts';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const CLI = new URL('../../packages/cli/src/main.ts', import.meta.url).pathname;
/** How long one CLI command may run. */
const CLI_WAIT_MS = 20_000;
const HELLO_WASM = join(EXAMPLES, 'hello/build/hello.wasm');
const SECRET_NAME = 'API_TOKEN';
const SECRET_VALUE = 'restart-secret-3f9c1a7e';
const MODULES = [
  { name: 'hello', wasmPath: HELLO_WASM },
  {
    name: 'kv-counter',
    wasmPath: join(EXAMPLES, 'kv-counter/build/kv-counter.wasm'),
    capabilities: { 'kv.read': { prefixes: ['counter/'] }, 'kv.write': { prefixes: ['counter/'] } },
  },
  {
    name: 'secret-user',
    wasmPath: join(EXAMPLES, 'secret-user/build/secret-user.wasm'),
    capabilities: { 'secrets.read': { names: [SECRET_NAME] } },
  },
];
/** The module published through the admin API: not public, so only an API key reaches it. */
const PRIVATE_MODULE = 'greeter';
const ANY_PORT = { host: '127.0.0.1', port: 0 };
const ANY_MESH = { listen: ['/ip4/127.0.0.1/tcp/0'] };

let root: string;
let dataDir: string;
let publicKey: string;
const running: RunningNode[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gojinn-restart-'));
  dataDir = join(root, 'node');
  const dev = await prepareDevNode({
    dataDir,
    modules: MODULES,
    gateway: ANY_PORT,
    admin: ANY_PORT,
    mesh: ANY_MESH,
    metrics: ANY_PORT,
  });
  publicKey = dev.publicKey;
});

after(async () => {
  for (const node of running) await node.stop().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

async function start(): Promise<RunningNode> {
  const config = await loadConfigFile(join(dataDir, 'config.toml'), { env: {} });
  const node = await startNode(config, {
    env: {},
    logger: createNodeLogger({ level: 'silent', secrets: () => [] }),
    drainMs: 2000,
  });
  running.push(node);
  return node;
}

/** What `gojinn secrets set` does: the store opened while no node holds it, the value sealed. */
async function setSecretWhileStopped(value: string): Promise<void> {
  const store = await openStore(dataDir);
  try {
    const { secrets } = createSecretsCapability({ store, dataDir, env: {} });
    await secrets.set(
      { name: 'secret-user', publisher: publicKey },
      SECRET_NAME,
      new TextEncoder().encode(value),
    );
  } finally {
    await store.close();
  }
}

async function admin(
  node: RunningNode,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const token = await readAdminToken(dataDir);
  const reply = await call(node.adminUrl, path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: reply.status, body: JSON.parse(reply.body) as Record<string, unknown>, text: reply.body };
}

function json(body: string): Record<string, unknown> {
  return JSON.parse(body) as Record<string, unknown>;
}

/** hello.wasm signed by the dev publisher as PRIVATE_MODULE, as `gojinn sign` would. */
async function signedGreeter(): Promise<{ module: string; manifest: string }> {
  const bytes = new Uint8Array(await readFile(HELLO_WASM));
  const key = await readPrivateKeyFile(join(dataDir, 'dev-publisher.key'));
  const manifest = signManifest(
    {
      name: PRIVATE_MODULE,
      version: '2.0.0',
      ...moduleDigest(bytes),
      capabilities: {},
      created: new Date().toISOString(),
    },
    key.secretKey,
  );
  return {
    module: Buffer.from(bytes).toString('base64'),
    manifest: Buffer.from(encodeManifest(manifest)).toString('base64'),
  };
}

/** Runs the gojinn CLI to completion (bounded by CLI_WAIT_MS), `stdin` on its standard input. */
async function gojinn(args: string[], stdin: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: root },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stdin.end(stdin);
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([
      new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`gojinn ${args[0] ?? ''} did not finish within ${CLI_WAIT_MS} ms:\n${output}`));
        }, CLI_WAIT_MS);
      }),
    ]);
    return { code, output };
  } finally {
    clearTimeout(timer);
  }
}

const expectedFingerprint = createHash('sha256').update(SECRET_VALUE).digest('hex');

void test('a restart from the same data directory keeps identity, modules, KV, policy, API key and secret', async () => {
  await setSecretWhileStopped(SECRET_VALUE);

  // First run: state made through the public surfaces.
  const first = await start();
  const published = await admin(first, 'POST', '/v1/modules', await signedGreeter());
  assert.equal(published.status, 201, published.text);
  const policy = await admin(first, 'PUT', `/v1/policies/${PEER_A}`, {
    modules: ['hello'],
    ratePerSecond: 7,
  });
  assert.equal(policy.status, 200, policy.text);
  const created = await admin(first, 'POST', '/v1/api-keys', { id: 'ci', functions: [PRIVATE_MODULE] });
  assert.equal(created.status, 201, created.text);
  const apiKey = created.body.key as string;
  const withKey = { headers: { authorization: `Bearer ${apiKey}` } };
  assert.equal((await call(first.gatewayUrl, `/fn/${PRIVATE_MODULE}`)).status, 401);
  const greeted = await call(first.gatewayUrl, `/fn/${PRIVATE_MODULE}?name=Ada`, withKey);
  assert.equal(greeted.status, 200, greeted.body);
  for (const count of [1, 2]) {
    const reply = await call(first.gatewayUrl, '/fn/kv-counter?key=restart');
    assert.deepEqual(json(reply.body), { key: 'restart', count });
  }
  const secretBefore = await call(first.gatewayUrl, `/fn/secret-user?name=${SECRET_NAME}`);
  assert.equal(secretBefore.status, 200, secretBefore.body);
  assert.equal(json(secretBefore.body).sha256, expectedFingerprint);
  const peerId = first.peerId;
  await first.stop();
  await assert.rejects(call(first.gatewayUrl, '/fn/hello'), { code: 'ECONNREFUSED' });

  // Second run, same data directory.
  const second = await start();
  assert.equal(second.peerId, peerId);
  const status = await admin(second, 'GET', '/v1/status');
  assert.equal(status.body.peerId, peerId);

  assert.equal((await call(second.gatewayUrl, '/fn/hello')).status, 200);
  const counted = await call(second.gatewayUrl, '/fn/kv-counter?key=restart');
  assert.deepEqual(json(counted.body), { key: 'restart', count: 3 });

  const modules = await admin(second, 'GET', '/v1/modules');
  const names = (modules.body.modules as Array<{ name: string }>).map((m) => m.name);
  assert.ok(names.includes(PRIVATE_MODULE), names.join(', '));
  // The published module is still served, and still only with the key.
  assert.equal((await call(second.gatewayUrl, `/fn/${PRIVATE_MODULE}`)).status, 401);
  const wrongKey = { headers: { authorization: `Bearer gjk_${'A'.repeat(43)}` } };
  assert.equal((await call(second.gatewayUrl, `/fn/${PRIVATE_MODULE}`, wrongKey)).status, 401);
  const greetedAgain = await call(second.gatewayUrl, `/fn/${PRIVATE_MODULE}?name=Bo`, withKey);
  assert.equal(greetedAgain.status, 200, greetedAgain.body);
  assert.equal(json(greetedAgain.body).hello, 'Bo');

  const keys = await admin(second, 'GET', '/v1/api-keys');
  const listed = keys.body.keys as Array<{ id: string; functions: string[] }>;
  assert.deepEqual(
    listed.map((k) => [k.id, k.functions]),
    [['ci', [PRIVATE_MODULE]]],
  );
  assert.ok(!keys.text.includes(apiKey), 'the key itself is never listed');

  const policies = await admin(second, 'GET', '/v1/policies');
  const kept = (policies.body.policies as Array<Record<string, unknown>>).find((p) => p.id === PEER_A);
  assert.ok(kept !== undefined, policies.text);
  assert.deepEqual(kept.modules, ['hello']);
  assert.equal(kept.ratePerSecond, 7);
  assert.equal(kept.source, 'admin');

  const secretAfter = await call(second.gatewayUrl, `/fn/secret-user?name=${SECRET_NAME}`);
  assert.equal(secretAfter.status, 200, secretAfter.body);
  assert.equal(json(secretAfter.body).sha256, expectedFingerprint);
  await second.stop();
});

void test('a secret replaced while stopped with `gojinn secrets set` is the one the restarted node hands out', async () => {
  // The sealed record, not a cached copy, is what a node reads: a change made offline shows.
  const rotated = `${SECRET_VALUE}-rotated`;
  const result = await gojinn(
    ['secrets', 'set', 'secret-user', SECRET_NAME, '--value-stdin', '--data', dataDir],
    `${rotated}\n`,
  );
  assert.equal(result.code, 0, result.output);
  assert.ok(!result.output.includes(rotated), 'the command never prints the value');
  const node = await start();
  const reply = await call(node.gatewayUrl, `/fn/secret-user?name=${SECRET_NAME}`);
  assert.equal(reply.status, 200, reply.body);
  assert.equal(json(reply.body).sha256, createHash('sha256').update(rotated).digest('hex'));
  await node.stop();
});
