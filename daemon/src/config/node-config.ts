import type { CapabilityRights, NodeGrants } from '@gojinn/capabilities';
import type { ListenAddress } from './value-kinds.ts';

/**
 * The node's configuration as the daemon uses it: parsed once from config.toml, every default
 * filled in, deeply frozen. docs/config.md describes each key; schema.ts is the source.
 */
export interface NodeConfig {
  /** The file it was read from; undefined when built from defaults alone. */
  readonly file: string | undefined;
  readonly node: {
    /** Absolute. */
    readonly dataDir: string;
    readonly mode: 'strict' | 'development';
    readonly allowDebug: boolean;
  };
  readonly listen: { readonly addresses: readonly string[] };
  readonly mesh: {
    readonly bootstrap: readonly string[];
    readonly mdns: boolean;
    readonly maxConnections: number;
    /** Empty: any peer may connect. */
    readonly allowPeers: readonly string[];
    readonly unknownPeers: 'deny' | 'allow';
  };
  readonly trust: { readonly publishers: readonly string[]; readonly operators: readonly string[] };
  /** [[grants]] parsed by @gojinn/capabilities parseGrants; allowDebug is node.allowDebug. */
  readonly grants: NodeGrants;
  readonly peers: readonly PeerPolicy[];
  readonly limits: {
    readonly fuel: bigint;
    readonly memoryBytes: number;
    readonly timeoutMs: number;
    readonly maxStdoutBytes: number;
    readonly maxStderrBytes: number;
    readonly maxStdinBytes: number;
    /** Resolved: 0 in the file becomes the number of CPUs. */
    readonly poolSize: number;
    readonly maxQueue: number;
    readonly warmPool: boolean;
  };
  readonly gateway: {
    readonly listen: ListenAddress;
    readonly maxBodyBytes: number;
    readonly publicFunctions: readonly string[];
    readonly corsOrigins: readonly string[];
    readonly ipRatePerSecond: number;
  };
  readonly admin: { readonly listen: ListenAddress; readonly allowNonLoopback: boolean };
  /** Audit log retention; 0 turns a bound off (docs/audit.md, "Retention"). */
  readonly audit: { readonly maxEntries: number; readonly maxAgeDays: number };
  readonly logging: { readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
  readonly metrics: {
    readonly enabled: boolean;
    readonly listen: ListenAddress;
    readonly allowNonLoopback: boolean;
    readonly requireToken: boolean;
  };
  readonly http: { readonly allowedRanges: readonly string[] };
}

/** One [[peers]] entry. */
export interface PeerPolicy {
  readonly id: string;
  /** Module names, or ["*"] for any. */
  readonly modules: readonly string[];
  /** Ceiling on the capabilities the peer's invocations get. */
  readonly capabilities: CapabilityRights;
  readonly ratePerSecond: number;
  readonly maxConcurrent: number;
}
