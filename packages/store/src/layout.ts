/**
 * The store's key layout: every key lives in exactly one named sublevel, and every sublevel
 * name is allocated here, once. docs/store.md draws the full layout.
 *
 * abstract-level prefixes a sublevel's keys with `!name!`; because the closing `!` cannot
 * appear in a name, two distinct names can never produce overlapping key ranges, whatever
 * keys are written inside them. Later features (per-module KV, secrets, audit log, the
 * libp2p datastore) take one of the reserved EXTENSION_SUBLEVELS instead of inventing names.
 */

/** Bumped when the meaning of existing keys or values changes; a store with another value is refused. */
export const LAYOUT_VERSION = 1;

/** Sublevels the store itself reads and writes. */
export const CORE_SUBLEVELS = {
  /** `layout` → LAYOUT_VERSION. Written once, when the data directory is first used. */
  meta: 'meta',
  /** `<sha256 hex of the module bytes>` → the module bytes. */
  blobs: 'blobs',
  /** `<sha256 hex of the manifest bytes>` → the signed manifest, exactly as received. */
  manifests: 'manifests',
  /** `<name>/<publisher>/<version>` → ModuleRecord (JSON). */
  modules: 'modules',
  /** `<module hash>/<name>/<publisher>/<version>` → '' (which entries use a blob). */
  modulesByHash: 'modules-by-hash',
  /** `<name>/<publisher>` → ModuleState (JSON): the active version and the rollback bar. */
  moduleState: 'module-state',
  /** `<name>/<publisher>` → the version the operator pinned (may be installed later). */
  pins: 'pins',
  /** `publisher/<publisher>` or `version/<name>/<publisher>/<version>` → signed revocation record. */
  revocations: 'revocations',
} as const;

/**
 * Names reserved for later features, so they cannot clash with the core layout or with each
 * other. A feature gets its sublevel through `Store.extension(name)`.
 */
export const EXTENSION_SUBLEVELS = [
  'kv',
  'secrets',
  'audit',
  'datastore',
  'gossip',
  'policies',
  'api-keys',
] as const;

export type ExtensionSublevelName = (typeof EXTENSION_SUBLEVELS)[number];

/** Longest accepted key component (name, publisher, version, hash), in UTF-16 code units. */
export const MAX_KEY_PART_LENGTH = 256;

/** Separates the components of a composite key. encodeKeyPart never emits it. */
const SEPARATOR = '/';
/** The character right after SEPARATOR: the exclusive upper bound of a prefix range. */
const AFTER_SEPARATOR = String.fromCharCode(SEPARATOR.charCodeAt(0) + 1);

/**
 * Encodes one component of a composite key. encodeURIComponent escapes `/` (and `%`), so a
 * component can never forge a separator: `a/b` + `c` and `a` + `b/c` are different keys.
 */
export function encodeKeyPart(part: string): string {
  if (part.length === 0 || part.length > MAX_KEY_PART_LENGTH) {
    throw new RangeError(`key component length ${part.length} outside 1..${MAX_KEY_PART_LENGTH}`);
  }
  return encodeURIComponent(part);
}

export function decodeKeyPart(part: string): string {
  return decodeURIComponent(part);
}

export function compositeKey(...parts: string[]): string {
  return parts.map(encodeKeyPart).join(SEPARATOR);
}

/** Splits a composite key back into its components; undefined when the count is not `expected`. */
export function splitCompositeKey(key: string, expected: number): string[] | undefined {
  const parts = key.split(SEPARATOR);
  if (parts.length !== expected) return undefined;
  try {
    return parts.map(decodeKeyPart);
  } catch {
    return undefined;
  }
}

/** The key range holding every composite key that starts with the given components. */
export function prefixRange(...parts: string[]): { gt: string; lt: string } {
  const prefix = compositeKey(...parts);
  return { gt: prefix + SEPARATOR, lt: prefix + AFTER_SEPARATOR };
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;
