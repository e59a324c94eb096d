import { GojinnError } from '@gojinn/errors';
import { StoreCorruptError, isLevelCorruption } from './errors.ts';
import { CORE_SUBLEVELS, compositeKey, splitCompositeKey } from './layout.ts';
import { clampPageSize, type Page, type PageRequest } from './limits.ts';
import type { ModuleKey } from './records.ts';
import type { AtomicWrite, BytesSublevel } from './sublevels.ts';

/** What a revocation covers: every module of a publisher key, or one version of one module. */
export type RevocationTarget =
  | { kind: 'publisher'; publisher: string }
  | { kind: 'version'; name: string; publisher: string; version: string };

export interface StoredRevocation {
  target: RevocationTarget;
  /** The signed record exactly as received, kept so it can be re-verified and re-shared. */
  record: Uint8Array;
}

/**
 * Revocations, keyed so that "is this module revoked?" is two point reads, whatever the
 * number of revocations. The store keeps the signed bytes; verifying them is the registry's job.
 * Revocations are never deleted: once revoked, always revoked.
 */
export class RevocationStore {
  readonly sublevel: BytesSublevel;
  readonly maxRecordBytes: number;
  readonly maxPageSize: number;
  readonly #write: AtomicWrite;

  constructor(sublevel: BytesSublevel, maxRecordBytes: number, maxPageSize: number, write: AtomicWrite) {
    this.sublevel = sublevel;
    this.maxRecordBytes = maxRecordBytes;
    this.maxPageSize = maxPageSize;
    this.#write = write;
  }

  static key(target: RevocationTarget): string {
    return target.kind === 'publisher'
      ? compositeKey('publisher', target.publisher)
      : compositeKey('version', target.name, target.publisher, target.version);
  }

  /** Persists a revocation durably. Re-applying the same target keeps the first record. */
  async put(target: RevocationTarget, record: Uint8Array): Promise<void> {
    if (record.byteLength > this.maxRecordBytes) {
      throw new GojinnError(
        'bad_request',
        `revocation record of ${record.byteLength} bytes exceeds limit maxRevocationBytes (${this.maxRecordBytes} bytes)`,
      );
    }
    const key = RevocationStore.key(target);
    if (await this.sublevel.has(key)) return;
    await this.#write([{ type: 'put', sublevel: this.sublevel, key, value: record }]);
  }

  async get(target: RevocationTarget): Promise<Uint8Array | undefined> {
    return this.guard(() => this.sublevel.get(RevocationStore.key(target)));
  }

  /** The revocation that covers `module` (its publisher key first, then its version), if any. */
  async find(module: ModuleKey): Promise<RevocationTarget | undefined> {
    const byPublisher: RevocationTarget = { kind: 'publisher', publisher: module.publisher };
    const byVersion: RevocationTarget = { kind: 'version', ...pick(module) };
    const found = await this.guard(() =>
      this.sublevel.hasMany([RevocationStore.key(byPublisher), RevocationStore.key(byVersion)]),
    );
    if (found[0] === true) return byPublisher;
    if (found[1] === true) return byVersion;
    return undefined;
  }

  async list(request: PageRequest = {}): Promise<Page<StoredRevocation>> {
    const limit = clampPageSize(request.limit, this.maxPageSize);
    const entries = await this.guard(() =>
      this.sublevel
        .iterator({ limit: limit + 1, ...(request.after === undefined ? {} : { gt: request.after }) })
        .all(),
    );
    const items = entries.slice(0, limit).map(([key, record]) => ({ target: decodeTarget(key), record }));
    const last = entries[limit - 1];
    return entries.length > limit && last !== undefined ? { items, next: last[0] } : { items };
  }

  private async guard<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (isLevelCorruption(error)) {
        throw new StoreCorruptError(CORE_SUBLEVELS.revocations, 'LevelDB reported corruption', {
          cause: error,
        });
      }
      throw error;
    }
  }
}

function pick(module: ModuleKey): ModuleKey {
  return { name: module.name, publisher: module.publisher, version: module.version };
}

function decodeTarget(key: string): RevocationTarget {
  const where = `${CORE_SUBLEVELS.revocations} ${key}`;
  const kind = key.split('/', 1)[0];
  if (kind === 'publisher') {
    const parts = splitCompositeKey(key, 2);
    if (parts?.[1] !== undefined) return { kind, publisher: parts[1] };
  } else if (kind === 'version') {
    const parts = splitCompositeKey(key, 4);
    if (parts !== undefined) {
      const [, name = '', publisher = '', version = ''] = parts;
      return { kind, name, publisher, version };
    }
  }
  throw new StoreCorruptError(where, 'malformed revocation key');
}
