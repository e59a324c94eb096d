/**
 * The registry as the fetch protocol's ModuleSource, serving chunks from bytes it verified once.
 *
 * A fetch asks for a module in chunks of at most 1 MiB, and the server asks its source for the
 * size and one range per chunk. `registry.get` reads the whole module and re-hashes it, so
 * calling it per chunk made a 16 MiB module cost 17 whole reads and hashes on the serving node,
 * at any peer's request. Here the first `size`/`read` of a hash goes through `registry.get` (every
 * check of the registry) and keeps the verified bytes in an LRU bounded by total bytes and by
 * entries, each entry dropped after an idle TTL. Every `read` that did not itself load the bytes
 * first asks `registry.servedRecord` — index, revocation and record lookups, no bytes read or
 * hashed — so a module removed or revoked since is refused (`not_found` / `revoked`) and dropped
 * from the cache: not one more chunk is served from memory. Concurrent first reads of a hash
 * share one load.
 */
import { performance } from 'node:perf_hooks';
import { GojinnError, raceAbort } from '@gojinn/errors';
import { requirePositiveIntegers, type ModuleSource } from '@gojinn/mesh';
import type { ModuleRegistry } from '@gojinn/registry';

/**
 * Verified module bytes kept for serving, in total. 64 MiB holds four modules at the store's
 * default size limit (16 MiB), enough for the few modules being fetched at once after a
 * publish, and is a fixed figure an operator can budget for whatever the traffic. A module
 * larger than this is still served, but read through the registry for every chunk.
 */
export const DEFAULT_SERVED_CACHE_BYTES = 64 * 1024 * 1024;

/** Modules kept at most, however small (bounds the per-entry overhead of many tiny modules). */
export const DEFAULT_SERVED_CACHE_ENTRIES = 256;

/**
 * A kept module not read for this long is dropped, so the memory goes back once peers stop
 * fetching (a sweep runs every TTL while anything is kept: freed at most 2 × TTL after the last
 * read). 30 s spans the gaps between a fetch's chunks and between peers fetching one new module.
 */
export const DEFAULT_SERVED_CACHE_TTL_MS = 30_000;

/** What the source needs of the registry: the full, verifying read and the cheap served check. */
export type ServingRegistry = Pick<ModuleRegistry, 'get' | 'servedRecord'>;

export interface RegistryModuleSourceOptions {
  registry: ServingRegistry;
  /** Total bytes kept. Default DEFAULT_SERVED_CACHE_BYTES (64 MiB). */
  maxBytes?: number;
  /** Modules kept. Default DEFAULT_SERVED_CACHE_ENTRIES (256). */
  maxEntries?: number;
  /** Idle time after which a kept module is dropped, ms. Default DEFAULT_SERVED_CACHE_TTL_MS (30 s). */
  ttlMs?: number;
  /** Monotonic clock in ms (tests inject one). Default performance.now. */
  now?: () => number;
}

interface Entry {
  /** The module's bytes as registry.get returned them: hash and manifest checked. */
  bytes: Uint8Array;
  /** The manifest of the record they were served under: a different record means load again. */
  manifestHash: string;
  lastUsed: number;
}

export class RegistryModuleSource implements ModuleSource {
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly #registry: ServingRegistry;
  readonly #now: () => number;
  /** Map order is recency order: the first entry is the least recently used. */
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<Entry>>();
  #bytes = 0;
  #sweep: NodeJS.Timeout | undefined;

