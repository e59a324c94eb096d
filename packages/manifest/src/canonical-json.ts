import { GojinnError } from '@gojinn/errors';
import type { JsonValue } from './strict-json.ts';

/**
 * Canonical JSON in the manner of RFC 8785 (JCS): object keys sorted by UTF-16 code units,
 * no whitespace, strings and numbers serialised as ECMAScript's JSON.stringify does
 * (shortest round-tripping number form). Values outside what JCS can represent — non-finite
 * numbers, strings with lone surrogates, undefined — are refused rather than silently mapped.
 * Gojinn documents only use strings, safe integers, arrays and objects (docs/manifest.md).
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new GojinnError('internal', 'canonical JSON cannot encode a non-finite number');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') {
    if (!value.isWellFormed())
      throw new GojinnError('internal', 'canonical JSON cannot encode a lone surrogate');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value !== 'object')
    throw new GojinnError('internal', `canonical JSON cannot encode a ${typeof value}`);
  const keys = Object.keys(value).sort();
  const members: string[] = [];
  for (const key of keys) {
    const member = value[key];
    if (member === undefined) continue;
    members.push(`${canonicalJson(key)}:${canonicalJson(member)}`);
  }
  return `{${members.join(',')}}`;
}
