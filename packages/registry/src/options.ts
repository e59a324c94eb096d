import { GojinnError } from '@gojinn/errors';
import { TrustPolicy, readModuleImports, type ModuleImport, type TrustPolicyInit } from '@gojinn/manifest';
import type { Store } from '@gojinn/store';
import { DEFAULT_VERIFIED_CACHE_ENTRIES } from './verified-cache.ts';

/** Where the registry reports what an operator must see (audit-mode acceptances). */
export interface RegistryLogger {
  warn(message: string): void;
}

export interface ModuleRegistryOptions {
  /** The node's store; the registry does not own it (the caller closes it). */
  store: Store;
  /** Trusted publisher keys and operator keys. Default: trusts nothing (strict). */
  trust?: TrustPolicy | TrustPolicyInit;
  /**
   * Development only: also accept modules whose (valid) signature is by a publisher the node
   * does not trust, logging a loud warning on every acceptance. Refused unless
   * `reachableByPeers` is explicitly false.
   */
  audit?: boolean;
  /** Whether peers can reach this node. Default true: audit mode needs an explicit `false`. */
  reachableByPeers?: boolean;
  /** Default: writes to the process's stderr. */
  logger?: RegistryLogger;
  /**
   * Lists a module's imports without compiling it. Called only after the signature,
   * publisher, revocation, rollback and content-hash checks passed. Default: the manifest
   * package's readModuleImports (the one place that wiring lives).
   */
  readImports?: (moduleBytes: Uint8Array) => readonly ModuleImport[];
  /** Largest module accepted, in bytes. Default: the store's maxBlobBytes (16 MiB). */
  maxModuleBytes?: number;
  /** Verified-module cache size. Default DEFAULT_VERIFIED_CACHE_ENTRIES (4096). */
  verifiedCacheEntries?: number;
}

export interface ResolvedOptions {
  store: Store;
  trust: TrustPolicy;
  audit: boolean;
  logger: RegistryLogger;
  readImports: (moduleBytes: Uint8Array) => readonly ModuleImport[];
  maxModuleBytes: number;
  verifiedCacheEntries: number;
}

const stderrLogger: RegistryLogger = {
  warn: (message) => {
    process.stderr.write(`gojinn WARNING: ${message}\n`);
  },
};

export function resolveOptions(options: ModuleRegistryOptions): ResolvedOptions {
  const audit = options.audit ?? false;
  if (audit && options.reachableByPeers !== false) {
    throw new GojinnError(
      'bad_request',
      'audit mode accepts modules from untrusted publishers and is refused on a node reachable by peers ' +
        '(set reachableByPeers: false for a local development node)',
    );
  }
  const maxModuleBytes = options.maxModuleBytes ?? options.store.limits.maxBlobBytes;
  if (maxModuleBytes > options.store.limits.maxBlobBytes) {
    throw new GojinnError(
      'bad_request',
      `maxModuleBytes ${maxModuleBytes} is above the store's maxBlobBytes ${options.store.limits.maxBlobBytes}`,
    );
  }
  return {
    store: options.store,
    trust: options.trust instanceof TrustPolicy ? options.trust : new TrustPolicy(options.trust ?? {}),
    audit,
    logger: options.logger ?? stderrLogger,
    readImports: options.readImports ?? readModuleImports,
    maxModuleBytes,
    verifiedCacheEntries: options.verifiedCacheEntries ?? DEFAULT_VERIFIED_CACHE_ENTRIES,
  };
}
