import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_JSON_DEPTH, canonicalJson, parseStrictJson, type JsonValue } from '../src/index.ts';

const parse = (text: string | Uint8Array) =>
  parseStrictJson(
    typeof text === 'string' ? new TextEncoder().encode(text) : text,
    'doc',
    'signature_invalid',
  );
const refused = (error: unknown) => (error as { code?: string }).code === 'signature_invalid';

void test('strict JSON parses what JSON.parse parses, with null-prototype objects', () => {
  const text = '{"a":[1,-2.5e3,true,false,null,"x\\u0041\\n"],"b":{},"__proto__":{"polluted":1}}';
  const value = parse(text) as Record<string, JsonValue>;
  assert.deepEqual(JSON.parse(JSON.stringify(value)), JSON.parse(text));
  assert.equal(Object.getPrototypeOf(value), null);
  assert.equal(canonicalJson(value.__proto__ as JsonValue), '{"polluted":1}');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

void test('strict JSON refuses duplicate keys, which JSON.parse silently resolves to the last one', () => {
  assert.equal((JSON.parse('{"a":1,"a":2}') as { a: number }).a, 2);
  assert.throws(() => parse('{"a":1,"a":2}'), /duplicate key "a"/);
  assert.throws(() => parse('{"x":{"n":"a","n":"b"}}'), /duplicate key "n"/);
  // Different escapes of the same key are the same key.
  assert.throws(() => parse('{"a":1,"\\u0061":2}'), /duplicate key "a"/);
});

void test('strict JSON refuses malformed input with signature_invalid', () => {
  const bad = [
    '',
    '{',
    '{"a":1,}',
    '[1,]',
    '{"a" 1}',
    "{'a':1}",
    '{"a":01}',
    '{"a":1.}',
    '{"a":+1}',
    '{"a":NaN}',
    '{"a":1e999}',
    '{"a":"\u0001"}',
    '{"a":"\\x41"}',
    '{"a":1} x',
    '{"a":1}{"b":2}',
    'tru',
    '\ufeff{}',
  ];
  for (const text of bad) assert.throws(() => parse(text), refused, JSON.stringify(text));
  assert.throws(() => parse(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), /not valid UTF-8/);
});

void test(`nesting is accepted up to MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) and refused beyond`, () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  assert.doesNotThrow(() => parse(nested(MAX_JSON_DEPTH)));
  assert.throws(() => parse(nested(MAX_JSON_DEPTH + 1)), /MAX_JSON_DEPTH/);
  assert.throws(() => parse(nested(100_000)), /MAX_JSON_DEPTH/);
});

void test('canonical JSON sorts keys by UTF-16 code units, drops whitespace, uses the shortest number form', () => {
  assert.equal(
    canonicalJson({ b: 1, a: [3, { d: null, c: true }], A: 'x' }),
    '{"A":"x","a":[3,{"c":true,"d":null}],"b":1}',
  );
  assert.equal(
    canonicalJson({ '\u20ac': 1, '\ud83d\ude00': 2, z: 3 }),
    '{"z":3,"\u20ac":1,"\ud83d\ude00":2}',
  );
  assert.equal(canonicalJson([1e21, 1.5, -0, 100, 0.000001]), '[1e+21,1.5,0,100,0.000001]');
  assert.equal(canonicalJson('a"\\\n\u001f'), '"a\\"\\\\\\n\\u001f"');
});

void test('canonical JSON refuses what JCS cannot represent', () => {
  assert.throws(() => canonicalJson(Number.NaN));
  assert.throws(() => canonicalJson(Number.POSITIVE_INFINITY));
  assert.throws(() => canonicalJson('\ud800'));
});

void test('property: canonical JSON is a fixed point of parse → canonicalise, whatever the key order', () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.string(),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
    ),
  })).value as fc.Arbitrary<JsonValue>;
  fc.assert(
    fc.property(json, (value) => {
      const canonical = canonicalJson(value);
      const reparsed = parseStrictJson(
        new TextEncoder().encode(JSON.stringify(value, null, 1)),
        'doc',
        'bad_request',
        64,
      );
      assert.equal(canonicalJson(reparsed), canonical);
    }),
    { numRuns: 300 },
  );
});
