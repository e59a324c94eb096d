/**
 * kv scopes: a list of key prefixes (printable ASCII, so one character is one byte). A key is in
 * scope when it starts with any prefix; the empty prefix covers every key of the module.
 *
 * As sets of keys, the intersection of two prefix lists is exact and again a prefix list:
 * two prefixes share keys only when one starts with the other, and then they share exactly the
 * longer one's keys.
 */

/** True when `key` starts with one of `prefixes`. */
export function keyInPrefixes(key: Uint8Array, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => bytesStartWith(key, prefix));
}

/** True when every key starting with `prefix` is in scope (what listing by `prefix` needs). */
export function prefixWithinPrefixes(prefix: Uint8Array, prefixes: readonly string[]): boolean {
  return keyInPrefixes(prefix, prefixes);
}

function bytesStartWith(bytes: Uint8Array, prefix: string): boolean {
  if (prefix.length > bytes.byteLength) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** The same key set with no prefix that another covers, sorted (one spelling per set). */
export function minimalPrefixes(prefixes: readonly string[]): string[] {
  const sorted = [...new Set(prefixes)].sort();
  const out: string[] = [];
  // Sorted order puts a prefix right before the strings it covers, so comparing with the last
  // kept entry is enough.
  for (const prefix of sorted) {
    const last = out[out.length - 1];
    if (last === undefined || !prefix.startsWith(last)) out.push(prefix);
  }
  return out;
}

export function intersectPrefixes(a: readonly string[], b: readonly string[]): string[] {
  const shared: string[] = [];
  for (const x of a) {
    for (const y of b) {
      if (x.startsWith(y)) shared.push(x);
      else if (y.startsWith(x)) shared.push(y);
    }
  }
  return minimalPrefixes(shared);
}

export function unionPrefixes(a: readonly string[], b: readonly string[]): string[] {
  return minimalPrefixes([...a, ...b]);
}
