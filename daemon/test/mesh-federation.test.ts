/**
 * Three real nodes (startNode: store, registry, sandbox pool, libp2p peer, gateway) on loopback,
 * B and C bootstrapping to A. A serves `hello`, signed by its development publisher key.
 * - B trusts that publisher: it catches up from A when it connects (sync), fetches the bytes,
 *   verifies and installs them, and serves hello itself; a new version published on A reaches
 *   it by gossip; a revocation published on A stops it serving.
 * - C does not trust the publisher: it never installs or runs hello, and a gateway call on C
 *   is federated to A, whose policy admits C; A's receipt comes back verified and is kept in
 *   C's audit log.
 * - A has no policy for B: B's remote call is peer_denied.
 * Every wait is bounded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex, readPrivateKeyFile, signManifest, signRevocation } from '@gojinn/manifest';
import { loadOrCreateNodeIdentity } from '@gojinn/mesh';
import {
  DEV_PUBLISHER_KEY_FILE,
  initDataDir,
  loadConfigFile,
  prepareDevNode,
  startNode,
  type RunningNode,
} from '../src/index.ts';
import { call } from './gateway-fixtures.ts';
import { testNodeConfig } from './node-config-support.ts';

const HELLO = new URL('../../examples/hello/build/hello.wasm', import.meta.url).pathname;
const ANY_PORT = { host: '127.0.0.1', port: 0 };
const ANY_MESH = { listen: ['/ip4/127.0.0.1/tcp/0'] };
/** Bound on each awaited mesh event (connect, sync, fetch, gossip). */
const WAIT_MS = 20_000;

