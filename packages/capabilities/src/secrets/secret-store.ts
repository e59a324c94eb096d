import { GojinnError } from '@gojinn/errors';
import {
  MAX_NAME_LENGTH,
  MAX_SECRET_NAME_LENGTH,
  NAME_PATTERN,
  SECRET_NAME_PATTERN,
  isPublicKeyText,
} from '@gojinn/manifest';
import type { BytesSublevel } from '@gojinn/store';
import type { MasterKey } from './master-key.ts';
import { openSecret, sealSecret } from './sealed-secret.ts';

/** Whose secret: a module as (name, publisher) — every version of a module shares its secrets. */
export interface SecretOwner {
  readonly name: string;
  readonly publisher: string;
}

/** One stored secret, by name: what `list` shows. Never the value. */
export interface SecretListing {
  module: string;
  publisher: string;
  name: string;
}

export interface SecretLimits {
  /** Bytes of one secret's value. */
  maxValueBytes: number;
  /** Secrets one module (name + publisher) may hold. */
  maxSecretsPerModule: number;
}

export const DEFAULT_SECRET_LIMITS: Readonly<SecretLimits> = Object.freeze({
  maxValueBytes: 64 * 1024,
  maxSecretsPerModule: 256,
});

/** Most listings one `list` call returns (a node holds few secrets; this bounds a damaged store). */
export const MAX_SECRET_LISTING = 100_000;

/**
 * The node's secrets, sealed with its master key (sealed-secret.ts) in the store's `secrets`
 * sublevel. Keys: `<module name>/<publisher>/<secret name>`, each part encodeURIComponent-encoded
 * (which escapes `/`), so that one module's secrets are one prefix range and no name of one can
 * address another's. Values never leave this class except from `get`; errors never carry them.
 */
export class SecretStore {
  readonly limits: Readonly<SecretLimits>;
  readonly #sublevel: BytesSublevel;
  readonly #key: () => Promise<MasterKey>;
  /** Writes one at a time, so the per-module count check and the put cannot interleave. */
  #writes: Promise<unknown> = Promise.resolve();

  /**
   * @param sublevel `store.extension('secrets')`
   * @param masterKey resolves the master key (loaded at most once per call site's choosing;
   *   listing and removing never ask for it)
   */
  constructor(
    sublevel: BytesSublevel,
    masterKey: () => Promise<MasterKey>,
    limits: Partial<SecretLimits> = {},
  ) {
    this.#sublevel = sublevel;
    this.#key = masterKey;
    this.limits = Object.freeze({ ...DEFAULT_SECRET_LIMITS, ...limits });
  }

  /** Stores (or replaces) a secret, sealed and synced to disk before this resolves. */
  async set(owner: SecretOwner, name: string, value: Uint8Array): Promise<void> {
    const key = storeKey(owner, name);
    if (value.byteLength > this.limits.maxValueBytes) {
      throw new GojinnError(
        'bad_request',
        `secret ${name} is ${value.byteLength} bytes; limit maxValueBytes is ${this.limits.maxValueBytes}`,
      );
    }
    const masterKey = await this.#key();
    await this.#serialised(async () => {
      if ((await this.#sublevel.get(key)) === undefined) {
        const held = await this.#count(owner);
        if (held >= this.limits.maxSecretsPerModule) {
          throw new GojinnError(
            'bad_request',
            `module ${owner.name} already holds ${held} secrets; limit maxSecretsPerModule is ${this.limits.maxSecretsPerModule}`,
          );
        }
      }
      await this.#sublevel.put(key, sealSecret(masterKey, key, value), SYNC);
    });
  }

  /** The value, or undefined when the module has no secret of that name. */
  async get(owner: SecretOwner, name: string): Promise<Uint8Array | undefined> {
    const key = storeKey(owner, name);
    const record = await this.#sublevel.get(key);
    if (record === undefined) return undefined;
    return openSecret(await this.#key(), key, record);
  }

  /** Removes a secret; false when there was none. */
  async delete(owner: SecretOwner, name: string): Promise<boolean> {
    const key = storeKey(owner, name);
    return this.#serialised(async () => {
      if ((await this.#sublevel.get(key)) === undefined) return false;
      await this.#sublevel.del(key, SYNC);
      return true;
    });
  }

  /** Names of the stored secrets — of every module, or of the modules called `moduleName`. */
  async list(moduleName?: string): Promise<SecretListing[]> {
    const range =
      moduleName === undefined ? {} : prefixRange(encodeURIComponent(checkModuleName(moduleName)));
    const listings: SecretListing[] = [];
    for await (const key of this.#sublevel.keys({ ...range, limit: MAX_SECRET_LISTING })) {
      const parts = key.split('/');
      if (parts.length !== 3) continue;
      const [module, publisher, name] = parts.map((part) => decodeURIComponent(part));
      if (module !== undefined && publisher !== undefined && name !== undefined) {
        listings.push({ module, publisher, name });
      }
    }
    return listings;
  }

  async #count(owner: SecretOwner): Promise<number> {
    const range = prefixRange(`${encodeURIComponent(owner.name)}/${encodeURIComponent(owner.publisher)}`);
    const keys = await this.#sublevel.keys({ ...range, limit: this.limits.maxSecretsPerModule + 1 }).all();
    return keys.length;
  }

  #serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#writes.then(work, work);
    this.#writes = next.catch(() => {});
    return next;
  }
}

/** LevelDB put/del options: fsync before resolving (classic-level honours `sync` through sublevels). */
const SYNC = { sync: true } as object;

function checkModuleName(name: string): string {
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    throw new GojinnError(
      'bad_request',
      `module name must be 1..${MAX_NAME_LENGTH} characters of a-z 0-9 . _ - starting with a letter or digit`,
    );
  }
  return name;
}

/** Checks a secret name (the manifest's rule) and returns it. */
export function checkSecretName(name: string): string {
  if (typeof name !== 'string' || name.length > MAX_SECRET_NAME_LENGTH || !SECRET_NAME_PATTERN.test(name)) {
    throw new GojinnError(
      'bad_request',
      `secret name must be 1..${MAX_SECRET_NAME_LENGTH} characters: a letter or _, then letters, digits, _ . -`,
    );
  }
  return name;
}

function storeKey(owner: SecretOwner, name: string): string {
  checkModuleName(owner.name);
  if (!isPublicKeyText(owner.publisher)) {
    throw new GojinnError('bad_request', 'publisher must be a public key (ed25519:<base64url>)');
  }
  checkSecretName(name);
  return [owner.name, owner.publisher, name].map((part) => encodeURIComponent(part)).join('/');
}

/** Every key that starts with `encoded/` ('0' follows '/' in code-unit order). */
function prefixRange(encoded: string): { gt: string; lt: string } {
  return { gt: `${encoded}/`, lt: `${encoded}0` };
}
