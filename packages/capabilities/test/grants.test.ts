import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CAPABILITIES, type Capability } from '@gojinn/abi';
import { GojinnError } from '@gojinn/errors';
import { MAX_SCOPE_ENTRIES } from '@gojinn/manifest';
import fc from 'fast-check';
import {
  MAX_GRANT_RULES,
  effectiveRights,
  grantedTo,
  intersectRights,
  parseGrants,
  parseRights,
} from '../src/grants.ts';
import type { CapabilityRights } from '../src/handler.ts';
import { intersectPatterns, originMatches } from '../src/scopes/http-hosts.ts';
import { intersectPrefixes, keyInPrefixes } from '../src/scopes/kv-prefixes.ts';
import { PUBLISHER_A, PUBLISHER_B } from './support/harness.ts';

const encoder = new TextEncoder();
const RUNS = { numRuns: 300 };

// Small alphabets so that random prefixes and hosts overlap often.
const prefixArb = fc.string({ unit: fc.constantFrom('a', 'b', '/'), maxLength: 4 });
const prefixListArb = fc.array(prefixArb, { minLength: 1, maxLength: 5 });
const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', '/'), maxLength: 6 });
const labelArb = fc.constantFrom('a', 'b', 'c');
const portArb = fc.constantFrom('', ':8080');
const schemeArb = fc.constantFrom('http', 'https');
const patternArb = fc
  .tuple(schemeArb, fc.boolean(), fc.array(labelArb, { minLength: 1, maxLength: 3 }), portArb)
  .map(([scheme, wildcard, labels, port]) => {
    const host = labels.join('.');
    return `${scheme}://${wildcard && labels.length >= 2 ? '*.' : ''}${host}${port}`;
  });
