/**
 * Grants: which capabilities, with which scopes, a node gives to which modules; and effective
 * rights = declared ∩ granted ∩ (optional) peer ceiling. Pure functions over plain data: the
 * daemon parses its config file's `grants` section with `parseGrants`, the mesh passes a
 * per-peer ceiling of the same shape. docs/capabilities.md, "Grants", is the reference.
 *
 * Scopes only ever narrow: each capability's scope in the result is the intersection of its
 * scopes in the inputs, as sets (of keys, origins, secret names); a capability missing from any
 * input, or whose intersection is empty, is missing from the result.
 */
import { CAPABILITIES, type Capability } from '@gojinn/abi';
import { GojinnError } from '@gojinn/errors';
import {
  KV_PREFIX_PATTERN,
  MAX_KV_PREFIX_LENGTH,
  MAX_NAME_LENGTH,
  MAX_SCOPE_ENTRIES,
  MAX_SECRET_NAME_LENGTH,
  NAME_PATTERN,
  SECRET_NAME_PATTERN,
  httpHostPatternProblem,
  isPublicKeyText,
} from '@gojinn/manifest';
import type { CapabilityRights } from './handler.ts';
import { intersectPatterns, minimalPatterns, unionPatterns } from './scopes/http-hosts.ts';
import { intersectPrefixes, minimalPrefixes, unionPrefixes } from './scopes/kv-prefixes.ts';
import { intersectNames, unionNames } from './scopes/secret-names.ts';

/** Most rules a node's grants may hold. */
export const MAX_GRANT_RULES = 10_000;

/**
 * One grant rule. It applies to a module when every selector it has matches: `module` (the
 * manifest name) and/or `publisher` (the key text); at least one is required — a rule for
 * every module on the node would be an implicit permission.
 */
export interface GrantRule {
  module?: string;
  publisher?: string;
  /** The most this rule grants, per capability, in the manifest's scope shapes. */
  capabilities: CapabilityRights;
}

export interface NodeGrants {
  rules: GrantRule[];
  /**
   * Whether this node lets any module use debug.enable. False by default and always false on a
   * strict (production) node: `parseGrants` refuses a strict config that sets it.
   */
  allowDebug: boolean;
}

export const NO_GRANTS: Readonly<NodeGrants> = Object.freeze({ rules: [], allowDebug: false });

type Scoped = 'kv.read' | 'kv.write' | 'net.http' | 'secrets.read';

function scopeList(rights: CapabilityRights, capability: Scoped): string[] {
  if (capability === 'kv.read' || capability === 'kv.write') return rights[capability]?.prefixes ?? [];
  if (capability === 'net.http') return rights['net.http']?.hosts ?? [];
  return rights['secrets.read']?.names ?? [];
}

function withScope(out: CapabilityRights, capability: Capability, list: string[] | undefined): void {
  if (list !== undefined && list.length === 0) return; // an empty scope grants nothing
  if (capability === 'kv.read' || capability === 'kv.write') out[capability] = { prefixes: list ?? [] };
  else if (capability === 'net.http') out['net.http'] = { hosts: list ?? [] };
  else if (capability === 'secrets.read') out['secrets.read'] = { names: list ?? [] };
  else out[capability] = {};
}

function combine(a: CapabilityRights, b: CapabilityRights, mode: 'intersect' | 'union'): CapabilityRights {
  const out: CapabilityRights = {};
  for (const capability of CAPABILITIES) {
    const inA = a[capability] !== undefined;
    const inB = b[capability] !== undefined;
    if (mode === 'intersect' ? !(inA && inB) : !(inA || inB)) continue;
    if (capability === 'db.query' || capability === 'debug.enable') {
      withScope(out, capability, undefined);
      continue;
    }
    const x = scopeList(a, capability);
    const y = scopeList(b, capability);
    let list: string[];
    if (capability === 'kv.read' || capability === 'kv.write') {
      list = mode === 'intersect' ? intersectPrefixes(x, y) : unionPrefixes(x, y);
    } else if (capability === 'net.http') {
      list = mode === 'intersect' ? intersectPatterns(x, y) : unionPatterns(x, y);
    } else {
      list = mode === 'intersect' ? intersectNames(x, y) : unionNames(x, y);
    }
    withScope(out, capability, list);
  }
  return out;
}

