/**
 * Where a module's keys live in the store's `kv` sublevel. Every stored key is
 *
 *   e/<publisher>/<name>/<hex of the user key>     an entry (value: the bytes the guest set)
 *   u/<publisher>/<name>                           the module's usage (value: KvUsage JSON)
 *
 * with publisher and name `encodeURIComponent`-encoded (so neither contains `/`) and the user
 * key as lowercase hex (only `0-9a-f`). The key string therefore splits on `/` into exactly
 * these parts, whatever bytes the guest chose: no user key of one module can equal, or fall in
 * the range of, another module's keys. Hex keeps the bytewise order of user keys, so listing by
 * prefix and paging by cursor are plain range reads.
 */

/** The module a namespace belongs to: the same publisher and name keep their data across versions. */
export interface KvOwner {
  readonly publisher: string;
  readonly name: string;
}

export function namespaceOf(owner: KvOwner): string {
  return `${encodeURIComponent(owner.publisher)}/${encodeURIComponent(owner.name)}`;
}

export function entryKey(namespace: string, key: Uint8Array): string {
  return `e/${namespace}/${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')}`;
}

export function usageKey(namespace: string): string {
  return `u/${namespace}`;
}

/** The user key of an entry key of `namespace` (undefined when it is not one). */
export function userKeyOf(namespace: string, stored: string): Uint8Array | undefined {
  const head = `e/${namespace}/`;
  if (!stored.startsWith(head)) return undefined;
  const hex = stored.slice(head.length);
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) return undefined;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/**
 * The range of entry keys of `namespace` that start with `prefix`, strictly after `after` when
 * given: hex digits sort below `g`, so `<head><hex prefix>g` bounds every longer key.
 */
export function listRange(
  namespace: string,
  prefix: Uint8Array,
  after: Uint8Array | undefined,
): { gte?: string; gt?: string; lt: string } {
  const lower = entryKey(namespace, prefix);
  const upper = `${lower}g`;
  if (after !== undefined && after.byteLength > 0) {
    const cursor = entryKey(namespace, after);
    if (cursor >= lower) return { gt: cursor, lt: upper };
  }
  return { gte: lower, lt: upper };
}
