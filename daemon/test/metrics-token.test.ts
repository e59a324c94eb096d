/**
 * `metrics.requireToken`: the /metrics listener answers only scrapes bearing the node's metrics
 * token (its own file, `<dataDir>/metrics.token`, never the admin token); without it, with a
 * wrong one, or with the admin token, 401 and no metric. The token file is created 0600 on first
 * use, kept across restarts, and refused (not replaced) when malformed or readable by others.
 * A real node started with the setting serves the same way (node-log-leak.test.ts shows a real
 * daemon never logs the token).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GojinnError } from '@gojinn/errors';
import {
  METRICS_TOKEN_FILE,
  createNodeMetrics,
  loadOrCreateMetricsToken,
  startMetricsServer,
  type MetricsServer,
} from '../src/observability/index.ts';
import { initDataDir, loadConfigFile, readAdminToken, startNode } from '../src/index.ts';
import { testNodeConfig } from './node-config-support.ts';

const TOKEN = 'ab'.repeat(32);

async function scrape(
  url: string,
  authorization?: string,
): Promise<{ status: number; text: string; auth: string | null }> {
  const response = await fetch(`${url}/metrics`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  return {
    status: response.status,
    text: await response.text(),
    auth: response.headers.get('www-authenticate'),
  };
}

async function withServer(
  token: string | undefined,
  run: (server: MetricsServer) => Promise<void>,
): Promise<void> {
  const metrics = createNodeMetrics({ defaultMetrics: false });
  metrics.recordGossip('accepted');
  const server = await startMetricsServer({ metrics, port: 0, ...(token === undefined ? {} : { token }) });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

void test('with a token: no header, a wrong token, another scheme or a near miss get 401 and no metric', async () => {
  await withServer(TOKEN, async (server) => {
    for (const authorization of [
      undefined,
      'Bearer ' + 'cd'.repeat(32),
      'Bearer ' + TOKEN.slice(0, 63),
      'Bearer ' + TOKEN + '0',
      'Bearer ' + TOKEN.toUpperCase(),
      'Basic ' + Buffer.from(`x:${TOKEN}`).toString('base64'),
      TOKEN,
      'Bearer  ' + TOKEN,
    ]) {
      const reply = await scrape(server.url, authorization);
      assert.equal(reply.status, 401, String(authorization));
      assert.equal(reply.auth, 'Bearer realm="gojinn-metrics"');
      assert.doesNotMatch(reply.text, /gojinn_/);
    }
    // Every path is behind the token: an unauthenticated caller cannot even learn what is 404.
    const other = await fetch(`${server.url}/elsewhere`);
    assert.equal(other.status, 401);
    await other.text();
  });
});

void test('with a token: the right bearer token gets the metrics', async () => {
  await withServer(TOKEN, async (server) => {
    const reply = await scrape(server.url, `Bearer ${TOKEN}`);
    assert.equal(reply.status, 200);
    assert.match(reply.text, /gojinn_gossip_messages_total\{result="accepted"\} 1/);
  });
});

void test('without a token the listener stays open to loopback scrapers, as before', async () => {
  await withServer(undefined, async (server) => {
    assert.equal((await scrape(server.url)).status, 200);
  });
});

void test('the token file is created 0600 with 64 hex digits, then read back unchanged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-metrics-token-'));
  try {
    const first = await loadOrCreateMetricsToken(dir);
    assert.match(first, /^[0-9a-f]{64}$/);
    const info = await stat(join(dir, METRICS_TOKEN_FILE));
    assert.equal(info.mode & 0o777, 0o600);
    assert.equal(await loadOrCreateMetricsToken(dir), first);
    assert.equal(await readFile(join(dir, METRICS_TOKEN_FILE), 'utf8'), `${first}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('a token file readable by others, or not a token, is refused and left as it is', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-metrics-token-'));
  const path = join(dir, METRICS_TOKEN_FILE);
  try {
    await writeFile(path, `${TOKEN}\n`, { mode: 0o644 });
    await chmod(path, 0o644);
    await assert.rejects(
      loadOrCreateMetricsToken(dir),
      (error: unknown) =>
        error instanceof GojinnError &&
        error.code === 'bad_request' &&
        /accessible to other users/.test(error.message),
    );
    await chmod(path, 0o600);
    await writeFile(path, 'not a token\n');
    await assert.rejects(loadOrCreateMetricsToken(dir), /is not 64 lowercase hex digits/);
    assert.equal(await readFile(path, 'utf8'), 'not a token\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('a node with metrics.requireToken serves only its metrics token, not the admin token', async () => {
  const root = await mkdtemp(join(tmpdir(), 'gojinn-metrics-node-'));
  const dataDir = join(root, 'node');
  try {
    await initDataDir(dataDir);
    const config = testNodeConfig({
      metrics: ['enabled = true', 'listen = "127.0.0.1:0"', 'requireToken = true'],
    }).replace('[metrics]\nenabled = false\n', '[metrics]\n');
    await writeFile(join(dataDir, 'config.toml'), config);
    const loaded = await loadConfigFile(join(dataDir, 'config.toml'), { env: {} });
    const node = await startNode(loaded, { env: {}, drainMs: 1000, log: () => undefined });
    try {
      const url = node.metricsUrl;
      assert.ok(url !== undefined);
      const token = (await readFile(join(dataDir, METRICS_TOKEN_FILE), 'utf8')).trim();
      assert.equal((await scrape(url)).status, 401);
      assert.equal((await scrape(url, `Bearer ${await readAdminToken(dataDir)}`)).status, 401);
      const reply = await scrape(url, `Bearer ${token}`);
      assert.equal(reply.status, 200);
      assert.match(reply.text, /gojinn_/);
    } finally {
      await node.stop();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
