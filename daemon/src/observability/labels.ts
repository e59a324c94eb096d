import { CAPABILITIES, HOST_ERRNO, HOST_FUNCTIONS } from '@gojinn/abi';
import { ERROR_CODES } from '@gojinn/errors';
import { MAX_NAME_LENGTH, NAME_PATTERN } from '@gojinn/manifest';

/**
 * Bounded label values. Every metric label value comes from a fixed set or from a set capped
 * at a named number of distinct values; anything else is counted under OTHER_LABEL. A caller
 * (a guest, a peer, an HTTP client) can therefore never make the registry grow, nor put text
 * of its choosing into the scrape output.
 */

/** The label value of everything outside a label's set. */
export const OTHER_LABEL = 'other';

/** Distinct module names kept as `module` label values; later ones count as OTHER_LABEL. */
export const DEFAULT_MAX_MODULE_LABELS = 1_000;
/** Distinct values of a label whose values are not a fixed set (libp2p protocol ids). */
export const MAX_OPEN_LABEL_VALUES = 64;
/** Longest value of such a label. */
export const MAX_OPEN_LABEL_LENGTH = 128;

/** `outcome` of an invocation: `ok` or one of the stable error codes. */
export const OUTCOME_LABELS: readonly string[] = Object.freeze(['ok', ...ERROR_CODES]);
/** `result` of a gossip message, as the validator judged it. */
export const GOSSIP_RESULT_LABELS = ['accepted', 'rejected', 'ignored'] as const;
export type GossipResult = (typeof GOSSIP_RESULT_LABELS)[number];
/** `direction` of a remote invocation or a libp2p connection. */
export const DIRECTION_LABELS = ['inbound', 'outbound'] as const;
export type Direction = (typeof DIRECTION_LABELS)[number];
/** `capability` of a denied host call: the capabilities, plus `log`. */
export const CAPABILITY_LABELS: readonly string[] = Object.freeze([...CAPABILITIES, 'log']);
/** `function` of a host call: the names of the `gojinn` host function table. */
export const HOST_FUNCTION_LABELS: readonly string[] = Object.freeze(Object.keys(HOST_FUNCTIONS));
/** `result` of a host call: `ok` or a host errno name. */
export const HOST_RESULT_LABELS: readonly string[] = Object.freeze(['ok', ...Object.keys(HOST_ERRNO)]);

/** A label from a fixed set of values. */
export function fixedLabel(allowed: readonly string[]): (value: unknown) => string {
  const set: ReadonlySet<string> = new Set(allowed);
  return (value) => (typeof value === 'string' && set.has(value) ? value : OTHER_LABEL);
}

/**
 * A label whose values are accepted by `valid`, the first `maxValues` distinct ones kept for
 * the life of the registry (a value seen once keeps its own series), the rest OTHER_LABEL.
 */
export function cappedLabel(
  valid: (value: string) => boolean,
  maxValues: number,
): (value: unknown) => string {
  const seen = new Set<string>();
  return (value) => {
    if (typeof value !== 'string' || value === OTHER_LABEL) return OTHER_LABEL;
    if (seen.has(value)) return value;
    if (seen.size >= maxValues || !valid(value)) return OTHER_LABEL;
    seen.add(value);
    return value;
  };
}

/** Module names: valid manifest names that `known` accepts, at most `maxValues` of them. */
export function moduleLabel(maxValues: number, known: (name: string) => boolean): (value: unknown) => string {
  return cappedLabel(
    (name) => name.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(name) && known(name),
    maxValues,
  );
}

/** Open-ended but tame values (libp2p protocol ids): printable ASCII, short. */
export function openLabel(): (value: unknown) => string {
  return cappedLabel(
    (value) => value.length > 0 && value.length <= MAX_OPEN_LABEL_LENGTH && /^[\x21-\x7e]+$/.test(value),
    MAX_OPEN_LABEL_VALUES,
  );
}

/** A gossip verdict (`accept-manifest`, `accept-revocation`, `reject`, `ignore`, or the label itself). */
export function gossipResultLabel(result: unknown): GossipResult | typeof OTHER_LABEL {
  if (typeof result !== 'string') return OTHER_LABEL;
  if (result === 'accepted' || result === 'accept' || result.startsWith('accept-')) return 'accepted';
  if (result === 'rejected' || result === 'reject') return 'rejected';
  if (result === 'ignored' || result === 'ignore') return 'ignored';
  return OTHER_LABEL;
}
