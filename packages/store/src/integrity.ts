import { GojinnError } from '@gojinn/errors';
import { ModuleIndex } from './module-index.ts';
import type { ModuleRecord } from './records.ts';
import type { Store } from './store.ts';

/** Most problems one check reports before it stops looking. */
export const MAX_REPORTED_PROBLEMS = 100;

export interface IntegrityReport {
  /** Module versions whose blob, manifest, index entry and state all check out. */
  modulesChecked: number;
  /** One line per problem found, at most MAX_REPORTED_PROBLEMS. */
  problems: string[];
}

/**
 * Walks the whole module index and checks every cross-reference: each record's blob and
 * manifest exist and re-hash to their keys, its hash-index entry exists, its (name,
 * publisher) has a state whose active version is installed; each hash-index entry points at
 * a record. A full scan, page by page: for `gojinn modules --check` and crash tests, not
 * for request paths.
 */
export async function checkStoreIntegrity(store: Store): Promise<IntegrityReport> {
  const problems: string[] = [];
  const full = (): boolean => problems.length >= MAX_REPORTED_PROBLEMS;
  let modulesChecked = 0;
  let after: string | undefined;
  do {
    const page = await store.modules.listRecords(after === undefined ? {} : { after });
    for (const record of page.items) {
      const found = await checkRecord(store, record);
      if (found.length === 0) modulesChecked += 1;
      problems.push(...found.map((p) => `${record.name}@${record.version} (${record.publisher}): ${p}`));
      if (full()) return { modulesChecked, problems: problems.slice(0, MAX_REPORTED_PROBLEMS) };
    }
    after = page.next;
  } while (after !== undefined);

  // The reverse direction: no hash-index entry may point at a missing or different record.
  after = undefined;
  do {
    const keys: string[] = await store.modules.byHash
      .keys({ limit: store.limits.maxPageSize, ...(after === undefined ? {} : { gt: after }) })
      .all();
    for (const key of keys) {
      const separator = key.indexOf('/');
      const hash = key.slice(0, separator);
      const record = await describe(() => store.modules.getRecordByKey(key.slice(separator + 1)));
      if (typeof record === 'string') problems.push(`hash index entry ${key}: ${record}`);
      else if (record === undefined) problems.push(`hash index entry ${key} has no record`);
      else if (record.hash !== hash) problems.push(`hash index entry ${key} disagrees with its record`);
      if (full()) return { modulesChecked, problems: problems.slice(0, MAX_REPORTED_PROBLEMS) };
    }
    after = keys.length === store.limits.maxPageSize ? keys.at(-1) : undefined;
  } while (after !== undefined);
  return { modulesChecked, problems };
}

async function checkRecord(store: Store, record: ModuleRecord): Promise<string[]> {
  const found: string[] = [];
  const [blob, manifest, indexed, state] = await Promise.all([
    describe(() => store.blobs.get(record.hash)),
    describe(() => store.manifests.get(record.manifestHash)),
    store.modules.byHash.has(ModuleIndex.byHashKey(record.hash, record)),
    describe(() => store.modules.getState(record.name, record.publisher)),
  ]);
  if (blob === undefined) found.push(`blob ${record.hash} missing`);
  else if (typeof blob === 'string') found.push(blob);
  else if (blob.byteLength !== record.size)
    found.push(`blob is ${blob.byteLength} bytes, record says ${record.size}`);
  if (manifest === undefined) found.push(`manifest ${record.manifestHash} missing`);
  else if (typeof manifest === 'string') found.push(manifest);
  if (!indexed) found.push('no hash index entry');
  if (state === undefined) found.push('no install state');
  else if (typeof state === 'string') found.push(state);
  else if ((await store.modules.getRecord({ ...record, version: state.active })) === undefined) {
    found.push(`active version ${state.active} is not installed`);
  }
  return found;
}

/** Runs a read; a store error becomes its message (the check reports, it does not throw). */
async function describe<T>(read: () => Promise<T>): Promise<T | string> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof GojinnError) return error.message;
    throw error;
  }
}
