import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CounterSink } from '@gojinn/capabilities';
import {
  CAPABILITY_LABELS,
  DEFAULT_MAX_MODULE_LABELS,
  DIRECTION_LABELS,
  HOST_FUNCTION_LABELS,
  HOST_RESULT_LABELS,
  OTHER_LABEL,
  OUTCOME_LABELS,
  fixedLabel,
  gossipResultLabel,
  moduleLabel,
  openLabel,
  type Direction,
  type GossipResult,
} from './labels.ts';

/**
 * The node's Prometheus metrics (docs/observability.md, "Metrics") on a registry of its own —
 * never prom-client's global one, so two nodes in one process (the tests, the e2e mesh) do not
 * share counters. Every label value is bounded (labels.ts).
 */

/** Prefix of every Gojinn metric (process and Node.js default metrics keep their usual names). */
export const METRIC_PREFIX = 'gojinn_';

/** Invocation duration buckets, seconds: 1 ms to the largest timeouts. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]);
/** Fuel buckets: 10^3 to 10^12 units (the default per-invocation fuel is 10^9). */
export const FUEL_BUCKETS: readonly number[] = Object.freeze(
  Array.from({ length: 10 }, (_, i) => 10 ** (i + 3)),
);

/** The worker pool as the sandbox reports it (`sandbox.pool`'s getters); undefined before it starts. */
export interface PoolStats {
  readonly queueDepth: number;
  readonly poolSize: number;
  readonly busyWorkers?: number;
  readonly workerRestarts?: number;
}

/** libp2p's connections by direction and open streams by protocol (see `libp2pStatsOf`). */
export interface Libp2pStats {
  readonly connections: Readonly<Partial<Record<Direction, number>>>;
  readonly streams: Iterable<{ readonly protocol: string; readonly count: number }>;
}

/** Callbacks read at each scrape, for what the daemon knows and the metrics cannot count. */
export interface MetricsSources {
  pool?: () => PoolStats | undefined;
  /** Peers connected in the mesh. */
  peers?: () => number;
  libp2p?: () => Libp2pStats | undefined;
}

export interface NodeMetricsOptions extends MetricsSources {
  /** Modules counted under their own name (default any valid name, up to maxModuleLabels). */
  knownModule?: (name: string) => boolean;
  /** Distinct `module` label values (default DEFAULT_MAX_MODULE_LABELS); later names count as `other`. */
  maxModuleLabels?: number;
  /** prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
}

export interface InvocationMetric {
  /** The module name the call resolved to. */
  module: string;
  /** `ok` or the error code the call ended with (anything else counts as `other`). */
  outcome: string;
  durationMs: number;
  /** Fuel consumed, when known. */
  fuel?: number | bigint;
}

export interface NodeMetrics {
  readonly registry: Registry;
  /** The Prometheus text exposition content type of `scrape()`. */
  readonly contentType: string;
  /** Every metric in the Prometheus text format (sources are read now). */
  scrape(): Promise<string>;
  /** One invocation (local or for a peer) finished. */
  recordInvocation(event: InvocationMetric): void;
  /**
   * The gateway's `events.invocation` (its InvocationEvent): `name` is the resolved module,
   * `fuelUsed` 0 means unknown (no fuel sample).
   */
  recordGatewayInvocation(event: {
    readonly name: string;
    readonly outcome: string;
    readonly durationMs: number;
    readonly fuelUsed: bigint;
  }): void;
  /** One invocation across the mesh: `outbound` this node asked a peer, `inbound` a peer asked this node. */
  recordRemoteInvocation(event: { direction: Direction; outcome: string }): void;
  /** A gossip message judged: `accepted`/`rejected`/`ignored`, or the validator's verdict (`accept-manifest`, `reject`, …). */
  recordGossip(result: GossipResult | string): void;
  /** Module bytes fetched from peers. */
  recordFetchBytes(bytes: number): void;
  /** A host call denied for lack of a capability or outside its scope. */
  recordCapabilityDenied(capability: string): void;
  /**
   * The HostCallDispatcher's `counters` option: host_calls_total, host_calls_denied_total
   * (counted as capability_denied_total), guest_log_lines_total, guest_log_dropped_total.
   */
  readonly hostCallCounters: CounterSink;
  /** Sets or replaces the scrape-time sources (the mesh may start after the metrics). */
  setSources(sources: MetricsSources): void;
}

