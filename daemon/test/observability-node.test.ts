/**
 * The observability parts wired into a real gateway over a real node (store, registry, sandbox
 * pool, dispatcher) as the daemon wires them: calls through HTTP show in a scrape of the real
 * /metrics listener, and the node log is scrubbed.
 */
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HostCallDispatcher } from '@gojinn/capabilities';
import { readExample } from '../../test/support/guests.ts';
import { loadFixture } from '../../test/support/wat.ts';
import {
  SensitiveStrings,
  createNodeLogger,
  createNodeMetrics,
  internalErrorLogger,
  logRecordSink,
  startMetricsServer,
  type MetricsServer,
  type NodeMetrics,
} from '../src/observability/index.ts';
import { call, openNode, serveNode, type Node } from './gateway-fixtures.ts';
import type { ListeningGateway } from '../src/gateway/index.ts';

let node: Node;
let gateway: ListeningGateway;
let metrics: NodeMetrics;
let metricsServer: MetricsServer;
const lines: string[] = [];
const adminToken = randomBytes(32).toString('hex');

before(async () => {
  node = await openNode();
  await node.install('hello', readExample('hello'));
  await node.install('crash', await loadFixture('unreachable'));
  await node.install('spin', await loadFixture('loop-in-start-export'));
  const sensitive = new SensitiveStrings();
  sensitive.add(adminToken, { pinned: true });
  const logger = createNodeLogger({
    level: 'info',
    secrets: () => sensitive,
    destination: { write: (line) => lines.push(line) },
  });
  metrics = createNodeMetrics({ defaultMetrics: false });
  node.dispatcher = new HostCallDispatcher({
    log: logRecordSink(logger),
    counters: metrics.hostCallCounters,
  });
  metrics.setSources({ pool: () => node.sandbox.pool });
  ({ listening: gateway } = await serveNode(
    node,
    {
      // `ghost` is public but never installed: it resolves to nothing (404).
      publicFunctions: ['hello', 'crash', 'spin', 'ghost'],
      events: { invocation: metrics.recordGatewayInvocation, internalError: internalErrorLogger(logger) },
    },
    { fuel: 50_000_000n },
  ));
  metricsServer = await startMetricsServer({ metrics, port: 0 });
});

after(async () => {
  await metricsServer.close();
  await gateway.close();
  await node.close();
});

void test('calls through the gateway show in the scrape: by module and outcome, durations, fuel, pool gauges; unknown names never', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await call(gateway.url, '/fn/hello')).status, 200);
  assert.equal((await call(gateway.url, '/fn/crash')).status, 502);
  assert.equal((await call(gateway.url, '/fn/spin')).status, 502);
  assert.equal((await call(gateway.url, '/fn/ghost')).status, 404);
  assert.equal((await call(gateway.url, '/fn/not-public')).status, 401);
  const response = await fetch(`${metricsServer.url}/metrics`);
  const text = await response.text();
  const has = (line: string) => assert.ok(text.split('\n').includes(line), `${line}\n${text}`);
  has('gojinn_invocations_total{module="hello",outcome="ok"} 3');
  has('gojinn_invocations_total{module="crash",outcome="trap"} 1');
  has('gojinn_invocations_total{module="spin",outcome="fuel_exhausted"} 1');
  has('gojinn_invocation_duration_seconds_count{module="hello"} 3');
  has('gojinn_invocation_fuel_count{module="hello"} 3');
  has('gojinn_pool_workers 1');
  has('gojinn_pool_queue_depth 0');
  assert.doesNotMatch(text, /ghost|not-public/);
  assert.ok(!text.includes(adminToken));
  // Guest failures are answered, not hidden: no internal error was logged.
  assert.ok(!lines.some((line) => line.includes('gateway_internal_error')));
});
