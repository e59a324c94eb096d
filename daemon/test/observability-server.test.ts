/**
 * The /metrics listener: a scrape after recording events shows them; everything but GET/HEAD
 * /metrics is 404; a non-loopback bind is refused without the opt-in; no body is read; slow
 * headers are cut; the scrape never carries a secret the callers tried to put into a label.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import {
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PORT,
  createNodeMetrics,
  startMetricsServer,
  type MetricsServer,
  type MetricsServerOptions,
} from '../src/observability/index.ts';

async function withServer(
  options: Partial<MetricsServerOptions>,
  run: (server: MetricsServer) => Promise<void>,
): Promise<void> {
  const server = await startMetricsServer({
    metrics: createNodeMetrics({ defaultMetrics: false }),
    port: 0,
    ...options,
  });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

/** Sends raw bytes and collects what comes back until the server closes (bounded by `timeoutMs`). */
function raw(
  server: MetricsServer,
  bytes: string,
  timeoutMs = 8_000,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket: Socket = connect(server.port, server.host);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.write(bytes);
  });
}

void test('GET /metrics after recording events shows their values, in the Prometheus text format', async () => {
  const metrics = createNodeMetrics({ pool: () => ({ queueDepth: 2, poolSize: 4 }), peers: () => 3 });
  await withServer({ metrics }, async (server) => {
    metrics.recordInvocation({ module: 'hello', outcome: 'ok', durationMs: 3, fuel: 5000n });
    metrics.recordInvocation({ module: 'hello', outcome: 'timeout', durationMs: 5000 });
    metrics.recordGossip('reject');
    metrics.recordFetchBytes(4096);
    metrics.recordCapabilityDenied('kv.write');
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const text = await response.text();
    for (const line of [
      'gojinn_invocations_total{module="hello",outcome="ok"} 1',
      'gojinn_invocations_total{module="hello",outcome="timeout"} 1',
      'gojinn_invocation_fuel_sum{module="hello"} 5000',
      'gojinn_gossip_messages_total{result="rejected"} 1',
      'gojinn_fetch_bytes_total 4096',
      'gojinn_capability_denied_total{capability="kv.write"} 1',
      'gojinn_pool_queue_depth 2',
      'gojinn_pool_workers 4',
      'gojinn_mesh_peers 3',
    ]) {
      assert.ok(text.split('\n').includes(line), line);
    }
    assert.match(text, /^process_resident_memory_bytes \d+/m, 'default metrics are served');
    // A second scrape sees new events.
    metrics.recordInvocation({ module: 'hello', outcome: 'ok', durationMs: 1 });
    const again = await (await fetch(`${server.url}/metrics?ignored=1`)).text();
    assert.ok(again.split('\n').includes('gojinn_invocations_total{module="hello",outcome="ok"} 2'));
  });
});

void test('HEAD /metrics answers headers only; every other path and method is 404', async () => {
  await withServer({}, async (server) => {
    const head = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/metrics/'],
      ['GET', '/metricsx'],
      ['GET', '/v1/status'],
      ['POST', '/metrics'],
      ['PUT', '/metrics'],
      ['DELETE', '/metrics'],
      ['OPTIONS', '/metrics'],
    ] as const) {
      const response = await fetch(`${server.url}${path}`, { method });
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.doesNotMatch(await response.text(), /gojinn_/);
    }
  });
});

void test('a non-loopback host is refused before binding without allowNonLoopback; loopback forms need no opt-in', async () => {
  for (const host of ['0.0.0.0', '::', '192.0.2.1', '10.1.2.3']) {
    await assert.rejects(
      startMetricsServer({ metrics: createNodeMetrics({ defaultMetrics: false }), host, port: 0 }),
      (error: unknown) =>
        error instanceof GojinnError &&
        error.code === 'bad_request' &&
        error.message.includes(`refusing to bind ${host}`) &&
        error.message.includes('metrics.allowNonLoopback = true'),
      host,
    );
  }
  for (const host of ['127.0.0.1', '127.0.0.2', 'localhost']) {
    await withServer({ host }, async (server) => {
      assert.equal((await fetch(`${server.url}/metrics`)).status, 200, host);
    });
  }
  assert.equal(DEFAULT_METRICS_HOST, '127.0.0.1');
  assert.equal(DEFAULT_METRICS_PORT, 9464);
});