  constructor(options: RegistryModuleSourceOptions) {
    this.#registry = options.registry;
    const bounds = {
      maxBytes: options.maxBytes ?? DEFAULT_SERVED_CACHE_BYTES,
      maxEntries: options.maxEntries ?? DEFAULT_SERVED_CACHE_ENTRIES,
      ttlMs: options.ttlMs ?? DEFAULT_SERVED_CACHE_TTL_MS,
    };
    requirePositiveIntegers(bounds, ['maxBytes', 'maxEntries', 'ttlMs']);
    this.maxBytes = bounds.maxBytes;
    this.maxEntries = bounds.maxEntries;
    this.ttlMs = bounds.ttlMs;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Bytes of the modules kept now. */
  get cachedBytes(): number {
    return this.#bytes;
  }

  /** The hashes kept now, least recently used first. */
  cachedHashes(): string[] {
    return [...this.#entries.keys()];
  }

  async size(sha256: string): Promise<number | undefined> {
    // A kept module's size needs no check: the read that follows checks before any byte goes out.
    const kept = this.#touch(sha256);
    if (kept !== undefined) return kept.bytes.byteLength;
    try {
      return (await this.#loadOrJoin(sha256)).entry.bytes.byteLength;
    } catch (error) {
      if (error instanceof GojinnError && error.code === 'not_found') return undefined;
      throw error;
    }
  }

  async read(sha256: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    let entry = this.#touch(sha256);
    if (entry === undefined) {
      const loaded = await untilAborted(this.#loadOrJoin(sha256), signal);
      // This call's own load went through registry.get after the read began: checked already.
      if (loaded.fresh) return rangeOf(loaded.entry, offset, length);
      entry = loaded.entry;
    }
    const record = await untilAborted(this.#stillServed(sha256, entry), signal);
    if (record.manifestHash !== entry.manifestHash) {
      // Served under another record now (its twin with the same bytes was revoked or removed):
      // take that record's full check rather than vouch for it with the old one's.
      this.#drop(sha256, entry);
      entry = (await untilAborted(this.#load(sha256), signal)).entry;
    }
    return rangeOf(entry, offset, length);
  }

  /** Drops every kept module whose TTL ran out (called on each use and by the sweep timer). */
  evictExpired(): void {
    const now = this.#now();
    for (const [sha256, entry] of this.#entries) {
      if (now - entry.lastUsed < this.ttlMs) break; // recency order: the rest were used later
      this.#drop(sha256, entry);
    }
    this.#stopSweepIfEmpty();
  }

  /** Drops everything kept (loads in flight finish and keep their result). */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
    this.#stopSweepIfEmpty();
  }

  /** The kept entry, marked as just used; undefined when not kept (or expired). */
  #touch(sha256: string): Entry | undefined {
    this.evictExpired();
    const entry = this.#entries.get(sha256);
    if (entry === undefined) return undefined;
    this.#entries.delete(sha256);
    this.#entries.set(sha256, entry);
    entry.lastUsed = this.#now();
    return entry;
  }

  /** `registry.servedRecord`; `revoked` / `not_found` also drop the entry before they reach the caller. */
  async #stillServed(sha256: string, entry: Entry) {
    try {
      return await this.#registry.servedRecord(sha256);
    } catch (error) {
      this.#drop(sha256, entry);
      throw error;
    }
  }

  /** Joins the load of `sha256` in flight, or starts one. `fresh`: this call started it. */
  async #loadOrJoin(sha256: string): Promise<{ entry: Entry; fresh: boolean }> {
    const pending = this.#loading.get(sha256);
    if (pending !== undefined) return { entry: await pending, fresh: false };
    return this.#load(sha256);
  }

  /** A full read through the registry (every check), kept if it fits; shared while in flight. */
  async #load(sha256: string): Promise<{ entry: Entry; fresh: true }> {
    const load = this.#registry.get(sha256).then(({ moduleBytes, record }) => {
      const entry: Entry = { bytes: moduleBytes, manifestHash: record.manifestHash, lastUsed: this.#now() };
      this.#keep(sha256, entry);
      return entry;
    });
    this.#loading.set(sha256, load);
    const done = (): void => {
      if (this.#loading.get(sha256) === load) this.#loading.delete(sha256);
    };
    // Also marks the load as handled when every waiter has gone (aborted).
    load.then(done, done);
    return { entry: await load, fresh: true };
  }

  #keep(sha256: string, entry: Entry): void {
    const existing = this.#entries.get(sha256);
    if (existing !== undefined) this.#drop(sha256, existing);
    if (entry.bytes.byteLength > this.maxBytes) return; // served, never kept
    this.#entries.set(sha256, entry);
    this.#bytes += entry.bytes.byteLength;
    for (const [oldest, kept] of this.#entries) {
      if (this.#bytes <= this.maxBytes && this.#entries.size <= this.maxEntries) break;
      this.#drop(oldest, kept);
    }
    if (this.#sweep === undefined && this.#entries.size > 0) {
      this.#sweep = setInterval(() => this.evictExpired(), this.ttlMs);
      this.#sweep.unref(); // never keeps the process alive
    }
  }

  /** Removes `entry` if it is still the one kept for `sha256` (a newer load may have replaced it). */
  #drop(sha256: string, entry: Entry): void {
    if (this.#entries.get(sha256) !== entry) return;
    this.#entries.delete(sha256);
    this.#bytes -= entry.bytes.byteLength;
  }

  #stopSweepIfEmpty(): void {
    if (this.#entries.size > 0 || this.#sweep === undefined) return;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }
}

function rangeOf(entry: Entry, offset: number, length: number): Uint8Array {
  return entry.bytes.subarray(offset, offset + length);
}

/**
 * `promise`, or the signal's reason as soon as it aborts: a caller that left frees its fetch
 * slot at once; the shared load goes on for the others and is kept.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return signal === undefined ? promise : raceAbort(promise, signal);
}
