import { randomBytes } from 'node:crypto';
import { GojinnError } from '@gojinn/errors';
import { MAX_NAME_LENGTH, NAME_PATTERN } from '@gojinn/manifest';
import type { BytesSublevel } from '@gojinn/store';
import { ApiKeyStore, apiKeyHash, type ApiKeyEntry } from '../gateway/api-keys.ts';
import { MAX_API_KEYS, checkRateLimit, type RateLimit } from '../gateway/limits.ts';

/** A stored API key as the admin API lists it: never the key, never its hash. */
export interface ApiKeyInfo {
  id: string;
  functions: string[];
  rateLimit?: RateLimit;
  createdAt: string;
}

/** What `create` takes: the functions the key may call, an optional id and rate limit. */
export interface ApiKeyRequest {
  id?: string;
  functions: string[];
  rateLimit?: RateLimit;
}

/** Every key starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const API_KEY_PREFIX = 'gjk_';
/** Random bytes in a key: 256 bits, base64url-encoded after the prefix. */
export const API_KEY_RANDOM_BYTES = 32;
/** Most functions one key may list (the config's MAX_MODULE_NAMES). */
export const MAX_KEY_FUNCTIONS = 10_000;
/** Largest stored record read back, in bytes. */
const MAX_RECORD_BYTES = 1024 * 1024;

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const SYNC = { sync: true } as object;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

interface StoredKey extends ApiKeyInfo {
  sha256: string;
}

/**
 * API keys created through the admin API, persisted (only the sha-256 of each key) in a store
 * sublevel and loaded into the gateway's ApiKeyStore, which this class shares: a key created
 * or removed here is accepted or refused by the gateway on its next request. Keys the gateway
 * got elsewhere (options, config) stay in that ApiKeyStore untouched; their ids are taken.
 */
export class PersistentApiKeys {
  /** The store the gateway authenticates against (pass it as the gateway's `apiKeys`). */
  readonly keys: ApiKeyStore;
  readonly #sublevel: BytesSublevel;
  readonly #stored = new Map<string, StoredKey>();
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(sublevel: BytesSublevel, keys: ApiKeyStore) {
    this.#sublevel = sublevel;
    this.keys = keys;
  }

