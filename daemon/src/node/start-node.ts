/**
 * One local node from the parts: the store (this process its one owner), the registry under
 * the config's trust, the sandbox and its worker pool, the capability dispatcher (kv, db,
 * secrets, http), the signed audit log, the libp2p peer with manifest gossip (mesh-peer.ts),
 * the gateway and the admin API. docs/quickstart.md shows it running; `gojinn daemon` is its
 * command.
 */
import {
  DbQueryHandler,
  HOST_IMPORTS_URL,
  HostCallDispatcher,
  MASTER_KEY_ENV,
  KvStore,
  createKvHandlers,
  createSecretsCapability,
  httpCapability,
  type LogRecord,
} from '@gojinn/capabilities';
import { GojinnError, toErrorInfo } from '@gojinn/errors';
import { ModuleRegistry } from '@gojinn/registry';
import { Sandbox, type InvocationLimits } from '@gojinn/sandbox';
import { openStore } from '@gojinn/store';
import { createAdminServer, readAdminToken } from '../admin/index.ts';
import { PersistentApiKeys } from '../api-keys/index.ts';
import { PolicyStore, effectivePolicies } from '../policies/index.ts';
import { adminInvoke } from './admin-invoke.ts';
import { AUDIT_AGE_PRUNE_INTERVAL_MS, AuditLog, auditKeyPairFromNodeKey } from '../audit/index.ts';
import type { NodeConfig } from '../config/index.ts';
import {
  ApiKeyStore,
  createGateway,
  createLocalResolver,
  listen,
  type LocalResolver,
} from '../gateway/index.ts';
import { Shutdown } from './lifecycle.ts';
import {
  SensitiveStrings,
  createNodeLogger,
  createNodeMetrics,
  eventLogger,
  internalErrorLogger,
  libp2pStatsOf,
  logRecordSink,
  loadOrCreateMetricsToken,
  startMetricsServer,
  type NodeLogger,
  type NodeMetrics,
} from '../observability/index.ts';
import type { MeshPeer } from './mesh-peer.ts';
import { createModuleExecutor } from './module-executor.ts';
import { createRoutedResolver } from './routed-resolver.ts';

/** Default `drainMs`: how long `stop()` lets in-flight gateway calls finish before cutting them. */
export const DEFAULT_STOP_DRAIN_MS = 5_000;

export interface StartNodeOptions {
  /** The node's logger. Default: JSON lines on stderr at config.logging.level, secrets scrubbed. */
  logger?: NodeLogger;
  /** Ms `stop()` waits for in-flight calls before closing their connections. Default DEFAULT_STOP_DRAIN_MS. */
  drainMs?: number;
  /** Where GOJINN_MASTER_KEY is looked up (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The node's log lines (guest logs, security events, host errors). Default: JSON lines on stderr. */
  log?: (record: LogRecord) => void;
  /**
   * Errors the gateway hides from callers (they see 500 internal with a trace id). Default: a
   * JSON line on stderr with the function name, trace id and error, unless logging.level is silent.
   */
  onInternalError?: (error: unknown, context: { name: string; traceId: string }) => void;
}

export interface RunningNode {
  /** e.g. http://127.0.0.1:8080 — functions are under /fn/<name>. */
  readonly gatewayUrl: string;
  /** e.g. http://127.0.0.1:9464 — Prometheus text at /metrics; undefined when [metrics] enabled = false. */
  readonly metricsUrl: string | undefined;
  readonly metrics: NodeMetrics;
  /** e.g. http://127.0.0.1:8081 — bearer token in <dataDir>/admin.token. */
  readonly adminUrl: string;
  /** The libp2p peer id of <dataDir>/node.key (also the audit log's signer). */
  readonly peerId: string;
  /** The libp2p peer's listen addresses, each ending in /p2p/<peerId> (for other nodes' bootstrap). */
  readonly meshAddresses: string[];
  readonly registry: ModuleRegistry;
  /** The running libp2p side (gossip, peers). */
  readonly mesh: MeshPeer;
  /** The node's signed audit log (admin actions, receipts). */
  readonly audit: AuditLog;
  /** Clear cached resolutions after installing or revoking through `registry` directly. */
  readonly resolver: LocalResolver;
  /** Stops accepting, drains in-flight calls (bounded by drainMs), then closes everything. Idempotent. */
  stop(): Promise<void>;
}