void test('a request announcing a body is answered without reading it, and its connection closed', async () => {
  await withServer({}, async (server) => {
    // 1 GB announced, none sent: an answer arrives at once, the server closes the connection.
    const { text, closed } = await raw(
      server,
      'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\npartial',
    );
    assert.match(text, /^HTTP\/1\.1 404 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.equal(closed, true);
    const get = await raw(server, 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
    assert.match(get.text, /^HTTP\/1\.1 200 /);
    assert.equal(get.closed, true);
  });
});

void test('headers that never finish are cut after headersTimeoutMs; oversized headers are refused', async () => {
  await withServer({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } }, async (server) => {
    // Waited for less than the default headersTimeoutMs (5 s): the configured limit cut it.
    const { text, closed } = await raw(server, 'GET /metrics HTTP/1.1\r\nHost: x\r\n', 4_000);
    assert.equal(closed, true, 'the server closed the connection');
    assert.doesNotMatch(text, /gojinn_/);
  });
  await withServer({ limits: { maxHeaderBytes: 1024 } }, async (server) => {
    const { text } = await raw(
      server,
      `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(2048)}\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 431 /);
  });
});

void test('the scrape never contains a secret callers tried to put into labels', async () => {
  const secret = randomBytes(16).toString('hex');
  const metrics = createNodeMetrics({ defaultMetrics: false, knownModule: (name) => name === 'hello' });
  await withServer({ metrics }, async (server) => {
    // A secret shaped like a module name, an outcome, a capability, a gossip result, a protocol.
    metrics.recordInvocation({ module: secret, outcome: 'ok', durationMs: 1 });
    metrics.recordInvocation({ module: secret, outcome: 'not_found', durationMs: 1 });
    metrics.recordInvocation({ module: 'hello', outcome: secret, durationMs: 1 });
    metrics.recordRemoteInvocation({ direction: 'inbound', outcome: secret });
    metrics.recordCapabilityDenied(secret);
    metrics.recordGossip(secret);
    metrics.hostCallCounters('host_calls_total', { function: secret, result: secret });
    metrics.hostCallCounters('guest_log_lines_total', { module: secret });
    metrics.setSources({
      libp2p: () => ({ connections: {}, streams: [{ protocol: `${secret} x`, count: 1 }] }),
    });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.ok(text.includes('gojinn_invocations_total{module="other",outcome="ok"} 1'));
    assert.ok(!text.includes(secret));
  });
});

void test('close() stops the listener: a later scrape cannot connect', async () => {
  const server = await startMetricsServer({ metrics: createNodeMetrics({ defaultMetrics: false }), port: 0 });
  assert.equal((await fetch(`${server.url}/metrics`)).status, 200);
  await server.close();
  await assert.rejects(fetch(`${server.url}/metrics`));
});

void test('maxConnections: at the limit every connection is served; one more is refused', async () => {
  await withServer({ limits: { maxConnections: 2 } }, async (server) => {
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const socket = connect(server.port, server.host, () => resolve(socket));
        socket.on('error', reject);
      });
    const held = [await open(), await open()];
    try {
      // Bounded wait until the server has accepted both.
      const deadline = Date.now() + 5_000;
      let count = 0;
      while (count < 2 && Date.now() < deadline) {
        count = await new Promise<number>((resolve) => server.server.getConnections((_e, n) => resolve(n)));
        if (count < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(count, 2);
      const refused = await raw(server, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n', 4_000);
      assert.equal(refused.closed, true);
      assert.equal(refused.text, '');
      // The held connections are served.
      const served = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer in 5 s')), 5_000);
        let text = '';
        held[0]?.setEncoding('utf8');
        held[0]?.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('gojinn_')) {
            clearTimeout(timer);
            resolve(text);
          }
        });
      });
      held[0]?.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(await served, /^HTTP\/1\.1 200 /);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});
