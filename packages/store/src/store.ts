import { mkdir, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { GojinnError } from '@gojinn/errors';
import { Level } from 'level';
import { ContentAddressedSublevel } from './content-addressed.ts';
import { StoreCorruptError, StoreLockedError, isLevelCorruption } from './errors.ts';
import { CORE_SUBLEVELS, EXTENSION_SUBLEVELS, LAYOUT_VERSION, type ExtensionSublevelName } from './layout.ts';
import { DEFAULT_STORE_LIMITS, type StoreLimits } from './limits.ts';
import { ModuleIndex } from './module-index.ts';
import {
  encodeModuleRecord,
  encodeModuleState,
  type ModuleKey,
  type ModuleRecord,
  type ModuleState,
} from './records.ts';
import { RevocationStore } from './revocation-store.ts';
import {
  bytesSublevel,
  textSublevel,
  type AtomicWrite,
  type BytesSublevel,
  type RootDatabase,
} from './sublevels.ts';

export interface StoreOptions {
  limits?: Partial<StoreLimits>;
  /**
   * fsync every install, pin and revocation before it resolves (default true). A process
   * crash loses nothing either way (the OS has the write); `sync` also survives power loss.
   */
  sync?: boolean;
}

/** Everything one install writes. The store hashes the bytes itself: keys always match content. */
export interface InstallWrite {
  key: ModuleKey;
  moduleBytes: Uint8Array;
  manifestBytes: Uint8Array;
  capabilities: readonly string[];
  /** The (name, publisher) state after this install, as decided by the caller's policy. */
  state: ModuleState;
  /** Defaults to now. */
  installedAt?: Date;
}

/**
 * Data directories open in THIS process. LevelDB's LOCK file keeps other processes out, but
 * a second open inside the same process fails in a way that releases the first owner's
 * lock (POSIX record locks belong to the process, and closing any descriptor of the file
 * drops them), so the store refuses the second open itself, before LevelDB sees it.
 */
const OPEN_LOCATIONS = new Set<string>();

/**
 * Opens (creating if needed) the store in `location`. Exactly one owner per data directory:
 * a second opener, in this process or another, gets StoreLockedError. Close it when done.
 */
export async function openStore(location: string, options: StoreOptions = {}): Promise<Store> {
  await mkdir(location, { recursive: true, mode: 0o700 });
  const canonical = await realpath(resolve(location));
  if (OPEN_LOCATIONS.has(canonical)) throw new StoreLockedError(canonical);
  OPEN_LOCATIONS.add(canonical);
  const db: RootDatabase = new Level<string, Uint8Array>(canonical, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
  });
  try {
    await openLevel(db, canonical);
    await checkLayout(db, options.sync ?? true);
  } catch (error) {
    if (db.status === 'open') await db.close();
    OPEN_LOCATIONS.delete(canonical);
    throw error;
  }
  return new Store(db, canonical, { ...DEFAULT_STORE_LIMITS, ...options.limits }, options.sync ?? true);
}

async function openLevel(db: RootDatabase, location: string): Promise<void> {
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') throw new StoreLockedError(location, { cause: error });
    if (isLevelCorruption(cause))
      throw new StoreCorruptError(location, 'LevelDB cannot open the database', { cause: error });
    throw new GojinnError('internal', `store: cannot open data directory ${location}`, { cause: error });
  }
}

/**
 * A fresh directory gets the layout version; an existing one must carry ours. A directory
 * whose keys do not start with a layout marker is not a Gojinn store and is left untouched.
 */
async function checkLayout(db: RootDatabase, sync: boolean): Promise<void> {
  const meta = textSublevel(db, CORE_SUBLEVELS.meta);
  const layout = await meta.get('layout');
  if (layout === String(LAYOUT_VERSION)) return;
  if (layout !== undefined) {
    throw new GojinnError(
      'internal',
      `store: data directory has layout ${layout}; this node reads layout ${LAYOUT_VERSION}`,
    );
  }
  const anyKey = await db.keys({ limit: 1 }).all();
  if (anyKey.length > 0) {
    throw new GojinnError(
      'internal',
      `store: data directory ${db.location} holds data that is not a Gojinn store`,
    );
  }
  await db.batch<string, string>(
    [{ type: 'put', sublevel: meta, key: 'layout', value: String(LAYOUT_VERSION) }],
    { sync },
  );
}

