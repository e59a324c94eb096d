import { GojinnError } from '@gojinn/errors';
import type { PeerPolicy } from '../config/node-config.ts';
import { CONFIG_SCHEMA } from '../config/schema.ts';
import { Problem } from '../config/value-kinds.ts';

/** The [[peers]] section of the config schema: the admin API validates with the very same fields. */
const PEERS_SECTION = CONFIG_SCHEMA.find((section) => section.name === 'peers');

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a per-peer policy given as JSON (admin API body, stored record) with the rules of a
 * config `[[peers]]` entry — same keys, kinds, ranges and defaults — and returns it frozen.
 * Refusals are `bad_request` naming `<at>.<key path>` and what was expected.
 */
export function parsePeerPolicy(input: unknown, at = 'policy'): PeerPolicy {
  if (PEERS_SECTION === undefined)
    throw new GojinnError('internal', 'config schema has no [[peers]] section');
  if (!isObject(input)) throw new GojinnError('bad_request', `${at}: expected a JSON object`);
  const known = PEERS_SECTION.fields.map((field) => field.key);
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) {
      throw new GojinnError(
        'bad_request',
        `${at}.${JSON.stringify(key).slice(0, 66)}: unknown key (expected one of: ${known.join(', ')})`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const field of PEERS_SECTION.fields) {
    const value = input[field.key];
    if (value === undefined) {
      if (field.required === true)
        throw new GojinnError('bad_request', `${at}.${field.key}: missing (expected ${field.kind.expected})`);
      out[field.key] = field.default;
      continue;
    }
    const checked: unknown = field.kind.check(value);
    if (checked instanceof Problem)
      throw new GojinnError('bad_request', `${at}.${field.key}${checked.at}: ${checked.message}`);
    out[field.key] = checked;
  }
  return Object.freeze(out) as unknown as PeerPolicy;
}

/** Where an effective policy comes from. */
export type PolicySource = 'config' | 'admin';

export interface EffectivePolicy {
  policy: PeerPolicy;
  source: PolicySource;
}

/**
 * The policies the mesh applies: the config's `[[peers]]`, each replaced by the admin API's
 * policy for the same peer id, plus the admin API's policies for other peers. Sorted by id.
 */
export function effectivePolicies(
  config: readonly PeerPolicy[],
  stored: readonly PeerPolicy[],
): EffectivePolicy[] {
  const byId = new Map<string, EffectivePolicy>();
  for (const policy of config) byId.set(policy.id, { policy, source: 'config' });
  for (const policy of stored) byId.set(policy.id, { policy, source: 'admin' });
  return [...byId.values()].sort((a, b) =>
    a.policy.id < b.policy.id ? -1 : a.policy.id > b.policy.id ? 1 : 0,
  );
}
