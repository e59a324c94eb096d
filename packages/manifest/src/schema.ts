import { CAPABILITIES, type Capability } from '@gojinn/abi';
import { GojinnError, type ErrorCode } from '@gojinn/errors';
import semver from 'semver';
import { decodeBase64url } from './base64url.ts';
import { SIGNATURE_BYTES, parsePublicKey } from './keys.ts';
import {
  MAX_DECLARED_MODULE_BYTES,
  MAX_HTTP_HOST_PATTERN_LENGTH,
  MAX_KV_PREFIX_LENGTH,
  MAX_NAME_LENGTH,
  MAX_REQUESTED_FUEL,
  MAX_REQUESTED_MEMORY_BYTES,
  MAX_REQUESTED_TIMEOUT_MS,
  MAX_SCOPE_ENTRIES,
  MAX_SECRET_NAME_LENGTH,
  MAX_VERSION_LENGTH,
  MIN_DECLARED_MODULE_BYTES,
} from './limits.ts';
import { describeValue, printable, quote } from './quote.ts';
import { isJsonObject, type JsonObject, type JsonValue } from './strict-json.ts';

/** The manifest schema this code reads and writes (docs/manifest.md). */
export const MANIFEST_SCHEMA_VERSION = 1;

/** Module names: lowercase ASCII letters and digits, then also `.`, `_`, `-`; 1..MAX_NAME_LENGTH. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
/** Secret names: a letter or `_`, then letters, digits, `_`, `.`, `-`; 1..MAX_SECRET_NAME_LENGTH. */
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** kv prefixes: printable ASCII (space to `~`); the empty prefix means every key of the module. */
export const KV_PREFIX_PATTERN = /^[\x20-\x7e]*$/;
export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;
/** `Date.prototype.toISOString()` output: UTC, millisecond precision, four-digit year. */
const TIMESTAMP_PATTERN = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;
const HTTP_HOST_PATTERN = /^(https?):\/\/(\*\.)?([a-z0-9.-]+)(?::([1-9][0-9]{0,4}))?$/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };
const WASM_PAGE_BYTES = 65536;

/** Key prefixes in the module's own KV namespace that a kv capability may touch. */
export interface KvScope {
  prefixes: string[];
}
/** Origins `net.http` may reach: `scheme://host[:port]`, host optionally `*.`-prefixed. */
export interface HttpScope {
  hosts: string[];
}
/** Secret names `secrets.read` may read. */
export interface SecretScope {
  names: string[];
}
/** Capabilities without a scope in schema 1 carry an empty object (room for scopes later). */
export type EmptyScope = Record<string, never>;

/** Declared capabilities, keyed by capability name; absent ⇒ not declared. */
export interface DeclaredCapabilities {
  'kv.read'?: KvScope;
  'kv.write'?: KvScope;
  'db.query'?: EmptyScope;
  'net.http'?: HttpScope;
  'secrets.read'?: SecretScope;
  'debug.enable'?: EmptyScope;
}

/** Limits the publisher asks for; absent ⇒ the node's default. Nodes clamp to their ceilings. */
export interface RequestedLimits {
  fuel?: number;
  memoryBytes?: number;
  timeoutMs?: number;
}

/** Everything a manifest signs: every field but the signature. */
export interface UnsignedManifest {
  schema: typeof MANIFEST_SCHEMA_VERSION;
  name: string;
  version: string;
  /** Lowercase hex SHA-256 of the module bytes: the module's content id. */
  sha256: string;
  /** Exact byte length of the module. */
  size: number;
  capabilities: DeclaredCapabilities;
  limits: RequestedLimits;
  /** The publisher public key, text form `ed25519:<base64url>`. */
  publisher: string;
  /** Creation time, `YYYY-MM-DDTHH:MM:SS.sssZ`. */
  created: string;
}

/** A parsed manifest. Parsing checks its shape only: verifyManifest/verifyModule check the signature. */
export interface Manifest extends UnsignedManifest {
  /** ed25519 signature over manifestSigningBytes, unpadded base64url (86 characters). */
  signature: string;
}