let root: string;
const running: RunningNode[] = [];
let a: RunningNode;
let b: RunningNode;
let c: RunningNode;
let publisherKey: Awaited<ReturnType<typeof readPrivateKeyFile>>;

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not within ${WAIT_MS} ms (last error: ${String(last)})`);
}

function configToml(options: { trust: string[]; bootstrap: string[] }): string {
  return testNodeConfig({
    mesh: [`bootstrap = ${JSON.stringify(options.bootstrap)}`],
    trust: [`publishers = ${JSON.stringify(options.trust)}`],
    gateway: ['publicFunctions = ["hello"]'],
  });
}

async function start(dataDir: string): Promise<RunningNode> {
  const config = await loadConfigFile(join(dataDir, 'config.toml'), { env: {} });
  const node = await startNode(config, { env: {}, log: () => undefined, drainMs: 1000 });
  running.push(node);
  return node;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gojinn-mesh-fed-'));
  const dirs = { a: join(root, 'a'), b: join(root, 'b'), c: join(root, 'c') };
  const dev = await prepareDevNode({
    dataDir: dirs.a,
    modules: [{ name: 'hello', wasmPath: HELLO }],
    gateway: ANY_PORT,
    admin: ANY_PORT,
    mesh: ANY_MESH,
    metrics: ANY_PORT,
  });
  publisherKey = await readPrivateKeyFile(join(dirs.a, DEV_PUBLISHER_KEY_FILE));
  for (const dir of [dirs.b, dirs.c]) await initDataDir(dir);
  const cId = (await loadOrCreateNodeIdentity(dirs.c)).peerId.toString();
  // A admits C (any module, no capabilities); B has no policy on A.
  await appendFile(
    dev.configFile,
    `\n[logging]\nlevel = "silent"\n\n[[peers]]\nid = "${cId}"\nmodules = ["*"]\n`,
  );
  a = await start(dirs.a);
  const bootstrap = [a.meshAddresses[0] as string];
  await writeFile(join(dirs.b, 'config.toml'), configToml({ trust: [dev.publicKey], bootstrap }));
  await writeFile(join(dirs.c, 'config.toml'), configToml({ trust: [], bootstrap }));
  b = await start(dirs.b);
  c = await start(dirs.c);
});

after(async () => {
  for (const node of running.reverse()) await node.stop().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

void test('a late joiner that trusts the publisher catches up, fetches, verifies and serves the module', async () => {
  const served = await eventually('hello installed on B', async () => b.registry.resolve('hello'));
  const onA = await a.registry.resolve('hello');
  assert.equal(served.verified.sha256, onA.verified.sha256);
  assert.equal(sha256Hex(served.moduleBytes), onA.verified.sha256);
  const response = await call(b.gatewayUrl, '/fn/hello?name=mesh');
  assert.equal(response.status, 200);
  assert.match(response.body, /mesh/);
});

void test('a node that does not trust the publisher never installs it; its gateway call runs on A with a verified receipt', async () => {
  await eventually('C connected to A', async () =>
    c.mesh.peers().some((peer) => peer.id === a.peerId) ? true : undefined,
  );
  // The caller's W3C trace id travels with the federated call and into A's signed receipt.
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const response = await eventually('a federated call from C', async () => {
    const answer = await call(c.gatewayUrl, '/fn/hello?name=federated', {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    return answer.status === 200 ? answer : undefined;
  });
  assert.equal(response.headers['x-gojinn-trace-id'], traceId);
  assert.match(response.body, /federated/);
  await assert.rejects(c.registry.resolve('hello'), { code: 'not_found' });
  const receipts = await eventually('a receipt in C audit log', async () => {
    const page = await c.audit.list({});
    const found = page.items.filter((entry) => entry.kind === 'receipt');
    return found.length > 0 ? found : undefined;
  });
  const data = receipts[0]?.data as {
    peer: string;
    receipt: { peer: string; moduleSha256: string; traceId: string };
  };
  assert.equal(data.receipt.traceId, traceId);
  assert.equal(data.peer, a.peerId);
  assert.equal(data.receipt.peer, a.peerId);
  assert.equal(data.receipt.moduleSha256, (await a.registry.resolve('hello')).verified.sha256);
  // Both ends count the federated call (Prometheus metrics).
  assert.match(
    await c.metrics.scrape(),
    /gojinn_remote_invocations_total\{direction="outbound",outcome="ok"\} [1-9]/,
  );
  assert.match(
    await a.metrics.scrape(),
    /gojinn_remote_invocations_total\{direction="inbound",outcome="ok"\} [1-9]/,
  );
});

void test('a peer without a policy on the executing node is denied', async () => {
  await eventually('B connected to A', async () =>
    b.mesh.peers().some((peer) => peer.id === a.peerId) ? true : undefined,
  );
  await assert.rejects(
    b.mesh.invoke({
      module: { name: 'hello', range: '*' },
      request: { method: 'GET', uri: '/hello', headers: {}, body: '', trace_id: 'b'.repeat(32) },
      deadlineMs: 5000,
      remote: true,
    }),
    { code: 'peer_denied' },
  );
});

void test('a policy set through the admin API applies at once; a verified remote call re-executes and matches', async () => {
  const tokenOf = async (dir: string): Promise<string> =>
    (await readFile(join(root, dir, 'admin.token'), 'utf8')).trim();
  const put = await call(a.adminUrl, `/v1/policies/${b.peerId}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${await tokenOf('a')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: b.peerId, modules: ['hello'] }),
  });
  assert.equal(put.status, 200, put.body);
  await eventually('hello installed on B', async () => b.registry.resolve('hello'));
  const invoked = await call(b.adminUrl, '/v1/invoke', {
    method: 'POST',
    headers: { authorization: `Bearer ${await tokenOf('b')}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'hello',
      request: { method: 'GET', uri: '/?name=verified', headers: {}, body: '' },
      remote: true,
      verify: true,
    }),
  });
  assert.equal(invoked.status, 200, invoked.body);
  const answer = JSON.parse(invoked.body) as {
    servedBy: string;
    reExecution: string;
    outcome: { ok: boolean; response: { body: string } };
    receipt: { deterministic: boolean };
  };
  assert.equal(answer.servedBy, a.peerId);
  assert.equal(answer.outcome.ok, true);
  assert.match(answer.outcome.response.body, /verified/);
  assert.equal(answer.receipt.deterministic, true);
  assert.equal(answer.reExecution, 'match');
});

void test('a new version published on A reaches B by gossip; a revocation published on A stops B serving it', async () => {
  await eventually('hello installed on B', async () => b.registry.resolve('hello'));
  const bytes = new Uint8Array(await readFile(HELLO));
  const current = (await a.registry.resolve('hello')).verified.manifest;
  const next = signManifest(
    { name: 'hello', version: '1.1.0', sha256: current.sha256, size: current.size, capabilities: {} },
    publisherKey.secretKey,
  );
  await a.registry.install(bytes, new TextEncoder().encode(JSON.stringify(next)));
  const published = await a.mesh.publish(next);
  assert.ok(published.recipients >= 1, 'B and C are subscribed to the manifest topic');
  await eventually('1.1.0 active on B', async () => {
    const served = await b.registry.resolve('hello');
    return served.verified.manifest.version === '1.1.0' ? served : undefined;
  });

  const revocation = signRevocation(
    { target: { kind: 'version', publisher: next.publisher, name: 'hello', version: '1.1.0' } },
    publisherKey.secretKey,
  );
  // Through A's admin API, as `gojinn revoke` + POST /v1/revocations does: applied on A and
  // announced to the mesh.
  const token = (await readFile(join(root, 'a', 'admin.token'), 'utf8')).trim();
  const applied = await call(a.adminUrl, '/v1/revocations', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(revocation),
  });
  assert.equal(applied.status, 200, applied.body);
  assert.ok((JSON.parse(applied.body) as { recipients: number }).recipients >= 1, applied.body);
  await assert.rejects(a.registry.resolve('hello'), { code: 'revoked' });
  await eventually('hello 1.1.0 revoked on B', async () => {
    try {
      await b.registry.resolve('hello');
      return undefined;
    } catch (error) {
      return (error as { code?: string }).code === 'revoked' ? true : undefined;
    }
  });
  b.resolver.invalidate();
  const refused = await call(b.gatewayUrl, '/fn/hello');
  assert.notEqual(refused.status, 200);
});
