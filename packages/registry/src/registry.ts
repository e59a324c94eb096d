import { GojinnError } from '@gojinn/errors';
import {
  MAX_NAME_LENGTH,
  NAME_PATTERN,
  TrustPolicy,
  VerificationCache,
  isPublicKeyText,
  parseManifest,
  parseRevocation,
  verifyManifest,
  verifyModule,
  verifyRevocation,
  type Manifest,
  type Revocation,
  type VerifiedModule,
  type VerifiedRevocation,
} from '@gojinn/manifest';
import {
  ModuleIndex,
  SHA256_HEX,
  StoreCorruptError,
  sha256Hex,
  type BytesSublevel,
  type ModuleKey,
  type ModuleRecord,
  type ModuleState,
  type Page,
  type PageRequest,
  type RevocationTarget,
  type Store,
  type TextSublevel,
} from '@gojinn/store';
import semver from 'semver';
import { nextState, pinnedState, unpinnedState } from './install-policy.ts';
import { highestVersion, stateAfterRemoval } from './remove-policy.ts';
import { resolveOptions, type ModuleRegistryOptions, type ResolvedOptions } from './options.ts';
import { VerifiedModuleCache } from './verified-cache.ts';
import { WriteQueue } from './write-queue.ts';

/** What install returns. */
export interface InstallResult {
  record: ModuleRecord;
  /** The (name, publisher) state after the install. */
  state: ModuleState;
  verified: VerifiedModule;
  /** False when this exact version (same bytes, same manifest) was already installed: nothing was written. */
  installed: boolean;
}

/** A module the registry serves: bytes re-hashed on read, manifest verified under this node's trust. */
export interface ServedModule {
  record: ModuleRecord;
  moduleBytes: Uint8Array;
  verified: VerifiedModule;
}

/** One row of `gojinn modules`. */
export interface ListedModule {
  publisher: string;
  name: string;
  version: string;
  capabilities: string[];
  hash: string;
  size: number;
  installedAt: string;
  /** The version `resolve` serves for its (name, publisher). */
  active: boolean;
  /** The operator pinned this version. */
  pinned: boolean;
  /** Covered by a revocation (of the version or of its publisher key): never served. */
  revoked: boolean;
}

/** One write of a removal batch (the store's own StoreOperation shape). */
type RemoveOperation =
  | { type: 'put'; sublevel: TextSublevel; key: string; value: string }
  | { type: 'del'; sublevel: BytesSublevel | TextSublevel; key: string };

/** What remove returns. */
export interface RemoveResult {
  /** Every version whose module bytes had the removed hash. */
  removed: ModuleKey[];
  /** The state of each (name, publisher) touched; undefined when none of its versions remains. */
  states: Array<{ name: string; publisher: string; state: ModuleState | undefined }>;
}

export interface PinResult {
  pin: string;
  /** The state after pinning; undefined while nothing of (name, publisher) is installed. */
  state: ModuleState | undefined;
}

/**
 * The only way a module enters a node, and the only way one is served from the store.
 *
 * install(module, manifest), in this order, each failure a GojinnError and nothing written:
 * parse the manifest (`signature_invalid`); its signature and publisher (`signature_invalid`,
 * `untrusted_publisher`); revocation of the key or version (`revoked`); the rollback rule
 * (`rollback`, see install-policy.ts); size and sha-256 of the bytes (`signature_invalid`);
 * imports ⊆ declared capabilities (`capability_denied`, `invalid_module`) — the first step
 * that parses the wasm, after every check that can be made without it. Then one atomic store
 * batch. Nothing is compiled or instantiated here at all.
 *
 * Serving (resolve, get) re-checks the stored bytes' hashes on every read, looks up
 * revocations on every call, and verifies each manifest once per registry (cached by the
 * manifest's hash), so trust changes take effect when a node restarts with a new policy.
 */
export class ModuleRegistry {
  readonly #options: ResolvedOptions;
  readonly #store: Store;
  readonly #signatureCache = new VerificationCache();
  readonly #verified: VerifiedModuleCache;
  readonly #writes = new WriteQueue();

