/** SensitiveStrings at its limit, and the scrubber following the set as it changes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_SENSITIVE_STRINGS,
  REDACTED,
  SensitiveStrings,
  createScrubber,
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
