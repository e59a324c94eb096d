/** docs/capabilities-http.md states the code's defaults and lists: this keeps them equal. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MAX_ALLOWED_RANGES } from '../src/http/address-policy.ts';
import { MAX_RESOLVED_ADDRESSES } from '../src/http/checked-resolver.ts';
import { HTTP_FAILURE_CODES } from '../src/http/http-failure.ts';
import { HTTP_FAILURE_ERRNO } from '../src/http/http-handler.ts';
import { DEFAULT_HTTP_LIMITS } from '../src/http/limits.ts';
import { DENIED_REQUEST_HEADERS, DENIED_REQUEST_HEADER_PREFIXES } from '../src/http/request-headers.ts';
import { HTTP_METHODS } from '../src/http/types.ts';

const doc = readFileSync(new URL('../../../docs/capabilities-http.md', import.meta.url), 'utf8');

/** "8192" → 8192, "16 KiB" → 16384, "10 000 ms" → 10000. */
function value(text: string): number {
  const match = /^([0-9 ]+?)\s*(KiB|MiB|ms)?$/.exec(text.trim());
  assert.ok(match !== null, `unreadable default ${text}`);
  const number = Number((match[1] ?? '').replaceAll(' ', ''));
  return match[2] === 'KiB' ? number * 1024 : match[2] === 'MiB' ? number * 1024 * 1024 : number;
}

void test('the limits table lists every HttpLimits default, and only those', () => {
  const rows = [...doc.matchAll(/^\| `(max\w+|timeoutMs)`\s*\|\s*([^|]+?)\s*\|/gm)];
  const documented = Object.fromEntries(rows.map((row) => [row[1] ?? '', value(row[2] ?? '')]));
  assert.deepEqual(documented, { ...DEFAULT_HTTP_LIMITS });
});

void test('the named constants, methods, denied headers and error mapping appear as the code has them', () => {
  assert.match(doc, new RegExp(`MAX_ALLOWED_RANGES\` = ${MAX_ALLOWED_RANGES}`));
  assert.match(doc, new RegExp(`MAX_RESOLVED_ADDRESSES\` \\(${MAX_RESOLVED_ADDRESSES}\\)`));
  const methods = /method other than `([A-Z ]+)`/.exec(doc)?.[1]?.split(' ') ?? [];
  assert.deepEqual([...methods].sort(), [...HTTP_METHODS].sort());
  for (const name of DENIED_REQUEST_HEADERS)
    assert.ok(doc.includes(`\`${name}\``), `denied header ${name} is documented`);
  for (const prefix of DENIED_REQUEST_HEADER_PREFIXES)
    assert.ok(doc.includes(`\`${prefix}*\``), `prefix ${prefix} is documented`);
  for (const [kind, code] of Object.entries(HTTP_FAILURE_CODES)) {
    assert.match(doc, new RegExp(`\`${kind}\`[^→]*→ \`${code}\``), `${kind} → ${code}`);
  }
  for (const errno of new Set(Object.values(HTTP_FAILURE_ERRNO)))
    assert.ok(doc.includes(`\`-${errno}\``), `-${errno} is documented`);
});
