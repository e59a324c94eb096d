export {
  LOG_LEVELS,
  createNodeLogger,
  type LogLevel,
  type NodeLogger,
  type NodeLoggerOptions,
} from './logger.ts';
export { eventLogger, internalErrorLogger, logRecordSink } from './log-adapters.ts';
export {
  CREDENTIAL_PATTERNS,
  MAX_SENSITIVE_STRINGS,
  MIN_SCRUBBED_LENGTH,
  REDACTED,
  SensitiveStrings,
  createScrubber,
} from './redaction.ts';
export { INDEXED_REPLACE_THRESHOLD, replacerOf } from './replace-all.ts';
export { MAX_REDACT_DEPTH, SENSITIVE_KEYS, redactSensitiveFields } from './sensitive-fields.ts';
export {
  CAPABILITY_LABELS,
  DEFAULT_MAX_MODULE_LABELS,
  DIRECTION_LABELS,
  GOSSIP_RESULT_LABELS,
  HOST_FUNCTION_LABELS,
  HOST_RESULT_LABELS,
  MAX_OPEN_LABEL_LENGTH,
  MAX_OPEN_LABEL_VALUES,
  OTHER_LABEL,
  OUTCOME_LABELS,
  type Direction,
  type GossipResult,
} from './labels.ts';
export {
  DURATION_BUCKETS_SECONDS,
  FUEL_BUCKETS,
  METRIC_PREFIX,
  createNodeMetrics,
  libp2pStatsOf,
  type InvocationMetric,
  type Libp2pConnectionsView,
  type Libp2pStats,
  type MetricsSources,
  type NodeMetrics,
  type NodeMetricsOptions,
  type PoolStats,
} from './metrics.ts';
export {
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PORT,
  DEFAULT_METRICS_SERVER_LIMITS,
  startMetricsServer,
  type MetricsServer,
  type MetricsServerLimits,
  type MetricsServerOptions,
} from './metrics-server.ts';
export { METRICS_TOKEN_FILE, loadOrCreateMetricsToken } from './metrics-token.ts';