/** What the field checks throw: `signature_invalid` for untrusted documents, `bad_request` for local input. */
export class FieldChecker {
  readonly code: ErrorCode;
  readonly what: string;

  constructor(code: ErrorCode, what: string) {
    this.code = code;
    this.what = what;
  }

  fail(field: string, message: string): never {
    throw new GojinnError(this.code, `${this.what} field '${field}' ${message}`);
  }

  object(
    value: JsonValue | undefined,
    field: string,
    required: readonly string[],
    optional: readonly string[] = [],
  ): JsonObject {
    if (!isJsonObject(value)) this.fail(field, 'must be an object');
    for (const key of Object.keys(value)) {
      if (!required.includes(key) && !optional.includes(key))
        this.fail(joinField(field, printable(key)), 'is not a known field');
    }
    for (const key of required) {
      if (!Object.hasOwn(value, key)) this.fail(joinField(field, key), 'is missing');
    }
    return value;
  }

  string(value: JsonValue | undefined, field: string, maxLength: number): string {
    if (typeof value !== 'string') this.fail(field, 'must be a string');
    if (value.length > maxLength)
      this.fail(field, `is ${value.length} characters long; the limit is ${maxLength}`);
    return value;
  }

  integer(value: JsonValue | undefined, field: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) this.fail(field, 'must be an integer');
    if (value < min || value > max) this.fail(field, `is ${value}; it must be between ${min} and ${max}`);
    return value;
  }

  name(value: JsonValue | undefined, field: string): string {
    const name = this.string(value, field, MAX_NAME_LENGTH);
    if (!NAME_PATTERN.test(name)) {
      this.fail(
        field,
        `${quote(name)} must be lowercase letters, digits, '.', '_' or '-', starting with a letter or digit`,
      );
    }
    return name;
  }

  version(value: JsonValue | undefined, field: string): string {
    const version = this.string(value, field, MAX_VERSION_LENGTH);
    // semver.valid normalises ("v1.2.3" → "1.2.3") and drops build metadata, which semver
    // ignores when ordering: only a string that is already its own normal form is accepted,
    // so one version has one spelling and rollback checks compare what was signed.
    if (semver.valid(version) !== version) {
      this.fail(
        field,
        `${quote(version)} is not a semantic version in normal form (e.g. 1.2.3 or 1.2.3-rc.1; no build metadata)`,
      );
    }
    return version;
  }

  sha256(value: JsonValue | undefined, field: string): string {
    const hash = this.string(value, field, 64);
    if (!SHA256_HEX_PATTERN.test(hash)) this.fail(field, 'must be 64 lowercase hex characters (SHA-256)');
    return hash;
  }

  timestamp(value: JsonValue | undefined, field: string): string {
    const text = this.string(value, field, 24);
    const time = Date.parse(text);
    if (!TIMESTAMP_PATTERN.test(text) || !Number.isFinite(time) || new Date(time).toISOString() !== text) {
      this.fail(field, `${quote(text)} must be a UTC time like 2026-01-31T12:00:00.000Z`);
    }
    return text;
  }

  publicKey(value: JsonValue | undefined, field: string): string {
    const text = this.string(value, field, 64);
    try {
      parsePublicKey(text, this.code);
    } catch (error) {
      this.fail(field, (error as Error).message);
    }
    return text;
  }

  signature(value: JsonValue | undefined, field: string): string {
    const text = this.string(value, field, 128);
    decodeBase64url(text, SIGNATURE_BYTES, `${this.what} field '${field}'`, this.code);
    return text;
  }

  /** A list that is sorted, without duplicates, of 1..MAX_SCOPE_ENTRIES entries: one spelling per set. */
  sortedSet(
    value: JsonValue | undefined,
    field: string,
    entry: (item: JsonValue | undefined, field: string) => string,
  ): string[] {
    if (!Array.isArray(value)) this.fail(field, 'must be an array');
    if (value.length === 0) this.fail(field, 'must list at least one entry');
    if (value.length > MAX_SCOPE_ENTRIES)
      this.fail(field, `has ${value.length} entries; the limit is ${MAX_SCOPE_ENTRIES}`);
    const items = value.map((item, i) => entry(item, `${field}[${i}]`));
    for (let i = 1; i < items.length; i++) {
      const previous = items[i - 1] as string;
      const current = items[i] as string;
      if (previous === current) this.fail(`${field}[${i}]`, `repeats ${quote(current)}`);
      if (previous > current) this.fail(field, 'must be sorted (by UTF-16 code units)');
    }
    return items;
  }

  kvPrefix(value: JsonValue | undefined, field: string): string {
    const prefix = this.string(value, field, MAX_KV_PREFIX_LENGTH);
    if (!KV_PREFIX_PATTERN.test(prefix)) this.fail(field, 'must be printable ASCII');
    return prefix;
  }

  secretName(value: JsonValue | undefined, field: string): string {
    const name = this.string(value, field, MAX_SECRET_NAME_LENGTH);
    if (!SECRET_NAME_PATTERN.test(name)) {
      this.fail(
        field,
        `${quote(name)} must be letters, digits, '_', '.' or '-', starting with a letter or '_'`,
      );
    }
    return name;
  }

  httpHost(value: JsonValue | undefined, field: string): string {
    const pattern = this.string(value, field, MAX_HTTP_HOST_PATTERN_LENGTH);
    const problem = httpHostPatternProblem(pattern);
    if (problem !== undefined) this.fail(field, `${quote(pattern)} ${problem}`);
    return pattern;
  }
}

