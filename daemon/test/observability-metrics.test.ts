/**
 * The node's metrics: recorded events show in the scrape with their labels; every label value
 * is bounded (unknown outcomes, capabilities, gossip results, module names past the cap and
 * unresolved names all count as `other`); scrape-time sources; libp2p stats of real nodes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register as globalRegistry } from 'prom-client';
import { ERROR_CODES } from '@gojinn/errors';
import { CAPABILITIES } from '@gojinn/abi';
import {
  MAX_OPEN_LABEL_VALUES,
  OTHER_LABEL,
  createNodeMetrics,
  libp2pStatsOf,
  type NodeMetrics,
} from '../src/observability/index.ts';

/** The value of one sample line `name{labels} value` (labels in prom-client's order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const prefix = wanted === '' ? `${name} ` : `${name}{${wanted}} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

/** Label values of `label` across the samples of `name`. */
function labelValues(text: string, name: string, label: string): string[] {
  const pattern = new RegExp(`^${name}\\{(?:[^}]*,)?${label}="([^"]*)"`);
  return [...new Set(text.split('\n').flatMap((line) => pattern.exec(line)?.[1] ?? []))];
}

function fresh(options: Parameters<typeof createNodeMetrics>[0] = {}): NodeMetrics {
  return createNodeMetrics({ defaultMetrics: false, ...options });
}

