/**
 * SensitiveStrings at its limit, the scrubber following the set as it changes, and the walk
 * replacing credential-named fields.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { API_KEY_PREFIX, API_KEY_RANDOM_BYTES } from '../src/api-keys/index.ts';
import {
  CREDENTIAL_PATTERNS,
  INDEXED_REPLACE_THRESHOLD,
  MAX_REDACT_DEPTH,
  MAX_SENSITIVE_STRINGS,
  REDACTED,
  SENSITIVE_KEYS,
  SensitiveStrings,
  createScrubber,
  redactSensitiveFields,
  replacerOf,
} from '../src/observability/index.ts';

void test('SensitiveStrings holds maxEntries values; one more forgets the least recently added unpinned one, never a pinned one', () => {
  const set = new SensitiveStrings({ maxEntries: 3 });
  set.add('pinned-token', { pinned: true });
  set.add('value-one');
  set.add('value-two');
  assert.equal(set.size, 3, 'at the limit: all held');
  set.add('value-one'); // refreshed: now the most recent
  set.add('value-three'); // one over: value-two is the oldest unpinned
  assert.deepEqual([...set].sort(), ['pinned-token', 'value-one', 'value-three']);
  assert.equal(set.has('value-two'), false);
  set.add('value-four');
  set.add('value-five');
  assert.equal(set.has('pinned-token'), true);
  assert.equal(set.size, 3);
  assert.equal(new SensitiveStrings().size, 0);
  assert.equal(MAX_SENSITIVE_STRINGS, 100_000);
});

void test('SensitiveStrings: empty strings are ignored; pinning a held value keeps it once; delete forgets pinned and unpinned', () => {
  const set = new SensitiveStrings();
  set.add('');
  assert.equal(set.size, 0);
  set.add('abcd-value');
  set.add('abcd-value', { pinned: true });
  assert.equal(set.size, 1);
  set.delete('abcd-value');
  assert.equal(set.size, 0);
  set.add('other-value');
  set.delete('other-value');
  assert.equal(set.has('other-value'), false);
});

void test('version changes when membership changes, not when a held value is refreshed', () => {
  const set = new SensitiveStrings();
  const start = set.version;
  set.add('api-key-1');
  const afterAdd = set.version;
  assert.notEqual(afterAdd, start);
  set.add('api-key-1');
  assert.equal(set.version, afterAdd, 'refresh');
  set.delete('not-held');
  assert.equal(set.version, afterAdd, 'deleting nothing');
  set.delete('api-key-1');
  assert.notEqual(set.version, afterAdd);
});

void test('the scrubber follows a SensitiveStrings set through adds, evictions and deletes', () => {
  const set = new SensitiveStrings({ maxEntries: 2 });
  const scrub = createScrubber(() => set);
  set.add('first-secret');
  assert.equal(scrub('a first-secret b'), `a ${REDACTED} b`);
  set.add('second-secret');
  set.add('third-secret'); // evicts first-secret
  assert.equal(scrub('first-secret second-secret third-secret'), `first-secret ${REDACTED} ${REDACTED}`);
  set.delete('third-secret');
  assert.equal(scrub('third-secret'), 'third-secret');
  // A plain iterable is read on every call.
  const list = ['plain-secret'];
  const scrubList = createScrubber(() => list);
  assert.equal(scrubList('plain-secret'), REDACTED);
  list.push('later-secret');
  assert.equal(scrubList('later-secret'), REDACTED);
});

void test('escaped forms: a secret with a quote and a backslash is caught escaped once and twice', () => {
  const secret = 'pa"ss\\word';
  const scrub = createScrubber(() => [secret]);
  const once = JSON.stringify({ v: secret });
  const twice = JSON.stringify({ v: once });
  assert.equal(scrub(once), `{"v":"${REDACTED}"}`);
  assert.ok(!scrub(twice).includes('ss\\'), scrub(twice));
  assert.ok(scrub(twice).includes(REDACTED));
});

void test(`credential-named fields are replaced down to MAX_REDACT_DEPTH (${MAX_REDACT_DEPTH}) levels, any case; one deeper is left to the scrub`, () => {
  assert.equal(MAX_REDACT_DEPTH, 3);
  const fields = {
    Authorization: 'Bearer a',
    one: { apiKey: 'k', two: { PASSWORD: 'p', three: { token: 'deeper than the walk' } } },
    req: { headers: { cookie: 'c', 'Set-Cookie': 's', 'X-Api-Key': 'x', accept: '*/*' } },
  };
  const before = JSON.stringify(fields);
  const out = redactSensitiveFields(fields);
  assert.deepEqual(out, {
    Authorization: REDACTED,
    one: { apiKey: REDACTED, two: { PASSWORD: REDACTED, three: { token: 'deeper than the walk' } } },
    req: { headers: { cookie: REDACTED, 'Set-Cookie': REDACTED, 'X-Api-Key': REDACTED, accept: '*/*' } },
  });
  assert.equal(JSON.stringify(fields), before, "the caller's objects are not changed");
  for (const key of SENSITIVE_KEYS) {
    assert.equal(redactSensitiveFields({ [key]: 'v' })[key], REDACTED, key);
    assert.equal(key, key.toLowerCase());
  }
});