  /**
   * Loads the stored keys from `sublevel` into `keys` (default: a new ApiKeyStore). A record
   * that does not read back is refused (`internal`, naming its id): a node must not start
   * with a key it cannot check.
   */
  static async open(
    sublevel: BytesSublevel,
    options: { keys?: ApiKeyStore } = {},
  ): Promise<PersistentApiKeys> {
    const store = new PersistentApiKeys(sublevel, options.keys ?? new ApiKeyStore());
    for await (const [id, value] of sublevel.iterator({ limit: MAX_API_KEYS + 1 })) {
      const record = decodeRecord(id, value);
      try {
        store.keys.add(entryOf(record));
      } catch (error) {
        throw new GojinnError('internal', `stored API key ${id}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      store.#stored.set(id, record);
    }
    return store;
  }

  /** The keys created through the admin API, by id. */
  list(): ApiKeyInfo[] {
    return [...this.#stored.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map(({ sha256: _hash, ...info }) => info);
  }

  /**
   * Creates a random key for `request.functions`, stores its hash and adds it to the gateway's
   * store. The key itself is returned here and nowhere else, ever.
   */
  async create(request: unknown): Promise<{ key: string; info: ApiKeyInfo }> {
    const checked = checkRequest(request);
    return this.#serialised(async () => {
      const id = checked.id ?? `key-${randomBytes(6).toString('hex')}`;
      const key = API_KEY_PREFIX + randomBytes(API_KEY_RANDOM_BYTES).toString('base64url');
      const record: StoredKey = {
        id,
        functions: checked.functions,
        ...(checked.rateLimit === undefined ? {} : { rateLimit: checked.rateLimit }),
        createdAt: new Date().toISOString(),
        sha256: apiKeyHash(key),
      };
      try {
        // Added to the live store first: it refuses a taken id or a full store before anything is written.
        this.keys.add(entryOf(record));
      } catch (error) {
        throw new GojinnError('bad_request', `API key: ${(error as Error).message}`);
      }
      try {
        await this.#sublevel.put(id, encoder.encode(JSON.stringify(record)), SYNC);
      } catch (error) {
        this.keys.revoke(id);
        throw error;
      }
      this.#stored.set(id, record);
      const { sha256: _hash, ...info } = record;
      return { key, info };
    });
  }

  /** Removes a stored key; the gateway refuses it from its next request. False when absent. */
  async remove(id: string): Promise<boolean> {
    return this.#serialised(async () => {
      if (!this.#stored.has(id)) return false;
      await this.#sublevel.del(id, SYNC);
      this.#stored.delete(id);
      this.keys.revoke(id);
      return true;
    });
  }

  #serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#writes.then(work, work);
    this.#writes = next.catch(() => {});
    return next;
  }
}

function entryOf(record: StoredKey): ApiKeyEntry {
  return {
    id: record.id,
    sha256: record.sha256,
    functions: record.functions,
    ...(record.rateLimit === undefined ? {} : { rateLimit: record.rateLimit }),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a create request: `bad_request` naming the field. */
function checkRequest(input: unknown): ApiKeyRequest {
  if (!isObject(input)) throw new GojinnError('bad_request', 'API key request: expected a JSON object');
  for (const key of Object.keys(input)) {
    if (!['id', 'functions', 'rateLimit'].includes(key))
      throw new GojinnError(
        'bad_request',
        `API key request.${JSON.stringify(key).slice(0, 66)}: unknown key (expected one of: id, functions, rateLimit)`,
      );
  }
  const { id, functions, rateLimit } = input;
  if (id !== undefined && (typeof id !== 'string' || !ID_PATTERN.test(id)))
    throw new GojinnError(
      'bad_request',
      `API key request.id: expected 1..64 characters of A-Z a-z 0-9 . _ -`,
    );
  if (!Array.isArray(functions) || functions.length === 0 || functions.length > MAX_KEY_FUNCTIONS)
    throw new GojinnError(
      'bad_request',
      `API key request.functions: expected a list of 1..${MAX_KEY_FUNCTIONS} function (module) names`,
    );
  functions.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name))
      throw new GojinnError('bad_request', `API key request.functions[${i}]: expected a module name`);
  });
  let limit: RateLimit | undefined;
  if (rateLimit !== undefined) {
    if (!isObject(rateLimit) || Object.keys(rateLimit).some((k) => k !== 'perSecond' && k !== 'burst'))
      throw new GojinnError('bad_request', 'API key request.rateLimit: expected {perSecond, burst}');
    try {
      limit = { ...checkRateLimit(rateLimit as unknown as RateLimit, 'API key request.rateLimit') };
    } catch (error) {
      throw new GojinnError('bad_request', (error as Error).message);
    }
  }
  return {
    ...(id === undefined ? {} : { id }),
    functions: [...new Set(functions as string[])].sort(),
    ...(limit === undefined ? {} : { rateLimit: limit }),
  };
}

function decodeRecord(id: string, value: Uint8Array): StoredKey {
  try {
    if (value.byteLength > MAX_RECORD_BYTES) throw new Error(`larger than ${MAX_RECORD_BYTES} bytes`);
    const parsed = JSON.parse(decoder.decode(value)) as unknown;
    if (!isObject(parsed)) throw new Error('not a JSON object');
    const { sha256, createdAt, ...request } = parsed;
    const checked = checkRequest(request);
    if (checked.id !== id) throw new Error('filed under another id');
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) throw new Error('sha256 is not a hash');
    if (typeof createdAt !== 'string') throw new Error('createdAt is missing');
    return { ...checked, id, createdAt, sha256 };
  } catch (error) {
    throw new GojinnError(
      'internal',
      `stored API key ${id.slice(0, 64)} is unreadable: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