/** The node's store: one LevelDB, one owner. See layout.ts for the keys and docs/store.md. */
export class Store {
  readonly location: string;
  readonly limits: Readonly<StoreLimits>;
  readonly blobs: ContentAddressedSublevel;
  readonly manifests: ContentAddressedSublevel;
  readonly modules: ModuleIndex;
  readonly revocations: RevocationStore;
  readonly #db: RootDatabase;
  readonly #sync: boolean;
  /** The only write path (see AtomicWrite); an arrow so sub-stores can hold it. */
  readonly #atomicWrite: AtomicWrite = async (operations) => {
    await this.#db.batch<string, Uint8Array | string>(operations, { sync: this.#sync });
  };
  #closing: Promise<void> | undefined;

  constructor(db: RootDatabase, location: string, limits: StoreLimits, sync: boolean) {
    this.#db = db;
    this.#sync = sync;
    this.location = location;
    this.limits = Object.freeze(limits);
    this.blobs = new ContentAddressedSublevel(
      bytesSublevel(db, CORE_SUBLEVELS.blobs),
      'blob',
      limits.maxBlobBytes,
      'maxBlobBytes',
    );
    this.manifests = new ContentAddressedSublevel(
      bytesSublevel(db, CORE_SUBLEVELS.manifests),
      'manifest',
      limits.maxManifestBytes,
      'maxManifestBytes',
    );
    this.modules = new ModuleIndex(
      textSublevel(db, CORE_SUBLEVELS.modules),
      textSublevel(db, CORE_SUBLEVELS.modulesByHash),
      textSublevel(db, CORE_SUBLEVELS.moduleState),
      textSublevel(db, CORE_SUBLEVELS.pins),
      limits.maxPageSize,
      this.#atomicWrite,
    );
    this.revocations = new RevocationStore(
      bytesSublevel(db, CORE_SUBLEVELS.revocations),
      limits.maxRevocationBytes,
      limits.maxPageSize,
      this.#atomicWrite,
    );
  }

  get isOpen(): boolean {
    return this.#db.status === 'open';
  }

  /**
   * Installs one module version in ONE LevelDB batch: blob, manifest, record, hash index and
   * state. LevelDB writes a batch as a single log record that is replayed whole or not at
   * all, so a crash at any point leaves the version fully installed or absent.
   */
  async install(write: InstallWrite): Promise<ModuleRecord> {
    const blob = this.blobs.prepare(write.moduleBytes);
    const manifest = this.manifests.prepare(write.manifestBytes);
    const record: ModuleRecord = {
      name: write.key.name,
      publisher: write.key.publisher,
      version: write.key.version,
      hash: blob.hash,
      size: write.moduleBytes.byteLength,
      manifestHash: manifest.hash,
      capabilities: [...write.capabilities],
      installedAt: (write.installedAt ?? new Date()).toISOString(),
    };
    const { records, byHash, states } = this.modules;
    await this.#atomicWrite([
      blob.operation,
      manifest.operation,
      {
        type: 'put',
        sublevel: records,
        key: ModuleIndex.recordKey(record),
        value: encodeModuleRecord(record),
      },
      { type: 'put', sublevel: byHash, key: ModuleIndex.byHashKey(record.hash, record), value: '' },
      {
        type: 'put',
        sublevel: states,
        key: ModuleIndex.stateKey(record.name, record.publisher),
        value: encodeModuleState(write.state),
      },
    ]);
    return record;
  }

  /**
   * The sublevel reserved for a later feature (per-module KV, secrets, audit log, libp2p
   * datastore). Keys are utf8 strings, values bytes; nest further with `.sublevel(...)`.
   */
  extension(name: ExtensionSublevelName): BytesSublevel {
    if (!(EXTENSION_SUBLEVELS as readonly string[]).includes(name)) {
      throw new GojinnError('internal', `store: ${name} is not a reserved extension sublevel`);
    }
    return bytesSublevel(this.#db, name);
  }

  /** Closes the database and releases the data directory. Safe to call more than once. */
  async close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#db.close();
      } finally {
        OPEN_LOCATIONS.delete(this.location);
      }
    })();
    return this.#closing;
  }
}
