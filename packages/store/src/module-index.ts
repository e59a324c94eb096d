import { StoreCorruptError, isLevelCorruption } from './errors.ts';
import { CORE_SUBLEVELS, compositeKey, prefixRange, splitCompositeKey } from './layout.ts';
import { clampPageSize, type Page, type PageRequest } from './limits.ts';
import {
  decodeModuleRecord,
  decodeModuleState,
  encodeModuleState,
  type ModuleKey,
  type ModuleRecord,
  type ModuleState,
} from './records.ts';
import type { AtomicWrite, StoreOperation, TextSublevel } from './sublevels.ts';

/**
 * Read side of the installed modules: records by (name, publisher, version), the blob →
 * entries index, the per-(name, publisher) install state and operator pins. Installs are
 * written by Store.install (one atomic batch); this class only writes pins (setPin).
 */
export class ModuleIndex {
  readonly records: TextSublevel;
  readonly byHash: TextSublevel;
  readonly states: TextSublevel;
  readonly pins: TextSublevel;
  readonly maxPageSize: number;
  readonly #write: AtomicWrite;

  constructor(
    records: TextSublevel,
    byHash: TextSublevel,
    states: TextSublevel,
    pins: TextSublevel,
    maxPageSize: number,
    write: AtomicWrite,
  ) {
    this.records = records;
    this.byHash = byHash;
    this.states = states;
    this.pins = pins;
    this.maxPageSize = maxPageSize;
    this.#write = write;
  }

  static recordKey(key: ModuleKey): string {
    return compositeKey(key.name, key.publisher, key.version);
  }

  static byHashKey(hash: string, key: ModuleKey): string {
    return compositeKey(hash, key.name, key.publisher, key.version);
  }

  static stateKey(name: string, publisher: string): string {
    return compositeKey(name, publisher);
  }

  async getRecord(key: ModuleKey): Promise<ModuleRecord | undefined> {
    return this.getRecordByKey(ModuleIndex.recordKey(key));
  }

  /** The record filed under an encoded key (as found in the hash index). */
  async getRecordByKey(storeKey: string): Promise<ModuleRecord | undefined> {
    const value = await read(this.records, storeKey);
    if (value === undefined) return undefined;
    return checkedRecord(value, storeKey);
  }

  /** Every installed version, in key order (name, publisher, version text), one page at a time. */
  async listRecords(request: PageRequest = {}): Promise<Page<ModuleRecord>> {
    return this.page(this.records, {}, request, (key, value) => checkedRecord(value, key));
  }

  /** The versions installed for one (name, publisher). */
  async listVersions(
    name: string,
    publisher: string,
    request: PageRequest = {},
  ): Promise<Page<ModuleRecord>> {
    return this.page(this.records, prefixRange(name, publisher), request, (key, value) =>
      checkedRecord(value, key),
    );
  }

  /** The entries (name, publisher, version) whose module bytes hash to `hash`. */
  async listByHash(hash: string, request: PageRequest = {}): Promise<Page<ModuleKey>> {
    return this.page(this.byHash, prefixRange(hash), request, (key) => {
      const parts = splitCompositeKey(key, 4);
      if (parts === undefined)
        throw new StoreCorruptError(`${CORE_SUBLEVELS.modulesByHash} ${key}`, 'malformed key');
      const [, name = '', publisher = '', version = ''] = parts;
      return { name, publisher, version };
    });
  }

  async getState(name: string, publisher: string): Promise<ModuleState | undefined> {
    const storeKey = ModuleIndex.stateKey(name, publisher);
    const value = await read(this.states, storeKey);
    return value === undefined
      ? undefined
      : decodeModuleState(value, `${CORE_SUBLEVELS.moduleState} ${storeKey}`);
  }

  /** The install states of every publisher that has a module called `name`. */
  async listStates(
    name: string,
    request: PageRequest = {},
  ): Promise<Page<{ publisher: string; state: ModuleState }>> {
    return this.page(this.states, prefixRange(name), request, (key, value) => {
      const where = `${CORE_SUBLEVELS.moduleState} ${key}`;
      const parts = splitCompositeKey(key, 2);
      if (parts === undefined) throw new StoreCorruptError(where, 'malformed key');
      return { publisher: parts[1] ?? '', state: decodeModuleState(value, where) };
    });
  }

  /** The version the operator pinned for (name, publisher), if any. */
  async getPin(name: string, publisher: string): Promise<string | undefined> {
    return read(this.pins, ModuleIndex.stateKey(name, publisher));
  }

  /**
   * Sets (a version) or clears (undefined) the pin of (name, publisher) and, when given,
   * replaces its state too — both in one atomic write, so the pin and the active version
   * it implies never disagree on disk.
   */
  async setPin(name: string, publisher: string, pin: string | undefined, state?: ModuleState): Promise<void> {
    const key = ModuleIndex.stateKey(name, publisher);
    const operations: StoreOperation[] = [
      pin === undefined
        ? { type: 'del', sublevel: this.pins, key }
        : { type: 'put', sublevel: this.pins, key, value: pin },
    ];
    if (state !== undefined) {
      operations.push({ type: 'put', sublevel: this.states, key, value: encodeModuleState(state) });
    }
    await this.#write(operations);
  }

  private async page<T>(
    sublevel: TextSublevel,
    range: { gt?: string; lt?: string },
    request: PageRequest,
    decode: (key: string, value: string) => T,
  ): Promise<Page<T>> {
    const limit = clampPageSize(request.limit, this.maxPageSize);
    const gt =
      request.after !== undefined && (range.gt === undefined || request.after > range.gt)
        ? request.after
        : range.gt;
    const options = {
      limit: limit + 1,
      ...(gt === undefined ? {} : { gt }),
      ...(range.lt === undefined ? {} : { lt: range.lt }),
    };
    let entries: Array<[string, string]>;
    try {
      entries = await sublevel.iterator(options).all();
    } catch (error) {
      if (isLevelCorruption(error))
        throw new StoreCorruptError(sublevel.prefix, 'LevelDB reported corruption', { cause: error });
      throw error;
    }
    const items = entries.slice(0, limit).map(([key, value]) => decode(key, value));
    const last = entries[limit - 1];
    return entries.length > limit && last !== undefined ? { items, next: last[0] } : { items };
  }
}

function checkedRecord(value: string, storeKey: string): ModuleRecord {
  const where = `${CORE_SUBLEVELS.modules} ${storeKey}`;
  const record = decodeModuleRecord(value, where);
  // The key is the record's identity: a record filed under another key is not trusted.
  if (ModuleIndex.recordKey(record) !== storeKey)
    throw new StoreCorruptError(where, 'record does not match its key');
  return record;
}

async function read(sublevel: TextSublevel, key: string): Promise<string | undefined> {
  try {
    return await sublevel.get(key);
  } catch (error) {
    if (isLevelCorruption(error))
      throw new StoreCorruptError(`${sublevel.prefix} ${key}`, 'LevelDB reported corruption', {
        cause: error,
      });
    throw error;
  }
}