/** Rights held in every one of `rights`, each scope the intersection of its scopes. */
export function intersectRights(first: CapabilityRights, ...rest: CapabilityRights[]): CapabilityRights {
  return rest.reduce((acc, next) => combine(acc, next, 'intersect'), normalizeRights(first));
}

/** The same rights with each scope list deduplicated, minimal and sorted; empty scopes removed. */
export function normalizeRights(rights: CapabilityRights): CapabilityRights {
  return combine(rights, {}, 'union');
}

/** What the node's rules grant `module`: the union of every rule that matches it. */
export function grantedTo(grants: NodeGrants, module: { name: string; publisher: string }): CapabilityRights {
  let granted: CapabilityRights = {};
  for (const rule of grants.rules) {
    if (rule.module !== undefined && rule.module !== module.name) continue;
    if (rule.publisher !== undefined && rule.publisher !== module.publisher) continue;
    granted = combine(granted, rule.capabilities, 'union');
  }
  return granted;
}

export interface EffectiveRightsInput {
  /** The manifest's declared capabilities (the module asks for no more than this). */
  declared: CapabilityRights;
  /** What the node grants the module (`grantedTo`). */
  granted: CapabilityRights;
  /** What the calling peer may use on this node, for federated invocations. */
  ceiling?: CapabilityRights;
  /** `NodeGrants.allowDebug`: without it debug.enable is never effective. */
  allowDebug: boolean;
}

/** declared ∩ granted ∩ ceiling, without debug.enable unless the node allows debug. */
export function effectiveRights(input: EffectiveRightsInput): CapabilityRights {
  const rights =
    input.ceiling === undefined
      ? intersectRights(input.declared, input.granted)
      : intersectRights(input.declared, input.granted, input.ceiling);
  if (!input.allowDebug) delete rights['debug.enable'];
  return rights;
}

// ---- parsing the node config's `grants` section ----

