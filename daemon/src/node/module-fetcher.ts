/**
 * Turns trusted manifests heard on the mesh into installed modules: fetch the bytes by hash
 * from the gossip originator or any DHT provider (protocols/fetch.md), install them through
 * the registry (signature, trust, revocation, rollback, size and hash checked again — nothing
 * is compiled before that), then announce this node as a provider. Bounded: at most
 * `concurrency` fetches at once and `maxPending` waiting; beyond it a manifest is dropped
 * (logged) and comes back with the next catch-up sync.
 */
import { toErrorInfo } from '@gojinn/errors';
import type { JsonObject, Manifest } from '@gojinn/manifest';
import type { PeerId } from '@libp2p/interface';
import type { ModuleRegistry, InstallResult } from '@gojinn/registry';
import type { MeshEventLog } from './mesh-peer.ts';

/** Default fetches running at once. */
export const DEFAULT_FETCH_CONCURRENCY = 2;
/** Default manifests waiting for a fetch; more are dropped until the next sync. */
export const DEFAULT_MAX_PENDING_FETCHES = 256;

export interface FetchProgressEvent {
  name: string;
  version: string;
  received: number;
  total: number;
}

export interface ModuleFetcherOptions {
  registry: Pick<ModuleRegistry, 'install' | 'resolve'>;
  /** Fetches the bytes of one manifest (fetchModule bound to the node), reporting progress. */
  fetchBytes: (
    manifest: Manifest,
    from: PeerId | undefined,
    onProgress: (received: number) => void,
  ) => Promise<Uint8Array>;
  /** Announces this node as a provider of the module's bytes (DHT). */
  announce: (sha256: string) => Promise<void>;
  /** After a successful install (the resolver forgets cached resolutions). */
  onInstalled: (result: InstallResult) => void;
  onProgress?: (event: FetchProgressEvent) => void;
  onFetchedBytes?: (bytes: number) => void;
  log: MeshEventLog;
  concurrency?: number;
  maxPending?: number;
}

function keyOf(manifest: Manifest): string {
  return JSON.stringify([manifest.publisher, manifest.name, manifest.version]);
}

interface Job {
  manifest: Manifest;
  from: PeerId | undefined;
}

export class ModuleFetcher {
  readonly #options: ModuleFetcherOptions;
  readonly #pending: Job[] = [];
  /** Every manifest waiting or being fetched (publisher, name, version): one fetch each. */
  readonly #known = new Set<string>();
  readonly #concurrency: number;
  readonly #maxPending: number;
  #running = 0;
  /** Fetches running now, by module hash: what `gojinn status` shows. */
  readonly #progress = new Map<string, FetchProgressEvent>();
  #stopped = false;
  readonly #idle = new Set<() => void>();

  constructor(options: ModuleFetcherOptions) {
    this.#options = options;
    this.#concurrency = options.concurrency ?? DEFAULT_FETCH_CONCURRENCY;
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_FETCHES;
  }

  /** Fetches and installs the module of a trusted manifest, unless it is already here or queued. */
  enqueue(manifest: Manifest, from: PeerId | undefined): void {
    const key = keyOf(manifest);
    if (this.#stopped || this.#known.has(key)) return;
    if (this.#pending.length >= this.#maxPending) {
      this.#options.log('warn', 'fetch_dropped', {
        name: manifest.name,
        version: manifest.version,
        reason: `more than ${this.#maxPending} fetches waiting (maxPending); the next sync brings it back`,
      });
      return;
    }
    this.#known.add(key);
    this.#pending.push({ manifest, from });
    this.#pump();
  }

  /** The fetches running now, with bytes received so far. */
  inProgress(): FetchProgressEvent[] {
    return [...this.#progress.values()].map((event) => ({ ...event }));
  }

  /** Fetches waiting or running. */
  get size(): number {
    return this.#pending.length + this.#running;
  }

  /** Resolves when nothing is waiting or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** Drops what waits; running fetches finish (their installs are atomic). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const job of this.#pending.splice(0)) this.#known.delete(keyOf(job.manifest));
    await this.idle();
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#pending.length > 0) {
      const job = this.#pending.shift() as Job;
      this.#running++;
      void this.#run(job).finally(() => {
        this.#running--;
        this.#known.delete(keyOf(job.manifest));
        if (this.size === 0) {
          const waiting = [...this.#idle];
          this.#idle.clear();
          for (const resolve of waiting) resolve();
        } else this.#pump();
      });
    }
  }

  async #run({ manifest, from }: Job): Promise<void> {
    const { registry, log } = this.#options;
    const label: JsonObject = { name: manifest.name, version: manifest.version, sha256: manifest.sha256 };
    try {
      if (await this.#alreadyInstalled(manifest)) return;
      const started = performance.now();
      const progress = { name: manifest.name, version: manifest.version, received: 0, total: manifest.size };
      this.#progress.set(keyOf(manifest), progress);
      const bytes = await this.#options
        .fetchBytes(manifest, from, (received) => {
          progress.received = received;
          this.#options.onProgress?.({ ...progress });
        })
        .finally(() => this.#progress.delete(keyOf(manifest)));
      this.#options.onFetchedBytes?.(bytes.byteLength);
      const result = await registry.install(bytes, new TextEncoder().encode(JSON.stringify(manifest)));
      this.#options.onInstalled(result);
      log('info', 'module_fetched', {
        ...label,
        bytes: bytes.byteLength,
        ms: Math.round(performance.now() - started),
        active: result.state.active,
      });
      await this.#options.announce(manifest.sha256).catch((error: unknown) => {
        log('warn', 'provide_failed', { ...label, error: toErrorInfo(error).message });
      });
    } catch (error) {
      const info = toErrorInfo(error);
      log(info.code === 'rollback' ? 'info' : 'warn', 'fetch_failed', {
        ...label,
        code: info.code,
        error: info.message,
      });
    }
  }

  async #alreadyInstalled(manifest: Manifest): Promise<boolean> {
    try {
      const here = await this.#options.registry.resolve(manifest.name, manifest.publisher);
      return here.verified.manifest.version === manifest.version && here.verified.sha256 === manifest.sha256;
    } catch {
      return false;
    }
  }
}
