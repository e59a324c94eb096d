import type { JsonObject, JsonValue, Revocation } from '@gojinn/manifest';
import type { InstallResult, ModuleRegistry } from '@gojinn/registry';
import type { GuestRequest, InvocationOutcome } from '@gojinn/sandbox';
import type { PersistentApiKeys } from '../api-keys/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { PeerPolicy } from '../config/node-config.ts';
import type { PolicyStore } from '../policies/index.ts';
import type { AdminLimits } from './limits.ts';

/** One connected peer as the mesh reports it (`GET /v1/peers`). */
export interface AdminPeer {
  id: string;
  addresses: readonly string[];
  /** Round-trip time of the last ping, when known. */
  latencyMs?: number;
}

/** What `onPublished` receives: the install result and the exact signed manifest bytes to announce. */
export interface PublishedModule {
  install: InstallResult;
  manifestBytes: Uint8Array;
}

/** What `onPublished` answers: how many peers the announcement reached (gossip recipients). */
export interface PublishAnnouncement {
  recipients: number;
}

/** `POST /v1/invoke` as the daemon's router receives it. */
export interface AdminInvokeCall {
  name: string;
  /** The guest request; a fresh random `trace_id` when the caller gave none. */
  request: GuestRequest;
  /** Run on a peer even when the module is installed here. */
  remote: boolean;
  /** Run on this peer (a peer id). */
  peer?: string;
  /** Re-run a deterministic remote call here and compare with the receipt. */
  verify?: boolean;
}

export interface AdminInvokeResult {
  outcome: InvocationOutcome;
  /** The serving peer's signed receipt, for a federated call. */
  receipt?: JsonValue;
  /** Peer id of the node that ran the call (this node's own for a local run). */
  servedBy: string;
  /** With `verify`, for a remote run: the local re-execution's verdict. */
  reExecution?: 'match' | 'mismatch' | 'not_comparable';
}

/** The secret store's listing (names only): @gojinn/capabilities SecretStore fits. */
export interface SecretNames {
  list(moduleName?: string): Promise<Array<{ module: string; publisher: string; name: string }>>;
}

export interface AdminServerOptions {
  /** The node's admin token (`readAdminToken(dataDir)`). */
  token: string;
  registry: ModuleRegistry;
  /** Where every authenticated request is recorded. */
  audit: AuditLog;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8081; 0 picks a free port. */
  port?: number;
  /** Permit a non-loopback `host` (exposes the admin API to the network). Default false. */
  allowNonLoopback?: boolean;
  /** Extra fields for GET /v1/status (pool, peers, ... as the daemon has them). */
  status?: () => JsonObject;
  limits?: Partial<AdminLimits>;
  /** The mesh's connected peers (`GET /v1/peers`); without it that route is `not_found`. */
  mesh?: { peers(): readonly AdminPeer[] | Promise<readonly AdminPeer[]> };
  /**
   * Called after a publish installed a module (also when it was already installed): the daemon
   * announces it on the mesh. A failure is reported in the answer; the install stays.
   */
  onPublished?: (
    published: PublishedModule,
  ) => Promise<PublishAnnouncement | void> | PublishAnnouncement | void;
  /**
   * Called after `POST /v1/revocations` applied a revocation: the daemon announces it on the
   * mesh (gossip) so it takes effect on every node, and drops cached resolutions. A failure is
   * reported in the answer; the revocation stays applied here.
   */
  onRevoked?: (revocation: Revocation) => Promise<PublishAnnouncement | void> | PublishAnnouncement | void;
  /** Per-peer policies set through the admin API; without it the policy routes are `not_found`. */
  policies?: PolicyStore;
  /** The config's [[peers]]: the admin API's policies override them by peer id. */
  configPeers?: readonly PeerPolicy[];
  /** Called with every effective policy after each change, so the mesh applies them live. */
  onPoliciesChanged?: (all: readonly PeerPolicy[]) => Promise<void> | void;
  /** Secret names for `GET /v1/secrets` (never values); without it that route is `not_found`. */
  secrets?: SecretNames;
  /** API keys shared with the gateway; without it the api-keys routes are `not_found`. */
  apiKeys?: PersistentApiKeys;
  /**
   * Each request refused for a missing or wrong token (after the 401 is sent): the caller's
   * address and whether a token was presented — never the token itself.
   */
  onUnauthorized?: (event: { address: string; presented: boolean }) => void;
  /** Runs `POST /v1/invoke` (locally or on a peer); without it that route is `not_found`. */
  invoke?: (call: AdminInvokeCall) => Promise<AdminInvokeResult>;
}