function fail(at: string, message: string): never {
  throw new GojinnError('bad_request', `${at} ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, at: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(at, `has an unknown field ${JSON.stringify(key.slice(0, 64))}`);
  }
}

function stringList(value: unknown, at: string, entry: (item: unknown, at: string) => string): string[] {
  if (!Array.isArray(value)) fail(at, 'must be an array of strings');
  if (value.length === 0) fail(at, 'must list at least one entry (omit the capability to grant nothing)');
  if (value.length > MAX_SCOPE_ENTRIES)
    fail(at, `has ${value.length} entries; the limit is ${MAX_SCOPE_ENTRIES}`);
  return value.map((item, i) => entry(item, `${at}[${i}]`));
}

function kvPrefix(item: unknown, at: string): string {
  if (typeof item !== 'string') fail(at, 'must be a string');
  if (item.length > MAX_KV_PREFIX_LENGTH) fail(at, `is longer than ${MAX_KV_PREFIX_LENGTH} characters`);
  if (!KV_PREFIX_PATTERN.test(item)) fail(at, 'must be printable ASCII');
  return item;
}

function httpHost(item: unknown, at: string): string {
  if (typeof item !== 'string') fail(at, 'must be a string');
  const problem = httpHostPatternProblem(item);
  if (problem !== undefined) fail(at, `${JSON.stringify(item.slice(0, 64))} ${problem}`);
  return item;
}

function secretName(item: unknown, at: string): string {
  if (typeof item !== 'string') fail(at, 'must be a string');
  if (item.length > MAX_SECRET_NAME_LENGTH || !SECRET_NAME_PATTERN.test(item)) {
    fail(at, `must be a secret name (letters, digits, '_', '.', '-'; at most ${MAX_SECRET_NAME_LENGTH})`);
  }
  return item;
}

/** Parses a capabilities object (manifest shapes; lists in any order, normalised). */
export function parseRights(value: unknown, at: string): CapabilityRights {
  if (!isObject(value)) fail(at, 'must be an object of capabilities');
  checkKeys(value, at, CAPABILITIES);
  const out: CapabilityRights = {};
  for (const capability of CAPABILITIES) {
    const scope = value[capability];
    if (scope === undefined) continue;
    const where = `${at}.${capability}`;
    if (!isObject(scope)) fail(where, 'must be an object');
    if (capability === 'kv.read' || capability === 'kv.write') {
      checkKeys(scope, where, ['prefixes']);
      out[capability] = {
        prefixes: minimalPrefixes(stringList(scope.prefixes, `${where}.prefixes`, kvPrefix)),
      };
    } else if (capability === 'net.http') {
      checkKeys(scope, where, ['hosts']);
      out['net.http'] = { hosts: minimalPatterns(stringList(scope.hosts, `${where}.hosts`, httpHost)) };
    } else if (capability === 'secrets.read') {
      checkKeys(scope, where, ['names']);
      out['secrets.read'] = { names: unionNames(stringList(scope.names, `${where}.names`, secretName), []) };
    } else {
      checkKeys(scope, where, []);
      out[capability] = {};
    }
  }
  return out;
}

/**
 * Parses the `grants` section of a node config: `{"allowDebug"?: boolean, "rules": [{"module"?,
 * "publisher"?, "capabilities": {...}}]}`. Throws `bad_request` naming the field and the problem.
 * `strict` is the node's mode: a strict node refuses `allowDebug: true` and debug.enable rules.
 */
export function parseGrants(value: unknown, options: { strict: boolean; at?: string }): NodeGrants {
  const at = options.at ?? 'grants';
  if (!isObject(value)) fail(at, 'must be an object');
  checkKeys(value, at, ['rules', 'allowDebug']);
  const allowDebug = value.allowDebug ?? false;
  if (typeof allowDebug !== 'boolean') fail(`${at}.allowDebug`, 'must be true or false');
  if (allowDebug && options.strict) fail(`${at}.allowDebug`, 'cannot be true on a strict (production) node');
  const rulesValue = value.rules ?? [];
  if (!Array.isArray(rulesValue)) fail(`${at}.rules`, 'must be an array');
  if (rulesValue.length > MAX_GRANT_RULES) {
    fail(`${at}.rules`, `has ${rulesValue.length} rules; the limit is ${MAX_GRANT_RULES}`);
  }
  const seen = new Set<string>();
  const rules = rulesValue.map((ruleValue, i): GrantRule => {
    const where = `${at}.rules[${i}]`;
    if (!isObject(ruleValue)) fail(where, 'must be an object');
    checkKeys(ruleValue, where, ['module', 'publisher', 'capabilities']);
    const { module, publisher } = ruleValue;
    if (module === undefined && publisher === undefined) {
      fail(where, 'must name a module, a publisher or both (there are no rules for every module)');
    }
    if (module !== undefined) {
      if (typeof module !== 'string' || module.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(module)) {
        fail(`${where}.module`, 'must be a module name (lowercase letters, digits, ., _, -)');
      }
    }
    if (publisher !== undefined && (typeof publisher !== 'string' || !isPublicKeyText(publisher))) {
      fail(`${where}.publisher`, 'must be a publisher key (ed25519:<base64url>)');
    }
    const selector = JSON.stringify([module ?? null, publisher ?? null]);
    if (seen.has(selector)) fail(where, 'repeats the selector of an earlier rule (merge them)');
    seen.add(selector);
    const capabilities = parseRights(ruleValue.capabilities, `${where}.capabilities`);
    if (capabilities['debug.enable'] !== undefined && options.strict) {
      fail(`${where}.capabilities.debug.enable`, 'cannot be granted on a strict (production) node');
    }
    return {
      ...(module === undefined ? {} : { module: module as string }),
      ...(publisher === undefined ? {} : { publisher: publisher as string }),
      capabilities,
    };
  });
  return { rules, allowDebug };
}