const patternListArb = fc.array(patternArb, { minLength: 1, maxLength: 4 });
const originArb = fc.tuple(
  schemeArb,
  fc.array(labelArb, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.')),
  fc.constantFrom(80, 443, 8080),
);
const nameArb = fc.constantFrom('A', 'B', 'C', 'D');

function allowsKey(rights: CapabilityRights, capability: 'kv.read' | 'kv.write', key: string): boolean {
  const scope = rights[capability];
  return scope !== undefined && keyInPrefixes(encoder.encode(key), scope.prefixes);
}

function allowsOrigin(rights: CapabilityRights, origin: [string, string, number]): boolean {
  const scope = rights['net.http'];
  return scope !== undefined && scope.hosts.some((p) => originMatches(p, ...origin));
}

function allowsSecret(rights: CapabilityRights, name: string): boolean {
  return rights['secrets.read']?.names.includes(name) ?? false;
}

const rightsArb: fc.Arbitrary<CapabilityRights> = fc.record(
  {
    'kv.read': prefixListArb.map((prefixes) => ({ prefixes })),
    'kv.write': prefixListArb.map((prefixes) => ({ prefixes })),
    'db.query': fc.constant({}),
    'net.http': patternListArb.map((hosts) => ({ hosts })),
    'secrets.read': fc.array(nameArb, { minLength: 1, maxLength: 3 }).map((names) => ({ names })),
    'debug.enable': fc.constant({}),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<CapabilityRights>;

void test('kv prefix intersection holds exactly the keys both lists allow', () => {
  fc.assert(
    fc.property(prefixListArb, prefixListArb, fc.array(keyArb, { maxLength: 20 }), (a, b, keys) => {
      const both = intersectPrefixes(a, b);
      for (const key of [...keys, ...a, ...b]) {
        const bytes = encoder.encode(key);
        assert.equal(keyInPrefixes(bytes, both), keyInPrefixes(bytes, a) && keyInPrefixes(bytes, b), key);
      }
      assert.deepEqual(both, [...both].sort(), 'sorted');
      for (const x of both) for (const y of both) if (x !== y) assert.ok(!y.startsWith(x), 'minimal');
    }),
    RUNS,
  );
});

void test('http pattern intersection holds exactly the origins both lists allow', () => {
  fc.assert(
    fc.property(patternListArb, patternListArb, fc.array(originArb, { maxLength: 20 }), (a, b, origins) => {
      const both = intersectPatterns(a, b);
      for (const [scheme, host, port] of origins) {
        const inA = a.some((p) => originMatches(p, scheme, host, port));
        const inB = b.some((p) => originMatches(p, scheme, host, port));
        assert.equal(
          both.some((p) => originMatches(p, scheme, host, port)),
          inA && inB,
          `${scheme}://${host}:${port}`,
        );
      }
    }),
    RUNS,
  );
});

void test('effective rights never exceed declared, granted or the ceiling, and lose nothing all three allow', () => {
  fc.assert(
    fc.property(
      rightsArb,
      rightsArb,
      fc.option(rightsArb, { nil: undefined }),
      fc.array(keyArb, { maxLength: 10 }),
      fc.array(originArb, { maxLength: 10 }),
      (declared, granted, ceiling, keys, origins) => {
        const rights = effectiveRights({
          declared,
          granted,
          ...(ceiling === undefined ? {} : { ceiling }),
          allowDebug: true,
        });
        const inputs = ceiling === undefined ? [declared, granted] : [declared, granted, ceiling];
        for (const capability of CAPABILITIES) {
          const everywhere = inputs.every((r) => r[capability] !== undefined);
          if (rights[capability] !== undefined) assert.ok(everywhere, `${capability} held by every input`);
        }
        for (const capability of ['kv.read', 'kv.write'] as const) {
          for (const key of keys) {
            assert.equal(
              allowsKey(rights, capability, key),
              inputs.every((r) => allowsKey(r, capability, key)),
            );
          }
        }
        for (const origin of origins) {
          assert.equal(
            allowsOrigin(rights, origin),
            inputs.every((r) => allowsOrigin(r, origin)),
          );
        }
        for (const name of ['A', 'B', 'C', 'D']) {
          assert.equal(
            allowsSecret(rights, name),
            inputs.every((r) => allowsSecret(r, name)),
          );
        }
      },
    ),
    RUNS,
  );
});

void test('a scope whose intersection is empty removes the capability; unscoped capabilities need all inputs', () => {
  assert.deepEqual(
    intersectRights(
      { 'kv.read': { prefixes: ['a/'] }, 'db.query': {}, 'secrets.read': { names: ['X'] } },
      { 'kv.read': { prefixes: ['b/'] }, 'db.query': {}, 'secrets.read': { names: ['Y'] } },
    ),
    { 'db.query': {} },
  );
  assert.deepEqual(
    intersectRights(
      { 'kv.read': { prefixes: [''] } },
      { 'kv.read': { prefixes: ['users/', 'users/admin/'] } },
    ),
    { 'kv.read': { prefixes: ['users/'] } },
  );
});

void test('debug.enable is effective only when the node allows debug', () => {
  const declared: CapabilityRights = { 'debug.enable': {}, 'db.query': {} };
  assert.deepEqual(effectiveRights({ declared, granted: declared, allowDebug: false }), { 'db.query': {} });
  assert.deepEqual(effectiveRights({ declared, granted: declared, allowDebug: true }), declared);
});

void test('grantedTo unions the rules whose selectors all match, and ignores the others', () => {
  const grants = parseGrants(
    {
      rules: [
        { publisher: PUBLISHER_A, capabilities: { 'kv.read': { prefixes: ['shared/'] } } },
        { module: 'counter', publisher: PUBLISHER_A, capabilities: { 'kv.read': { prefixes: ['count/'] } } },
        { module: 'counter', capabilities: { 'db.query': {} } },
        {
          module: 'other',
          publisher: PUBLISHER_A,
          capabilities: { 'net.http': { hosts: ['https://a.com'] } },
        },
      ],
    },
    { strict: false },
  );
  assert.deepEqual(grantedTo(grants, { name: 'counter', publisher: PUBLISHER_A }), {
    'kv.read': { prefixes: ['count/', 'shared/'] },
    'db.query': {},
  });
  assert.deepEqual(grantedTo(grants, { name: 'counter', publisher: PUBLISHER_B }), { 'db.query': {} });
  assert.deepEqual(grantedTo(grants, { name: 'nothing', publisher: PUBLISHER_B }), {});
});

function refuses(value: unknown, pattern: RegExp, strict = false): void {
  assert.throws(
    () => parseGrants(value, { strict }),
    (error: unknown) =>
      error instanceof GojinnError && error.code === 'bad_request' && pattern.test(error.message),
  );
}

void test('parseGrants refuses unclear or over-broad configs with a message naming the field', () => {
  refuses({ rules: [{ capabilities: {} }] }, /grants\.rules\[0\] must name a module, a publisher or both/);
  refuses(
    { rules: [{ module: 'Bad Name', capabilities: {} }] },
    /grants\.rules\[0\]\.module must be a module name/,
  );
  refuses(
    { rules: [{ publisher: 'ed25519:x', capabilities: {} }] },
    /rules\[0\]\.publisher must be a publisher key/,
  );
  refuses(
    { rules: [{ module: 'a', capabilities: { 'kv.read': { prefixes: [] } } }] },
    /prefixes must list at least one/,
  );
  refuses({ rules: [{ module: 'a', capabilities: { 'kv.read': {} } }] }, /prefixes must be an array/);
  refuses(
    { rules: [{ module: 'a', capabilities: { 'fs.write': {} } }] },
    /capabilities has an unknown field "fs.write"/,
  );
  refuses(
    { rules: [{ module: 'a', capabilities: {}, extra: 1 }] },
    /rules\[0\] has an unknown field "extra"/,
  );
  refuses(
    { rules: [{ module: 'a', capabilities: { 'net.http': { hosts: ['https://a.com/path'] } } }] },
    /net\.http\.hosts\[0\] "https:\/\/a\.com\/path" must be/,
  );
  refuses(
    { rules: [{ module: 'a', capabilities: { 'kv.read': { prefixes: ['\u0001'] } } }] },
    /prefixes\[0\] must be printable ASCII/,
  );
  refuses(
    {
      rules: [
        { module: 'a', capabilities: {} },
        { module: 'a', capabilities: { 'db.query': {} } },
      ],
    },
    /rules\[1\] repeats the selector/,
  );
  refuses({ allowDebug: true }, /allowDebug cannot be true on a strict/, true);
  refuses(
    { rules: [{ module: 'a', capabilities: { 'debug.enable': {} } }] },
    /debug\.enable cannot be granted on a strict/,
    true,
  );
  assert.deepEqual(parseGrants({ allowDebug: true }, { strict: false }), { rules: [], allowDebug: true });
});

void test('scope lists are accepted up to MAX_SCOPE_ENTRIES and refused one over; rules up to MAX_GRANT_RULES', () => {
  const prefixes = (n: number): string[] => Array.from({ length: n }, (_, i) => `p${i}/`);
  const parsed = parseRights({ 'kv.read': { prefixes: prefixes(MAX_SCOPE_ENTRIES) } }, 'caps');
  assert.equal(parsed['kv.read']?.prefixes.length, MAX_SCOPE_ENTRIES);
  assert.throws(
    () => parseRights({ 'kv.read': { prefixes: prefixes(MAX_SCOPE_ENTRIES + 1) } }, 'caps'),
    /caps\.kv\.read\.prefixes has 65 entries; the limit is 64/,
  );
  const rules = (n: number): object[] =>
    Array.from({ length: n }, (_, i) => ({ module: `m${i}`, capabilities: {} }));
  assert.equal(
    parseGrants({ rules: rules(MAX_GRANT_RULES) }, { strict: false }).rules.length,
    MAX_GRANT_RULES,
  );
  refuses({ rules: rules(MAX_GRANT_RULES + 1) }, /has 10001 rules; the limit is 10000/);
});

void test('config scopes are normalised: duplicates and covered entries dropped, sorted', () => {
  assert.deepEqual(
    parseRights(
      {
        'kv.write': { prefixes: ['b/', 'a/x', 'a/', 'b/'] },
        'net.http': { hosts: ['https://x.a.com', 'https://*.a.com', 'http://a.com'] },
        'secrets.read': { names: ['Z', 'A', 'Z'] },
      },
      'caps',
    ),
    {
      'kv.write': { prefixes: ['a/', 'b/'] },
      'net.http': { hosts: ['http://a.com', 'https://*.a.com'] },
      'secrets.read': { names: ['A', 'Z'] },
    },
  );
  const capability: Capability = 'kv.read';
  assert.ok(CAPABILITIES.includes(capability));
});

void test('the grants example in docs/capabilities.md parses, on a strict node too', () => {
  const doc = readFileSync(new URL('../../../docs/capabilities.md', import.meta.url), 'utf8');
  const start = doc.indexOf('```json\n') + '```json\n'.length;
  const config = JSON.parse(doc.slice(start, doc.indexOf('```', start))) as { grants: unknown };
  const grants = parseGrants(config.grants, { strict: true });
  assert.equal(grants.rules.length, 2);
  assert.deepEqual(grantedTo(grants, { name: 'kv-counter', publisher: PUBLISHER_A }), {
    'kv.read': { prefixes: ['counter/'] },
    'kv.write': { prefixes: ['counter/'] },
  });
});