void test('invocations: counts by module and outcome, duration and fuel histograms with sums and counts', async () => {
  const metrics = fresh();
  metrics.recordInvocation({ module: 'hello', outcome: 'ok', durationMs: 4, fuel: 12_345n });
  metrics.recordInvocation({ module: 'hello', outcome: 'ok', durationMs: 30, fuel: 2_000_000 });
  metrics.recordInvocation({
    module: 'hello',
    outcome: 'fuel_exhausted',
    durationMs: 120,
    fuel: 1_000_000_000n,
  });
  metrics.recordInvocation({ module: 'notes', outcome: 'timeout', durationMs: 5000 });
  const text = await metrics.scrape();
  assert.equal(sample(text, 'gojinn_invocations_total', { module: 'hello', outcome: 'ok' }), 2);
  assert.equal(sample(text, 'gojinn_invocations_total', { module: 'hello', outcome: 'fuel_exhausted' }), 1);
  assert.equal(sample(text, 'gojinn_invocations_total', { module: 'notes', outcome: 'timeout' }), 1);
  assert.equal(sample(text, 'gojinn_invocation_duration_seconds_count', { module: 'hello' }), 3);
  assert.equal(sample(text, 'gojinn_invocation_duration_seconds_sum', { module: 'hello' }), 0.154);
  assert.equal(
    sample(text, 'gojinn_invocation_duration_seconds_bucket', { le: '0.005', module: 'hello' }),
    1,
  );
  assert.equal(sample(text, 'gojinn_invocation_duration_seconds_bucket', { le: '0.05', module: 'hello' }), 2);
  assert.equal(sample(text, 'gojinn_invocation_duration_seconds_bucket', { le: '5', module: 'notes' }), 1);
  assert.equal(sample(text, 'gojinn_invocation_fuel_count', { module: 'hello' }), 3);
  assert.equal(sample(text, 'gojinn_invocation_fuel_bucket', { le: '100000', module: 'hello' }), 1);
  assert.equal(sample(text, 'gojinn_invocation_fuel_bucket', { le: '1000000000', module: 'hello' }), 3);
  // Fuel unknown: counted and timed, no fuel sample.
  assert.equal(sample(text, 'gojinn_invocation_fuel_count', { module: 'notes' }), undefined);
  assert.match(text, /^# TYPE gojinn_invocation_fuel histogram$/m);
});

void test('outcome is ok or a stable error code; anything else (a guest-chosen text) is other', async () => {
  const metrics = fresh();
  for (const code of ERROR_CODES) metrics.recordInvocation({ module: 'm', outcome: code, durationMs: 1 });
  for (const outcome of ['OK', 'boom', 'internal ', '', 'x'.repeat(10_000)]) {
    metrics.recordInvocation({ module: 'm', outcome, durationMs: 1 });
  }
  const text = await metrics.scrape();
  assert.deepEqual(
    labelValues(text, 'gojinn_invocations_total', 'outcome').sort(),
    [...ERROR_CODES, OTHER_LABEL].sort(),
  );
  assert.equal(sample(text, 'gojinn_invocations_total', { module: 'm', outcome: OTHER_LABEL }), 5);
  // not_found never carries the requested name (the caller chose it).
  assert.equal(sample(text, 'gojinn_invocations_total', { module: OTHER_LABEL, outcome: 'not_found' }), 1);
  assert.equal(sample(text, 'gojinn_invocations_total', { module: 'm', outcome: 'not_found' }), undefined);
});

void test('module labels: valid names up to maxModuleLabels (at the limit each its own), then other; invalid and unresolved names are other', async () => {
  const metrics = fresh({ maxModuleLabels: 3 });
  for (const name of ['a', 'b', 'c'])
    metrics.recordInvocation({ module: name, outcome: 'ok', durationMs: 1 });
  metrics.recordInvocation({ module: 'd', outcome: 'ok', durationMs: 1 });
  metrics.recordInvocation({ module: 'a', outcome: 'ok', durationMs: 1 }); // seen: keeps its series
  for (const bad of ['Upper', '../x', 'with space', 'x'.repeat(65), '', 'a"}\n# evil']) {
    metrics.recordInvocation({ module: bad, outcome: 'ok', durationMs: 1 });
  }
  metrics.recordInvocation({ module: 'e', outcome: 'not_found', durationMs: 1 });
  const text = await metrics.scrape();
  assert.deepEqual(labelValues(text, 'gojinn_invocations_total', 'module').sort(), [
    'a',
    'b',
    'c',
    OTHER_LABEL,
  ]);
  assert.equal(sample(text, 'gojinn_invocations_total', { module: 'a', outcome: 'ok' }), 2);
  assert.equal(sample(text, 'gojinn_invocations_total', { module: OTHER_LABEL, outcome: 'ok' }), 7);
  assert.doesNotMatch(text, /evil/);
});

void test('knownModule decides which names are labels of their own', async () => {
  const installed = new Set(['hello']);
  const metrics = fresh({ knownModule: (name) => installed.has(name) });
  metrics.recordInvocation({ module: 'hello', outcome: 'ok', durationMs: 1 });
  metrics.recordInvocation({ module: 'stranger', outcome: 'ok', durationMs: 1 });
  const text = await metrics.scrape();
  assert.deepEqual(labelValues(text, 'gojinn_invocations_total', 'module').sort(), ['hello', OTHER_LABEL]);
});

void test('gossip results, fetch bytes, denied capabilities and remote invocations, each label bounded', async () => {
  const metrics = fresh();
  for (const result of [
    'accept-manifest',
    'accept-revocation',
    'accepted',
    'reject',
    'rejected',
    'ignore',
    'weird',
  ]) {
    metrics.recordGossip(result);
  }
  metrics.recordFetchBytes(1000);
  metrics.recordFetchBytes(24);
  metrics.recordFetchBytes(-5);
  metrics.recordFetchBytes(Number.NaN);
  for (const capability of [...CAPABILITIES, 'log', 'kv.read', 'root.shell'])
    metrics.recordCapabilityDenied(capability);
  metrics.recordRemoteInvocation({ direction: 'outbound', outcome: 'ok' });
  metrics.recordRemoteInvocation({ direction: 'inbound', outcome: 'peer_denied' });
  metrics.recordRemoteInvocation({ direction: 'sideways' as 'inbound', outcome: 'nope' });
  const text = await metrics.scrape();
  assert.equal(sample(text, 'gojinn_gossip_messages_total', { result: 'accepted' }), 3);
  assert.equal(sample(text, 'gojinn_gossip_messages_total', { result: 'rejected' }), 2);
  assert.equal(sample(text, 'gojinn_gossip_messages_total', { result: 'ignored' }), 1);
  assert.equal(sample(text, 'gojinn_gossip_messages_total', { result: OTHER_LABEL }), 1);
  assert.equal(sample(text, 'gojinn_fetch_bytes_total'), 1024);
  assert.equal(sample(text, 'gojinn_capability_denied_total', { capability: 'kv.read' }), 2);
  assert.equal(sample(text, 'gojinn_capability_denied_total', { capability: 'log' }), 1);
  assert.equal(sample(text, 'gojinn_capability_denied_total', { capability: OTHER_LABEL }), 1);
  assert.equal(
    labelValues(text, 'gojinn_capability_denied_total', 'capability').length,
    CAPABILITIES.length + 2,
  );
  assert.equal(sample(text, 'gojinn_remote_invocations_total', { direction: 'outbound', outcome: 'ok' }), 1);
  assert.equal(
    sample(text, 'gojinn_remote_invocations_total', { direction: 'inbound', outcome: 'peer_denied' }),
    1,
  );
  assert.equal(
    sample(text, 'gojinn_remote_invocations_total', { direction: OTHER_LABEL, outcome: OTHER_LABEL }),
    1,
  );
});

void test('hostCallCounters from a real guest through the real dispatcher: host calls, log lines, dropped debug lines', async () => {
  const { Harness, moduleIdentity } = await import('../../packages/capabilities/test/support/harness.ts');
  const { HostCallDispatcher } = await import('@gojinn/capabilities');
  const metrics = fresh();
  const h = new Harness();
  try {
    h.dispatcher = new HostCallDispatcher({ log: () => undefined, counters: metrics.hostCallCounters });
    const { outcome } = await h.run(
      ['log'],
      [
        { fn: 'log', arg: 'one', cap: 1 },
        { fn: 'log', arg: 'two', cap: 2 },
        { fn: 'log', arg: 'debug without debug.enable', cap: 0 },
      ],
      {},
      { module: moduleIdentity('chatty') },
    );
    assert.equal(outcome.ok, true);
  } finally {
    await h.close();
  }
  // Names the dispatcher does not use today still map into the fixed sets.
  metrics.hostCallCounters('host_calls_total', { function: 'kv_get', result: 'DENIED' });
  metrics.hostCallCounters('host_calls_total', { function: 'made_up', result: 'SOMETHING' });
  metrics.hostCallCounters('host_calls_denied_total', {
    capability: 'net.http',
    function: 'http_fetch',
    module: 'x',
  });
  metrics.hostCallCounters('not_a_counter', { a: 'b' });
  const text = await metrics.scrape();
  assert.equal(sample(text, 'gojinn_guest_log_lines_total', { module: 'chatty' }), 2);
  assert.equal(
    sample(text, 'gojinn_guest_log_dropped_total', { module: 'chatty', reason: 'debug_not_enabled' }),
    1,
  );
  assert.equal(sample(text, 'gojinn_host_calls_total', { function: 'kv_get', result: 'DENIED' }), 1);
  assert.equal(sample(text, 'gojinn_host_calls_total', { function: OTHER_LABEL, result: OTHER_LABEL }), 1);
  assert.equal(sample(text, 'gojinn_capability_denied_total', { capability: 'net.http' }), 1);
  assert.doesNotMatch(text, /not_a_counter|made_up|SOMETHING/);
});

void test('scrape-time sources: pool, peers and libp2p read at each scrape; replaced by setSources; a throwing source reads 0', async () => {
  let queueDepth = 3;
  const metrics = fresh({ pool: () => ({ queueDepth, poolSize: 4, busyWorkers: 2, workerRestarts: 1 }) });
  let text = await metrics.scrape();
  assert.equal(sample(text, 'gojinn_pool_queue_depth'), 3);
  assert.equal(sample(text, 'gojinn_pool_workers'), 4);
  assert.equal(sample(text, 'gojinn_pool_workers_busy'), 2);
  assert.equal(sample(text, 'gojinn_pool_worker_restarts_total'), 1);
  assert.equal(sample(text, 'gojinn_mesh_peers'), 0);
  queueDepth = 7;
  metrics.setSources({
    peers: () => 5,
    libp2p: () => ({
      connections: { inbound: 2, outbound: 3 },
      streams: [
        { protocol: '/meshsub/1.1.0', count: 4 },
        { protocol: '/ipfs/id/1.0.0', count: 1 },
        { protocol: 'bad protocol with spaces', count: 2 },
      ],
    }),
  });
  text = await metrics.scrape();
  assert.equal(sample(text, 'gojinn_pool_queue_depth'), 7, 'the pool source is kept');
  assert.equal(sample(text, 'gojinn_mesh_peers'), 5);
  assert.equal(sample(text, 'gojinn_libp2p_connections', { direction: 'inbound' }), 2);
  assert.equal(sample(text, 'gojinn_libp2p_connections', { direction: 'outbound' }), 3);
  assert.equal(sample(text, 'gojinn_libp2p_streams', { protocol: '/meshsub/1.1.0' }), 4);
  assert.equal(sample(text, 'gojinn_libp2p_streams', { protocol: OTHER_LABEL }), 2);
  metrics.setSources({
    pool: () => {
      throw new Error('pool gone');
    },
    peers: () => Number.NaN,
    libp2p: () => undefined,
  });
  text = await metrics.scrape();
  assert.equal(sample(text, 'gojinn_pool_queue_depth'), 0);
  assert.equal(sample(text, 'gojinn_mesh_peers'), 0);
  assert.equal(sample(text, 'gojinn_libp2p_connections', { direction: 'inbound' }), 0);
  assert.equal(labelValues(text, 'gojinn_libp2p_streams', 'protocol').length, 0, 'no stale stream series');
});

void test(`libp2p protocol labels: at most MAX_OPEN_LABEL_VALUES (${MAX_OPEN_LABEL_VALUES}) distinct, the rest other`, async () => {
  const metrics = fresh({
    libp2p: () => ({
      connections: {},
      streams: Array.from({ length: MAX_OPEN_LABEL_VALUES + 10 }, (_, i) => ({
        protocol: `/p/${i}`,
        count: 1,
      })),
    }),
  });
  const text = await metrics.scrape();
  const values = labelValues(text, 'gojinn_libp2p_streams', 'protocol');
  assert.equal(values.length, MAX_OPEN_LABEL_VALUES + 1);
  assert.equal(sample(text, 'gojinn_libp2p_streams', { protocol: `/p/${MAX_OPEN_LABEL_VALUES - 1}` }), 1);
  assert.equal(sample(text, 'gojinn_libp2p_streams', { protocol: OTHER_LABEL }), 10);
});

void test('libp2pStatsOf two real libp2p nodes: one connection each way, streams by negotiated protocol', async () => {
  const { createMeshNode } = await import('@gojinn/mesh');
  const dirs = await Promise.all([0, 1].map(() => mkdtemp(join(tmpdir(), 'gojinn-obs-'))));
  const [dirA, dirB] = dirs as [string, string];
  const a = await createMeshNode({ dataDir: dirA, localNetwork: true });
  try {
    const addressOfA = a.libp2p.getMultiaddrs()[0]?.toString() ?? '';
    const b = await createMeshNode({ dataDir: dirB, bootstrap: [addressOfA], localNetwork: true });
    try {
      // Connected, and some protocol negotiated on it (identify, gossipsub): bounded wait.
      const deadline = Date.now() + 10_000;
      const negotiated = () =>
        a.libp2p.getConnections().some((c) => c.streams.some((stream) => (stream.protocol ?? '') !== ''));
      while (!negotiated() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      // Read in one synchronous step, beside what libp2p itself says.
      const statsA = libp2pStatsOf(a.libp2p);
      const statsB = libp2pStatsOf(b.libp2p);
      const streamsOfA = a.libp2p.getConnections().flatMap((c) => c.streams);
      assert.deepEqual(statsA.connections, { inbound: 1, outbound: 0 });
      assert.deepEqual(statsB.connections, { inbound: 0, outbound: 1 });
      assert.ok(streamsOfA.length > 0);
      const byProtocol = new Map([...statsA.streams].map((s) => [s.protocol, s.count]));
      // A stream still negotiating has no protocol yet (undefined or '').
      for (const stream of streamsOfA) {
        const protocol =
          stream.protocol === undefined || stream.protocol === '' ? 'negotiating' : stream.protocol;
        assert.ok((byProtocol.get(protocol) ?? 0) > 0, protocol);
      }
      assert.equal(
        [...byProtocol.values()].reduce((sum, n) => sum + n, 0),
        streamsOfA.length,
      );
      const metrics = fresh({ libp2p: () => libp2pStatsOf(a.libp2p) });
      const text = await metrics.scrape();
      assert.equal(sample(text, 'gojinn_libp2p_connections', { direction: 'inbound' }), 1);
      assert.equal(sample(text, 'gojinn_libp2p_connections', { direction: 'outbound' }), 0);
      assert.ok(labelValues(text, 'gojinn_libp2p_streams', 'protocol').some((p) => p.startsWith('/')));
    } finally {
      await b.stop();
    }
  } finally {
    await a.stop();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
});

void test('process and Node.js default metrics are on the node registry (and can be left out); the global registry is untouched', async () => {
  const before = (await globalRegistry.metrics()).length;
  const withDefaults = createNodeMetrics();
  const text = await withDefaults.scrape();
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^process_resident_memory_bytes /m);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  assert.match(text, /^nodejs_heap_size_used_bytes /m);
  assert.doesNotMatch(await fresh().scrape(), /process_cpu_user_seconds_total/);
  assert.equal((await globalRegistry.metrics()).length, before);
  // Two nodes in one process count separately.
  const other = fresh();
  withDefaults.recordFetchBytes(10);
  assert.equal(sample(await other.scrape(), 'gojinn_fetch_bytes_total'), 0);
});

void test('recordGatewayInvocation takes the gateway event unbound; fuelUsed 0 (never ran or unknown) gives no fuel sample', async () => {
  const metrics = fresh();
  const { recordGatewayInvocation } = metrics;
  recordGatewayInvocation({ name: 'hello', outcome: 'ok', durationMs: 2, fuelUsed: 900n });
  recordGatewayInvocation({ name: 'hello', outcome: 'overloaded', durationMs: 0, fuelUsed: 0n });
  const text = await metrics.scrape();
  assert.equal(sample(text, 'gojinn_invocations_total', { module: 'hello', outcome: 'ok' }), 1);
  assert.equal(sample(text, 'gojinn_invocations_total', { module: 'hello', outcome: 'overloaded' }), 1);
  assert.equal(sample(text, 'gojinn_invocation_fuel_count', { module: 'hello' }), 1);
  assert.equal(sample(text, 'gojinn_invocation_duration_seconds_count', { module: 'hello' }), 2);
});