/** Runs one start step; a failure becomes a GojinnError naming the step (its code kept). */
async function step<T>(what: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const info = toErrorInfo(error);
    const detail = error instanceof GojinnError ? info.message : (error as Error).message;
    throw new GojinnError(info.code, `starting the node: ${what} failed: ${detail}`);
  }
}

/**
 * Starts a node from its config. Every part opened so far is closed again when a later one
 * fails, so a failed start leaves the store unlocked and no port bound.
 */
export async function startNode(config: NodeConfig, options: StartNodeOptions = {}): Promise<RunningNode> {
  const dataDir = config.node.dataDir;
  const shutdown = new Shutdown();
  try {
    const token = await step(`reading the admin token in ${dataDir}`, () => readAdminToken(dataDir));
    // Every log line is scrubbed of these (the admin token first; secrets and API keys as seen).
    const sensitive = new SensitiveStrings();
    sensitive.add(token, { pinned: true });
    const masterKeyText = (options.env ?? process.env)[MASTER_KEY_ENV];
    if (masterKeyText !== undefined && masterKeyText !== '') sensitive.add(masterKeyText, { pinned: true });
    const metricsToken =
      config.metrics.enabled && config.metrics.requireToken
        ? await step(`reading the metrics token in ${dataDir}`, () => loadOrCreateMetricsToken(dataDir))
        : undefined;
    if (metricsToken !== undefined) sensitive.add(metricsToken, { pinned: true });
    const logger =
      options.logger ?? createNodeLogger({ level: config.logging.level, secrets: () => sensitive });
    const metrics = createNodeMetrics({});
    const identity = await step(`loading the node identity in ${dataDir}`, async () => {
      // Loaded here, not at the top: libp2p is heavy, and other users of @gojinn/daemon
      // (gojinn init, audit, the gateway tests) should not pay for it.
      const { loadOrCreateNodeIdentity } = await import('@gojinn/mesh');
      return loadOrCreateNodeIdentity(dataDir);
    });
    const store = await step(`opening the store in ${dataDir}`, () => openStore(dataDir));
    shutdown.add('store', () => store.close());
    const registry = await step(
      'building the registry trust policy',
      () => new ModuleRegistry({ store, trust: config.trust }),
    );
    const audit = await step('opening the audit log', () =>
      AuditLog.open(store.extension('audit'), {
        signingKey: auditKeyPairFromNodeKey(identity.privateKey),
        retention: config.audit,
        // A refusal (what it would delete does not verify) stops pruning until the next start.
        onPruneError: (error) =>
          logger.error({ event: 'audit_prune_failed', error: toErrorInfo(error).message }),
      }),
    );
    // An idle node appends nothing, so the age bound also gets a timer. On stop (after the
    // stop entry) the timer goes and the prune step that follows any append is awaited, so
    // the store never closes under one.
    const pruneTimer =
      config.audit.maxAgeDays > 0
        ? setInterval(() => void audit.prune(), AUDIT_AGE_PRUNE_INTERVAL_MS).unref()
        : undefined;
    shutdown.add('audit pruning', async () => {
      clearInterval(pruneTimer);
      await audit.idle();
    });
    const limits: InvocationLimits = {
      fuel: config.limits.fuel,
      memoryBytes: config.limits.memoryBytes,
      timeoutMs: config.limits.timeoutMs,
      maxStdoutBytes: config.limits.maxStdoutBytes,
      maxStderrBytes: config.limits.maxStderrBytes,
      maxStdinBytes: config.limits.maxStdinBytes,
    };
    const sandbox = await step(
      'creating the sandbox',
      () =>
        new Sandbox({
          ceilings: limits,
          defaults: limits,
          pool: {
            size: config.limits.poolSize,
            maxQueue: config.limits.maxQueue,
            hostImportsUrl: HOST_IMPORTS_URL,
          },
        }),
    );
    shutdown.add('sandbox', () => sandbox.close());
    const db = await step(`creating the db capability in ${dataDir}`, () => new DbQueryHandler({ dataDir }));
    shutdown.add('db executors', () => db.close());
    // Runs after the gateway and admin API have stopped (the stack closes newest first), so
    // the stop entry is the last one this run writes. Only written once the start was.
    let started = false;
    shutdown.add('audit log', async () => {
      if (started) await audit.append('node', { event: 'stop', peerId: identity.peerId.toString() });
    });
    const revealed = new TextDecoder('utf-8', { fatal: false });
    const secrets = createSecretsCapability({
      store,
      dataDir,
      env: options.env ?? process.env,
      onReveal: (value) => sensitive.add(revealed.decode(value)),
    });
    const http = await step('creating the http capability', () =>
      httpCapability({ allowedRanges: config.http.allowedRanges }),
    );
    const dispatcher = new HostCallDispatcher({
      log: options.log ?? logRecordSink(logger),
      counters: metrics.hostCallCounters,
      handlers: [...createKvHandlers(new KvStore(store.extension('kv'))), db, secrets.handler, http],
      allowDebug: config.grants.allowDebug,
    });
    const resolver = createLocalResolver({ registry, sandbox, dispatcher, grants: config.grants, limits });
    const policies = await step('opening the per-peer policies', () =>
      PolicyStore.open(store.extension('policies')),
    );
    const gatewayKeys = new ApiKeyStore();
    const apiKeys = await step('opening the API keys', () =>
      PersistentApiKeys.open(store.extension('api-keys'), { keys: gatewayKeys }),
    );
    const mesh = await step(`starting the libp2p peer on ${config.listen.addresses.join(', ')}`, async () => {
      const { startMeshPeer } = await import('./mesh-peer.ts');
      const { LevelGossipLedger } = await import('@gojinn/mesh');
      const log = eventLogger(logger);
      return startMeshPeer({
        config,
        registry,
        privateKey: identity.privateKey,
        maxModuleBytes: sandbox.moduleLimits.maxModuleBytes,
        ledger: await LevelGossipLedger.open(store.extension('gossip'), { trust: registry.trust }),
        executor: createModuleExecutor({ registry, sandbox, dispatcher, grants: config.grants, limits }),
        policies: effectivePolicies(config.peers, policies.list()).map((entry) => entry.policy),
        record: (kind, data) => {
          audit.append(kind, data).catch((error: unknown) => {
            log('error', 'audit_append_failed', { kind, error: toErrorInfo(error).message });
          });
        },
        onRevoked: () => resolver.invalidate(),
        onGossipResult: metrics.recordGossip,
        onFetchedBytes: metrics.recordFetchBytes,
        onRemoteInvocation: metrics.recordRemoteInvocation,
        onInstalled: (result) => resolver.invalidate(result.record.name),
        log,
      });
    });
    shutdown.add('libp2p peer', () => mesh.stop());
    const gateway = createGateway({
      apiKeys: gatewayKeys,
      resolver: createRoutedResolver({ local: resolver, mesh, deadlineMs: config.limits.timeoutMs }),
      events: {
        internalError: options.onInternalError ?? internalErrorLogger(logger),
        invocation: (event) => {
          metrics.recordGatewayInvocation(event);
          // Every invocation is in the signed audit log (group commit keeps this off the
          // request's critical path: the response does not wait for the fsync).
          audit
            .append('invocation', {
              name: event.name,
              traceId: event.traceId,
              outcome: event.outcome,
              durationMs: Math.round(event.durationMs * 1000) / 1000,
              fuelUsed: event.fuelUsed.toString(),
            })
            .catch((error: unknown) => {
              logger.error({ event: 'audit_append_failed', error: toErrorInfo(error).message });
            });
        },
      },
      publicFunctions: config.gateway.publicFunctions,
      limits: { maxBodyBytes: config.gateway.maxBodyBytes },
      ipRateLimit: { perSecond: config.gateway.ipRatePerSecond, burst: config.gateway.ipRatePerSecond * 2 },
      ...(config.gateway.corsOrigins.length === 0 ? {} : { cors: { origins: config.gateway.corsOrigins } }),
    });
    const peerId = identity.peerId.toString();
    let metricsUrl: string | undefined;
    let unauthorized = 0;
    let lastUnauthorizedLog = 0;
    const listening = await step(
      `binding the gateway to ${config.gateway.listen.host}:${config.gateway.listen.port}`,
      () =>
        listen(gateway, {
          host: config.gateway.listen.host,
          port: config.gateway.listen.port,
          drainMs: options.drainMs ?? DEFAULT_STOP_DRAIN_MS,
        }),
    );
    // Closed first on stop: stop accepting and let in-flight calls finish before the pool goes.
    shutdown.add('gateway', () => listening.close());
    const admin = await step(
      `binding the admin API to ${config.admin.listen.host}:${config.admin.listen.port}`,
      () =>
        createAdminServer({
          token,
          registry,
          audit,
          host: config.admin.listen.host,
          port: config.admin.listen.port,
          allowNonLoopback: config.admin.allowNonLoopback,
          status: () => {
            const fetching = mesh.fetcher.inProgress();
            return {
              peerId,
              inFlight: gateway.inFlight,
              mode: config.node.mode,
              peers: mesh.peers().length,
              addresses: mesh.addresses(),
              fetching: fetching.map((f) => ({ ...f })),
              fetchesWaiting: Math.max(0, mesh.fetcher.size - fetching.length),
            };
          },
          mesh: { peers: () => mesh.peers() },
          onPublished: async ({ install }) => {
            resolver.invalidate(install.record.name);
            return mesh.publish(install.verified.manifest);
          },
          onRevoked: async (revocation) => {
            resolver.invalidate();
            const result = await mesh.gossip.publishRevocation(revocation);
            return { recipients: result.recipients.length };
          },
          policies,
          configPeers: config.peers,
          onPoliciesChanged: (all) => mesh.policies.setPolicies(all),
          secrets: secrets.secrets,
          apiKeys,
          onUnauthorized: (event) => {
            unauthorized++;
            // At most one warning a second, with the count since the last one.
            const now = Date.now();
            if (now - lastUnauthorizedLog < 1000) return;
            lastUnauthorizedLog = now;
            logger.warn({ event: 'admin_unauthorized', ...event, refusedSinceLastLine: unauthorized });
            unauthorized = 0;
          },
          invoke: (call) => adminInvoke(mesh, peerId, call, config.limits.timeoutMs),
        }),
    );
    shutdown.add('admin API', () => admin.close());
    metrics.setSources({
      pool: () => sandbox.pool,
      peers: () => mesh.peers().length,
      libp2p: () => libp2pStatsOf(mesh.node.libp2p),
    });
    if (config.metrics.enabled) {
      const served = await step(
        `binding the metrics listener to ${config.metrics.listen.host}:${config.metrics.listen.port}`,
        () =>
          startMetricsServer({
            metrics,
            host: config.metrics.listen.host,
            port: config.metrics.listen.port,
            allowNonLoopback: config.metrics.allowNonLoopback,
            ...(metricsToken === undefined ? {} : { token: metricsToken }),
          }),
      );
      metricsUrl = served.url;
      shutdown.add('metrics listener', () => served.close());
    }
    // limits.warmPool: workers start now rather than on the first call (which otherwise waits
    // ~0.1–0.3 s for them); they run only the built-in warm-up guest. Not awaited: the node is
    // serving. Off by default: each idle worker thread costs ~15 MiB (a V8 isolate and Node's
    // bootstrap), which would put an idle node over its 100 MB budget (docs/gateway.md).
    if (config.limits.warmPool) {
      sandbox.warmUp().catch((error: unknown) => {
        logger.warn({ event: 'pool_warm_up_failed', error: toErrorInfo(error).message });
      });
    }
    await audit.append('node', { event: 'start', peerId, gateway: listening.url, admin: admin.url });
    started = true;
    return {
      gatewayUrl: listening.url,
      adminUrl: admin.url,
      metricsUrl,
      metrics,
      peerId,
      meshAddresses: mesh.addresses(),
      registry,
      mesh,
      audit,
      resolver,
      stop: () => shutdown.run(),
    };
  } catch (error) {
    await shutdown.run().catch(() => undefined);
    throw error;
  }
}