function finiteNonNegative(value: number | bigint | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'bigint' ? Number(value) : value;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Creates the node's metrics on a fresh registry. */
export function createNodeMetrics(options: NodeMetricsOptions = {}): NodeMetrics {
  const registry = new Registry();
  const registers = [registry];
  const sources: MetricsSources = { ...options };
  const moduleOf = moduleLabel(
    options.maxModuleLabels ?? DEFAULT_MAX_MODULE_LABELS,
    options.knownModule ?? (() => true),
  );
  const outcomeOf = fixedLabel(OUTCOME_LABELS);
  const capabilityOf = fixedLabel(CAPABILITY_LABELS);
  const directionOf = fixedLabel(DIRECTION_LABELS);
  const hostFunctionOf = fixedLabel(HOST_FUNCTION_LABELS);
  const hostResultOf = fixedLabel(HOST_RESULT_LABELS);
  const protocolOf = openLabel();

  const invocations = new Counter({
    name: `${METRIC_PREFIX}invocations_total`,
    help: 'Invocations finished, by module and outcome (ok or an error code).',
    labelNames: ['module', 'outcome'],
    registers,
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}invocation_duration_seconds`,
    help: 'Invocation wall-clock time, queueing included, by module.',
    labelNames: ['module'],
    buckets: [...DURATION_BUCKETS_SECONDS],
    registers,
  });
  const fuel = new Histogram({
    name: `${METRIC_PREFIX}invocation_fuel`,
    help: 'Fuel units an invocation consumed, by module.',
    labelNames: ['module'],
    buckets: [...FUEL_BUCKETS],
    registers,
  });
  const remote = new Counter({
    name: `${METRIC_PREFIX}remote_invocations_total`,
    help: 'Federated invocations: outbound (asked of a peer) and inbound (asked by a peer), by outcome.',
    labelNames: ['direction', 'outcome'],
    registers,
  });
  const gossip = new Counter({
    name: `${METRIC_PREFIX}gossip_messages_total`,
    help: 'Gossip messages judged by the validator, by result (accepted, rejected, ignored).',
    labelNames: ['result'],
    registers,
  });
  const fetchBytes = new Counter({
    name: `${METRIC_PREFIX}fetch_bytes_total`,
    help: 'Module bytes fetched from peers.',
    registers,
  });
  const denied = new Counter({
    name: `${METRIC_PREFIX}capability_denied_total`,
    help: 'Host calls denied (capability not held or outside its scope), by capability.',
    labelNames: ['capability'],
    registers,
  });
  const hostCalls = new Counter({
    name: `${METRIC_PREFIX}host_calls_total`,
    help: 'Host calls made by guests, by host function and result (ok or a host errno name).',
    labelNames: ['function', 'result'],
    registers,
  });
  const guestLogLines = new Counter({
    name: `${METRIC_PREFIX}guest_log_lines_total`,
    help: 'Log lines guests wrote through gojinn.log, by module.',
    labelNames: ['module'],
    registers,
  });
  const guestLogDropped = new Counter({
    name: `${METRIC_PREFIX}guest_log_dropped_total`,
    help: 'Guest log lines dropped by the log limits, by module and reason.',
    labelNames: ['module', 'reason'],
    registers,
  });
  const dropReasonOf = fixedLabel([
    'invocation_lines',
    'invocation_bytes',
    'module_rate',
    'debug_not_enabled',
  ]);

  const readPool = (): PoolStats | undefined => safely(() => sources.pool?.());
  new Gauge({
    name: `${METRIC_PREFIX}pool_queue_depth`,
    help: 'Invocations accepted and waiting for a worker.',
    registers,
    collect() {
      this.set(readPool()?.queueDepth ?? 0);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}pool_workers`,
    help: 'Worker threads alive in the sandbox pool (0 before the first invocation starts it).',
    registers,
    collect() {
      this.set(readPool()?.poolSize ?? 0);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}pool_workers_busy`,
    help: 'Worker threads with an invocation handed to them.',
    registers,
    collect() {
      this.set(readPool()?.busyWorkers ?? 0);
    },
  });
  new Counter({
    name: `${METRIC_PREFIX}pool_worker_restarts_total`,
    help: 'Workers replaced after a timeout or an unexpected exit.',
    registers,
    collect() {
      this.reset();
      this.inc(readPool()?.workerRestarts ?? 0);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}mesh_peers`,
    help: 'Peers connected in the mesh.',
    registers,
    collect() {
      this.set(finiteNonNegative(safely(() => sources.peers?.())) ?? 0);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}libp2p_connections`,
    help: 'Open libp2p connections, by direction.',
    labelNames: ['direction'],
    registers,
    collect() {
      this.reset();
      const stats = safely(() => sources.libp2p?.());
      for (const direction of DIRECTION_LABELS) {
        this.set({ direction }, finiteNonNegative(stats?.connections[direction]) ?? 0);
      }
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}libp2p_streams`,
    help: 'Open libp2p streams, by protocol.',
    labelNames: ['protocol'],
    registers,
    collect() {
      this.reset();
      const stats = safely(() => sources.libp2p?.());
      if (stats === undefined) return;
      const counts = new Map<string, number>();
      safely(() => {
        for (const { protocol, count } of stats.streams) {
          const label = protocolOf(protocol);
          counts.set(label, (counts.get(label) ?? 0) + (finiteNonNegative(count) ?? 0));
        }
      });
      for (const [protocol, count] of counts) this.set({ protocol }, count);
    },
  });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const hostCallCounters: CounterSink = (name, labels) => {
    switch (name) {
      case 'host_calls_total':
        hostCalls.inc({ function: hostFunctionOf(labels.function), result: hostResultOf(labels.result) });
        return;
      case 'host_calls_denied_total':
        denied.inc({ capability: capabilityOf(labels.capability) });
        return;
      case 'guest_log_lines_total':
        guestLogLines.inc({ module: moduleOf(labels.module) });
        return;
      case 'guest_log_dropped_total':
        guestLogDropped.inc({ module: moduleOf(labels.module), reason: dropReasonOf(labels.reason) });
        return;
      default:
      // A counter the capabilities package added later: not exported until it is named here.
    }
  };

  const recordInvocation = (event: InvocationMetric): void => {
    const outcome = outcomeOf(event.outcome);
    // A name that resolved to nothing was chosen by the caller: never a label of its own.
    const module = outcome === 'not_found' ? OTHER_LABEL : moduleOf(event.module);
    invocations.inc({ module, outcome });
    const milliseconds = finiteNonNegative(event.durationMs);
    if (milliseconds !== undefined) duration.observe({ module }, milliseconds / 1000);
    const units = finiteNonNegative(event.fuel);
    if (units !== undefined) fuel.observe({ module }, units);
  };

  // Arrow functions throughout: each method may be passed on unbound (`invocation: metrics.recordGatewayInvocation`).
  return {
    registry,
    contentType: registry.contentType,
    scrape: () => registry.metrics(),
    recordInvocation,
    recordGatewayInvocation: (event) =>
      recordInvocation({
        module: event.name,
        outcome: event.outcome,
        durationMs: event.durationMs,
        ...(event.fuelUsed > 0n ? { fuel: event.fuelUsed } : {}),
      }),
    recordRemoteInvocation: (event) =>
      remote.inc({ direction: directionOf(event.direction), outcome: outcomeOf(event.outcome) }),
    recordGossip: (result) => gossip.inc({ result: gossipResultLabel(result) }),
    recordFetchBytes: (bytes) => {
      const n = finiteNonNegative(bytes);
      if (n !== undefined) fetchBytes.inc(n);
    },
    recordCapabilityDenied: (capability) => denied.inc({ capability: capabilityOf(capability) }),
    hostCallCounters,
    setSources: (next) => {
      Object.assign(sources, next);
    },
  };
}

/** A source that throws must not fail the scrape: its metric reads as absent (0). */
function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** The structural part of a libp2p node `libp2pStatsOf` reads. */
export interface Libp2pConnectionsView {
  getConnections(): readonly {
    readonly direction: string;
    readonly streams: readonly { readonly protocol?: string | undefined }[];
  }[];
}

/** Libp2pStats of a libp2p node: `setSources({ libp2p: () => libp2pStatsOf(node) })`. */
export function libp2pStatsOf(node: Libp2pConnectionsView): Libp2pStats {
  const connections: Record<Direction, number> = { inbound: 0, outbound: 0 };
  const streams = new Map<string, number>();
  for (const connection of node.getConnections()) {
    if (connection.direction === 'inbound' || connection.direction === 'outbound')
      connections[connection.direction]++;
    for (const stream of connection.streams) {
      // A stream still negotiating has no protocol yet.
      const protocol =
        stream.protocol === undefined || stream.protocol === '' ? 'negotiating' : stream.protocol;
      streams.set(protocol, (streams.get(protocol) ?? 0) + 1);
    }
  }
  return { connections, streams: [...streams].map(([protocol, count]) => ({ protocol, count })) };
}