function joinField(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/**
 * Why `pattern` is not an http host pattern, or undefined when it is one. The grammar:
 * `http|https` `://` [`*.`] lowercase DNS name (labels of 1..63 `[a-z0-9-]`, not starting or
 * ending with `-`; at most 253 characters; a wildcard needs at least two labels after it)
 * [`:` port 1..65535, not the scheme's default port, which is written by omitting it].
 * No paths, users, IPv6 literals or trailing dots: one spelling per origin.
 */
export function httpHostPatternProblem(pattern: string): string | undefined {
  const match = HTTP_HOST_PATTERN.exec(pattern);
  if (match === null)
    return "must be 'http://' or 'https://' then a lowercase host name and an optional ':port'";
  const [, scheme = '', wildcard, host = '', port] = match;
  if (host.length > 253) return 'has a host name longer than 253 characters';
  const labels = host.split('.');
  if (!labels.every((label) => DNS_LABEL.test(label))) return 'has an empty or malformed DNS label';
  if (wildcard !== undefined && labels.length < 2)
    return "has a '*.' wildcard over a single label (too broad)";
  if (port !== undefined) {
    if (Number(port) > 65535) return 'has a port above 65535';
    if (port === DEFAULT_PORTS[scheme]) return `names the default port ${port}; omit it`;
  }
  return undefined;
}

/** Capabilities whose scope is a kv prefix list, an http host list, a secret name list, or nothing. */
const KV_SCOPED: readonly Capability[] = ['kv.read', 'kv.write'];

/** Checks `value` is a DeclaredCapabilities object and returns a fresh copy of it. */
export function checkCapabilities(
  check: FieldChecker,
  value: JsonValue | undefined,
  field: string,
): DeclaredCapabilities {
  const object = check.object(value, field, [], CAPABILITIES);
  const out: DeclaredCapabilities = {};
  for (const capability of CAPABILITIES) {
    const scope = object[capability];
    if (scope === undefined) continue;
    const at = `${field}.${capability}`;
    if (KV_SCOPED.includes(capability)) {
      const kv = check.object(scope, at, ['prefixes']);
      out[capability as 'kv.read' | 'kv.write'] = {
        prefixes: check.sortedSet(kv.prefixes, `${at}.prefixes`, (v, f) => check.kvPrefix(v, f)),
      };
    } else if (capability === 'net.http') {
      const http = check.object(scope, at, ['hosts']);
      out['net.http'] = { hosts: check.sortedSet(http.hosts, `${at}.hosts`, (v, f) => check.httpHost(v, f)) };
    } else if (capability === 'secrets.read') {
      const secrets = check.object(scope, at, ['names']);
      out['secrets.read'] = {
        names: check.sortedSet(secrets.names, `${at}.names`, (v, f) => check.secretName(v, f)),
      };
    } else {
      check.object(scope, at, []);
      (out as Record<string, EmptyScope>)[capability] = {};
    }
  }
  return out;
}

export function checkLimits(
  check: FieldChecker,
  value: JsonValue | undefined,
  field: string,
): RequestedLimits {
  const object = check.object(value, field, [], ['fuel', 'memoryBytes', 'timeoutMs']);
  const out: RequestedLimits = {};
  if (object.fuel !== undefined)
    out.fuel = check.integer(object.fuel, `${field}.fuel`, 1, MAX_REQUESTED_FUEL);
  if (object.memoryBytes !== undefined) {
    const bytes = check.integer(
      object.memoryBytes,
      `${field}.memoryBytes`,
      WASM_PAGE_BYTES,
      MAX_REQUESTED_MEMORY_BYTES,
    );
    if (bytes % WASM_PAGE_BYTES !== 0)
      check.fail(
        `${field}.memoryBytes`,
        `is ${bytes}; it must be a multiple of ${WASM_PAGE_BYTES} (one wasm page)`,
      );
    out.memoryBytes = bytes;
  }
  if (object.timeoutMs !== undefined)
    out.timeoutMs = check.integer(object.timeoutMs, `${field}.timeoutMs`, 1, MAX_REQUESTED_TIMEOUT_MS);
  return out;
}

const UNSIGNED_FIELDS = [
  'schema',
  'name',
  'version',
  'sha256',
  'size',
  'capabilities',
  'limits',
  'publisher',
  'created',
] as const;

/** Checks the schema version first, so a newer schema gets a message about the version, not its fields. */
export function checkSchemaVersion(
  check: FieldChecker,
  value: JsonValue | undefined,
  expected: number,
): void {
  if (!isJsonObject(value)) throw new GojinnError(check.code, `${check.what} must be a JSON object`);
  if (value.schema !== expected) {
    throw new GojinnError(
      check.code,
      `${check.what} has schema ${describeValue(value.schema ?? null)}; this node reads schema ${expected}`,
    );
  }
}

/** Checks every field of a manifest (or, with `signed: false`, of its unsigned part) and returns a fresh copy. */
export function checkManifest(value: JsonValue | undefined, code: ErrorCode, signed: true): Manifest;
export function checkManifest(value: JsonValue | undefined, code: ErrorCode, signed: false): UnsignedManifest;
export function checkManifest(
  value: JsonValue | undefined,
  code: ErrorCode,
  signed: boolean,
): UnsignedManifest | Manifest {
  const check = new FieldChecker(code, 'manifest');
  checkSchemaVersion(check, value, MANIFEST_SCHEMA_VERSION);
  const object = check.object(value, '', signed ? [...UNSIGNED_FIELDS, 'signature'] : UNSIGNED_FIELDS);
  const unsigned: UnsignedManifest = {
    schema: MANIFEST_SCHEMA_VERSION,
    name: check.name(object.name, 'name'),
    version: check.version(object.version, 'version'),
    sha256: check.sha256(object.sha256, 'sha256'),
    size: check.integer(object.size, 'size', MIN_DECLARED_MODULE_BYTES, MAX_DECLARED_MODULE_BYTES),
    capabilities: checkCapabilities(check, object.capabilities, 'capabilities'),
    limits: checkLimits(check, object.limits, 'limits'),
    publisher: check.publicKey(object.publisher, 'publisher'),
    created: check.timestamp(object.created, 'created'),
  };
  return signed ? { ...unsigned, signature: check.signature(object.signature, 'signature') } : unsigned;
}

/** The declared capabilities as a sorted list. */
export function declaredCapabilities(capabilities: DeclaredCapabilities): Capability[] {
  return CAPABILITIES.filter((capability) => capabilities[capability] !== undefined).sort();
}