  constructor(options: ModuleRegistryOptions) {
    this.#options = resolveOptions(options);
    this.#store = options.store;
    this.#verified = new VerifiedModuleCache(this.#options.verifiedCacheEntries);
    if (this.#options.audit) {
      this.#options.logger.warn(
        'AUDIT MODE is on: modules signed by UNTRUSTED publishers will be accepted (development only)',
      );
    }
  }

  get trust(): TrustPolicy {
    return this.#options.trust;
  }

  /** Verifies and installs one module version; see the class comment for the checks. */
  async install(moduleBytes: Uint8Array, manifestBytes: Uint8Array): Promise<InstallResult> {
    const { maxModuleBytes } = this.#options;
    if (moduleBytes.byteLength > maxModuleBytes) {
      throw new GojinnError(
        'invalid_module',
        `module is ${moduleBytes.byteLength} bytes; limit maxModuleBytes is ${maxModuleBytes}`,
      );
    }
    const parsed = parseManifest(manifestBytes);
    const trust = this.#trustFor(parsed);
    const manifest = verifyManifest(parsed, trust, { cache: this.#signatureCache });
    const key: ModuleKey = { name: manifest.name, publisher: manifest.publisher, version: manifest.version };
    return this.#writes.run(async () => {
      await this.#refuseRevoked(key);
      const existing = await this.#store.modules.getRecord(key);
      if (existing !== undefined)
        return this.#reinstall(existing, moduleBytes, manifestBytes, manifest, trust);
      const [current, pin] = await Promise.all([
        this.#store.modules.getState(key.name, key.publisher),
        this.#store.modules.getPin(key.name, key.publisher),
      ]);
      const state = nextState(current, pin, key.version, versionLabel(key));
      const verified = this.#verifyModule(manifest, moduleBytes, trust);
      const record = await this.#store.install({
        key,
        moduleBytes,
        manifestBytes,
        capabilities: verified.declared,
        state,
      });
      this.#verified.set(record.manifestHash, verified);
      this.#warnIfAudit(manifest, 'installed');
      return { record, state, verified, installed: true };
    });
  }

  /**
   * Pins `version` of (publisher, name): it becomes active if installed (or as soon as it is),
   * and installing it is allowed even below the highest version installed. A revoked version
   * cannot be pinned.
   */
  async pin(publisher: string, name: string, version: string): Promise<PinResult> {
    const key = checkedKey(publisher, name, version);
    return this.#writes.run(async () => {
      await this.#refuseRevoked(key);
      const [current, record] = await Promise.all([
        this.#store.modules.getState(name, publisher),
        this.#store.modules.getRecord(key),
      ]);
      const state = pinnedState(current, version, record !== undefined);
      await this.#store.modules.setPin(name, publisher, version, state);
      return { pin: version, state: state ?? current };
    });
  }

  /** Removes the pin of (publisher, name); the highest version installed becomes active again. */
  async unpin(publisher: string, name: string): Promise<ModuleState | undefined> {
    checkedKey(publisher, name, '0.0.0');
    return this.#writes.run(async () => {
      let state = unpinnedState(await this.#store.modules.getState(name, publisher));
      // The bar may name a version that was removed since: serve the highest one still here.
      if (state !== undefined) {
        const installed = await this.#installedVersions(name, publisher);
        if (installed.length > 0 && !installed.includes(state.active))
          state = { active: highestVersion(installed), highest: state.highest };
      }
      await this.#store.modules.setPin(name, publisher, undefined, state);
      return state;
    });
  }

  /**
   * Removes every installed version whose module bytes hash to `hash` — records, index
   * entries, manifests and the blob — in one atomic batch, under the rule of
   * remove-policy.ts: a pinned version is refused, the active one needs `force`. Revoked
   * versions may be removed (their revocation stays). `not_found` when nothing has the hash.
   */
  async remove(hash: string, options: { force?: boolean } = {}): Promise<RemoveResult> {
    if (!SHA256_HEX.test(hash))
      throw new GojinnError('bad_request', 'module hash must be 64 lower-case hex characters');
    return this.#writes.run(async () => {
      const { modules, blobs, manifests } = this.#store;
      const removed: ModuleKey[] = [];
      let after: string | undefined;
      do {
        const page = await modules.listByHash(hash, after === undefined ? {} : { after });
        removed.push(...page.items);
        after = page.next;
      } while (after !== undefined);
      if (removed.length === 0)
        throw new GojinnError('not_found', `no module with sha256 ${hash} is installed`);

      const byModule = new Map<string, { name: string; publisher: string; versions: Set<string> }>();
      for (const key of removed) {
        const id = JSON.stringify([key.name, key.publisher]);
        const entry = byModule.get(id) ?? { name: key.name, publisher: key.publisher, versions: new Set() };
        entry.versions.add(key.version);
        byModule.set(id, entry);
      }
      const root = modules.records.db;
      const operations: RemoveOperation[] = [];
      const states: RemoveResult['states'] = [];
      for (const { name, publisher, versions } of byModule.values()) {
        const [current, pin, installed] = await Promise.all([
          modules.getState(name, publisher),
          modules.getPin(name, publisher),
          this.#installedVersions(name, publisher),
        ]);
        if (current === undefined)
          throw new StoreCorruptError(
            `state of ${moduleLabel({ name, publisher })}`,
            'missing for an installed version',
          );
        const state = stateAfterRemoval(
          current,
          pin,
          installed,
          versions,
          options.force === true,
          (version) => versionLabel({ name, publisher, version }),
        );
        const stateKey = ModuleIndex.stateKey(name, publisher);
        operations.push(
          state === undefined
            ? { type: 'del', sublevel: modules.states, key: stateKey }
            : {
                type: 'put',
                sublevel: modules.states,
                key: stateKey,
                value: JSON.stringify({ active: state.active, highest: state.highest }),
              },
        );
        states.push({ name, publisher, state });
      }
      for (const key of removed) {
        const record = await modules.getRecord(key);
        if (record === undefined)
          throw new StoreCorruptError(`hash index ${hash}`, `${versionLabel(key)} has no record`);
        operations.push(
          { type: 'del', sublevel: modules.records, key: ModuleIndex.recordKey(key) },
          { type: 'del', sublevel: modules.byHash, key: ModuleIndex.byHashKey(hash, key) },
          { type: 'del', sublevel: manifests.sublevel, key: record.manifestHash },
        );
      }
      operations.push({ type: 'del', sublevel: blobs.sublevel, key: hash });
      // One LevelDB batch on the store's root: every key goes or none does (as Store.install
      // writes them). fsync'd like the store's default.
      await root.batch<string, Uint8Array | string>(operations, { sync: true });
      return { removed, states };
    });
  }

  /** Every version of (name, publisher) that has a record, page by page. */
  async #installedVersions(name: string, publisher: string): Promise<string[]> {
    const versions: string[] = [];
    let after: string | undefined;
    do {
      const page = await this.#store.modules.listVersions(
        name,
        publisher,
        after === undefined ? {} : { after },
      );
      versions.push(...page.items.map((record) => record.version));
      after = page.next;
    } while (after !== undefined);
    return versions;
  }

  /**
   * Verifies a signed revocation record (by the revoked publisher's own key, or by an
   * operator key of the trust policy) and persists it. From then on the registry refuses to
   * install, and stops serving, every module it covers.
   */
  async applyRevocation(recordBytes: Uint8Array): Promise<VerifiedRevocation> {
    const verified = verifyRevocation(parseRevocation(recordBytes), this.#options.trust);
    const { revocation } = verified;
    const target: RevocationTarget =
      revocation.kind === 'publisher'
        ? { kind: 'publisher', publisher: revocation.publisher }
        : {
            kind: 'version',
            name: revocation.name,
            publisher: revocation.publisher,
            version: revocation.version,
          };
    await this.#writes.run(() => this.#store.revocations.put(target, recordBytes));
    return verified;
  }

  /**
   * The active version of the module called `name` (of `publisher`, required when several
   * publishers have a module of that name): `not_found`, `revoked`, or the served module.
   */
  async resolve(name: string, publisher?: string): Promise<ServedModule> {
    let owner = publisher;
    let state: ModuleState | undefined;
    if (owner === undefined) {
      const states = await this.#store.modules.listStates(name, { limit: 2 });
      if (states.items.length > 1) {
        throw new GojinnError(
          'bad_request',
          `several publishers have a module named ${name}; name the publisher (e.g. ${states.items[0]?.publisher})`,
        );
      }
      owner = states.items[0]?.publisher;
      state = states.items[0]?.state;
    } else {
      state = await this.#store.modules.getState(name, owner);
    }
    if (owner === undefined || state === undefined) {
      throw new GojinnError(
        'not_found',
        `no module named ${name}${publisher === undefined ? '' : ` by ${publisher}`} is installed`,
      );
    }
    const key = { name, publisher: owner, version: state.active };
    await this.#refuseRevoked(key);
    const record = await this.#store.modules.getRecord(key);
    if (record === undefined) {
      throw new StoreCorruptError(
        `state of ${moduleLabel(key)}`,
        `active version ${state.active} has no record`,
      );
    }
    return this.#serve(record);
  }

  /** A module by the sha-256 of its bytes: `not_found`, `revoked` (every entry using it is), or the module. */
  async get(hash: string): Promise<ServedModule> {
    return this.#serve(await this.servedRecord(hash));
  }

  /**
   * The record `get(hash)` would serve, found without reading or re-hashing any bytes (index,
   * revocation and record lookups only), with get's errors: `bad_request`, `not_found`,
   * `revoked`. For a holder of bytes that `get` verified earlier, to check cheaply before each
   * use that the module is still served (not removed, not revoked since).
   */
  async servedRecord(hash: string): Promise<ModuleRecord> {
    if (!SHA256_HEX.test(hash))
      throw new GojinnError('bad_request', 'module hash must be 64 lower-case hex characters');
    let revokedEntry: ModuleKey | undefined;
    let after: string | undefined;
    do {
      const page = await this.#store.modules.listByHash(hash, after === undefined ? {} : { after });
      for (const key of page.items) {
        if ((await this.#store.revocations.find(key)) !== undefined) {
          revokedEntry ??= key;
          continue;
        }
        const record = await this.#store.modules.getRecord(key);
        if (record === undefined)
          throw new StoreCorruptError(`hash index ${hash}`, `${versionLabel(key)} has no record`);
        return record;
      }
      after = page.next;
    } while (after !== undefined);
    if (revokedEntry !== undefined) {
      throw new GojinnError('revoked', `module ${hash} is revoked (${versionLabel(revokedEntry)})`);
    }
    throw new GojinnError('not_found', `no module with sha256 ${hash} is installed`);
  }

  /**
   * One page of the revocations this node holds (applied by the operator or received from the
   * mesh), in key order, each as the signed record it was received as. A stored record that no
   * longer parses is a store fault (`internal`): the store only ever keeps parsed records.
   */
  async listRevocations(
    request: PageRequest = {},
  ): Promise<Page<{ target: RevocationTarget; revocation: Revocation }>> {
    const page = await this.#store.revocations.list(request);
    const items = page.items.map(({ target, record }) => {
      try {
        return { target, revocation: parseRevocation(record) };
      } catch (error) {
        throw new StoreCorruptError(`revocation of ${JSON.stringify(target)}`, (error as Error).message);
      }
    });
    return page.next === undefined ? { items } : { items, next: page.next };
  }

  /** One page of installed versions with their active/pinned/revoked flags (for `gojinn modules`). */
  async list(request: PageRequest = {}): Promise<Page<ListedModule>> {
    const page = await this.#store.modules.listRecords(request);
    const items = await Promise.all(
      page.items.map(async (record): Promise<ListedModule> => {
        const [state, pin, revocation] = await Promise.all([
          this.#store.modules.getState(record.name, record.publisher),
          this.#store.modules.getPin(record.name, record.publisher),
          this.#store.revocations.find(record),
        ]);
        return {
          publisher: record.publisher,
          name: record.name,
          version: record.version,
          capabilities: record.capabilities,
          hash: record.hash,
          size: record.size,
          installedAt: record.installedAt,
          active: state?.active === record.version,
          pinned: pin === record.version,
          revoked: revocation !== undefined,
        };
      }),
    );
    return page.next === undefined ? { items } : { items, next: page.next };
  }

  /** An install of a version that is already there: a no-op for the same bytes, refused otherwise. */
  async #reinstall(
    existing: ModuleRecord,
    moduleBytes: Uint8Array,
    manifestBytes: Uint8Array,
    manifest: Manifest,
    trust: TrustPolicy,
  ): Promise<InstallResult> {
    if (sha256Hex(manifestBytes) !== existing.manifestHash || sha256Hex(moduleBytes) !== existing.hash) {
      throw new GojinnError(
        'rollback',
        `${versionLabel(existing)} is already installed with different content ` +
          `(sha256 ${existing.hash}); a published version never changes`,
      );
    }
    const verified = this.#verifyModule(manifest, moduleBytes, trust);
    const state = await this.#store.modules.getState(existing.name, existing.publisher);
    if (state === undefined)
      throw new StoreCorruptError(`state of ${moduleLabel(existing)}`, 'missing for an installed version');
    return { record: existing, state, verified, installed: false };
  }

  async #serve(record: ModuleRecord): Promise<ServedModule> {
    const [moduleBytes, manifestBytes] = await Promise.all([
      this.#store.blobs.get(record.hash),
      this.#store.manifests.get(record.manifestHash),
    ]);
    if (moduleBytes === undefined || manifestBytes === undefined) {
      throw new StoreCorruptError(versionLabel(record), 'its blob or manifest is missing');
    }
    let verified = this.#verified.get(record.manifestHash);
    if (verified === undefined) {
      const manifest = parseManifest(manifestBytes);
      verified = this.#verifyModule(manifest, moduleBytes, this.#trustFor(manifest));
      this.#warnIfAudit(manifest, 'served');
      this.#verified.set(record.manifestHash, verified);
    }
    const { manifest } = verified;
    if (
      verified.sha256 !== record.hash ||
      manifest.name !== record.name ||
      manifest.publisher !== record.publisher ||
      manifest.version !== record.version
    ) {
      throw new StoreCorruptError(versionLabel(record), 'record does not match its signed manifest');
    }
    return { record, moduleBytes, verified };
  }

  #verifyModule(manifest: Manifest, moduleBytes: Uint8Array, trust: TrustPolicy): VerifiedModule {
    return verifyModule(manifest, moduleBytes, trust, this.#options.readImports, {
      cache: this.#signatureCache,
    });
  }

  async #refuseRevoked(key: ModuleKey): Promise<void> {
    const revocation = await this.#store.revocations.find(key);
    if (revocation === undefined) return;
    throw new GojinnError(
      'revoked',
      revocation.kind === 'publisher'
        ? `publisher key ${key.publisher} is revoked: ${versionLabel(key)} is refused`
        : `${versionLabel(key)} is revoked`,
    );
  }

  /** The node's policy, or in audit mode one that also trusts this manifest's publisher. */
  #trustFor(manifest: Manifest): TrustPolicy {
    const { trust, audit } = this.#options;
    if (!audit || trust.trustsPublisher(manifest.publisher)) return trust;
    return new TrustPolicy({
      publishers: [...trust.publishers, manifest.publisher],
      operators: trust.operators,
    });
  }

  #warnIfAudit(manifest: Manifest, what: 'installed' | 'served'): void {
    if (!this.#options.audit || this.#options.trust.trustsPublisher(manifest.publisher)) return;
    this.#options.logger.warn(
      `AUDIT MODE ${what} ${manifest.name}@${manifest.version} signed by UNTRUSTED publisher ${manifest.publisher}; ` +
        'a production node would refuse it (untrusted_publisher)',
    );
  }
}

/** `name (publisher …)`: how messages name a module. */
function moduleLabel(key: Pick<ModuleKey, 'name' | 'publisher'>): string {
  return `${key.name} (publisher ${key.publisher})`;
}

/** `name@version (publisher …)`: how messages name one version. */
function versionLabel(key: ModuleKey): string {
  return `${key.name}@${key.version} (publisher ${key.publisher})`;
}

/** Checks operator input (CLI flags, admin API) naming a module version: `bad_request` naming the field. */
function checkedKey(publisher: string, name: string, version: string): ModuleKey {
  if (!isPublicKeyText(publisher))
    throw new GojinnError(
      'bad_request',
      `publisher ${JSON.stringify(publisher)} is not a public key (ed25519:…)`,
    );
  if (name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    throw new GojinnError('bad_request', `module name ${JSON.stringify(name)} is not a valid name`);
  }
  if (semver.valid(version) !== version) {
    throw new GojinnError(
      'bad_request',
      `version ${JSON.stringify(version)} is not a semantic version in normal form`,
    );
  }
  return { name, publisher, version };
}