void test('a line without credential-named fields is returned as is (no copy); arrays and errors are not walked', () => {
  const plain = { event: 'x', module: { name: 'm' }, list: [{ token: 't' }] };
  assert.equal(redactSensitiveFields(plain), plain);
  const error = Object.assign(new Error('e'), { token: 't' });
  const withError = { err: error };
  assert.equal(redactSensitiveFields(withError), withError);
  assert.equal(error.token, 't');
});

void test(`replacerOf: below and at INDEXED_REPLACE_THRESHOLD (${INDEXED_REPLACE_THRESHOLD}) needles, every occurrence of every needle is replaced`, () => {
  for (const count of [INDEXED_REPLACE_THRESHOLD - 1, INDEXED_REPLACE_THRESHOLD]) {
    const needles = Array.from({ length: count }, (_, i) => `needle-${i}-${'q'.repeat(i % 5)}`);
    const replace = replacerOf(needles, '#', 4);
    const line = needles.map((n, i) => `${i}:${n}|${n}`).join(' ');
    const out = replace(line);
    for (const needle of needles) assert.ok(!out.includes(needle), `${count}: ${needle}`);
    assert.equal(out, needles.map((_, i) => `${i}:#|#`).join(' '), String(count));
    assert.equal(replace('nothing here'), 'nothing here');
  }
});

void test('property: through the index or not, no needle is left in the line (overlapping needles of a small alphabet)', () => {
  const needle = fc.string({
    unit: fc.constantFrom('x', 'y', 'z', '0', '"', '\\'),
    minLength: 4,
    maxLength: 9,
  });
  fc.assert(
    fc.property(
      fc.uniqueArray(needle, { minLength: 1, maxLength: 60 }),
      fc.array(fc.oneof(needle, fc.string({ unit: fc.constantFrom('x', 'y', 'a', ' ') })), { maxLength: 30 }),
      (needles, pieces) => {
        const line = pieces.join('');
        const out = replacerOf(needles, '[redacted]', 4)(line);
        for (const n of needles)
          assert.ok(!out.includes(n), `${JSON.stringify(n)} in ${JSON.stringify(out)}`);
      },
    ),
    { numRuns: 400 },
  );
});

void test('a SensitiveStrings set of 1000 secrets (the indexed path) still scrubs each of them, in JSON lines', () => {
  const set = new SensitiveStrings();
  const secrets = Array.from({ length: 1000 }, (_, i) => `secret-${i}-${(i * 7919).toString(36)}"x`);
  for (const secret of secrets) set.add(secret);
  const scrub = createScrubber(() => set);
  for (const secret of [secrets[0], secrets[499], secrets[999]] as string[]) {
    const line = JSON.stringify({ msg: `value ${secret} and ${JSON.stringify({ v: secret })}` });
    const out = scrub(line);
    assert.ok(!out.includes(JSON.stringify(secret).slice(1, -1)), out);
    assert.ok(!out.includes(secret.slice(0, -2)), out);
  }
});

void test('credential shapes are scrubbed unregistered: any gjk_ API key, Bearer/Basic credentials of 16+ characters; ordinary text is kept', () => {
  const scrub = createScrubber(() => []);
  const apiKey = API_KEY_PREFIX + randomBytes(API_KEY_RANDOM_BYTES).toString('base64url');
  const token = randomBytes(32).toString('hex');
  const basic = Buffer.from('operator:correct horse').toString('base64');
  const line = JSON.stringify({
    msg: `key ${apiKey} used`,
    err: `request had Authorization: Bearer ${token}; proxy said bearer  ${token}`,
    header: `Basic ${basic}`,
  });
  const out = scrub(line);
  for (const value of [apiKey, token, basic]) assert.ok(!out.includes(value), out);
  assert.deepEqual(JSON.parse(out), {
    msg: `key ${REDACTED} used`,
    err: `request had Authorization: Bearer ${REDACTED}; proxy said bearer  ${REDACTED}`,
    header: `Basic ${REDACTED}`,
  });
  for (const ordinary of [
    'admin API: missing or wrong bearer token',
    'Basic authentication is off',
    'gjk_short is not a key',
  ]) {
    assert.equal(scrub(ordinary), ordinary);
  }
  assert.equal(CREDENTIAL_PATTERNS.length, 2);
});
