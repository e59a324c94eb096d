/**
 * Every limit the manifest package enforces, with its default. docs/manifest.md documents
 * each one and each has a test at the limit. Manifests and revocations are untrusted bytes
 * from peers: every size, count and length is bounded before anything else looks at it.
 */

/** Largest accepted manifest file, in bytes (file form, before parsing). */
export const MAX_MANIFEST_BYTES = 64 * 1024;

/** Largest accepted revocation record file, in bytes. */
export const MAX_REVOCATION_BYTES = 4 * 1024;

/** Largest accepted private key file, in bytes. */
export const MAX_KEY_FILE_BYTES = 4 * 1024;

/** Deepest nesting of JSON arrays/objects the strict parser accepts (a manifest needs 4). */
export const MAX_JSON_DEPTH = 8;

/** Length of a module name, in characters (charset: see NAME_PATTERN in schema.ts). */
export const MAX_NAME_LENGTH = 64;

/** Length of a version string, in characters. */
export const MAX_VERSION_LENGTH = 64;

/** Entries in one scope list (kv prefixes, http hosts or secret names of one capability). */
export const MAX_SCOPE_ENTRIES = 64;

/** Length of one kv key prefix, in bytes (printable ASCII). */
export const MAX_KV_PREFIX_LENGTH = 256;

/**
 * Length of one http host pattern, in characters: the longest valid one,
 * `https://` + `*.` + a 253-character DNS name + `:65535`. Checked before the grammar.
 */
export const MAX_HTTP_HOST_PATTERN_LENGTH = 8 + 2 + 253 + 6;

/** Length of one secret name, in characters. */
export const MAX_SECRET_NAME_LENGTH = 128;

/** Largest module size a manifest may declare, in bytes (1 GiB; nodes apply their own lower limit). */
export const MAX_DECLARED_MODULE_BYTES = 1024 * 1024 * 1024;

/** Smallest module size a manifest may declare: the 8-byte wasm header. */
export const MIN_DECLARED_MODULE_BYTES = 8;

/** Largest requested fuel: the largest integer a JSON number carries exactly. */
export const MAX_REQUESTED_FUEL = Number.MAX_SAFE_INTEGER;

/** Largest requested linear memory, in bytes: the whole 32-bit address space (65536 pages). */
export const MAX_REQUESTED_MEMORY_BYTES = 4 * 1024 * 1024 * 1024;

/** Largest requested wall-clock timeout, in milliseconds (one hour). */
export const MAX_REQUESTED_TIMEOUT_MS = 60 * 60 * 1000;

/** Length of a revocation's free-text reason, in characters (printable ASCII). */
export const MAX_REVOCATION_REASON_LENGTH = 256;

/** Entries the verification cache keeps before evicting the least recently used. */
export const DEFAULT_VERIFICATION_CACHE_ENTRIES = 4096;
