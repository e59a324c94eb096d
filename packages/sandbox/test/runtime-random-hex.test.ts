/**
 * randomHex: seeds and trace ids are cut from blocks of CSPRNG bytes. Each call returns fresh
 * bytes of the asked length — across block refills too — and bad lengths are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RANDOM_BLOCK_BYTES, newSeed, newTraceId, randomHex } from '@gojinn/sandbox';

void test('randomHex gives lowercase hex of the asked length, never the same bytes twice', () => {
  const seen = new Set<string>();
  // Several blocks' worth, with lengths that do not divide the block, so refills fall mid-request.
  const lengths = [32, 16, 7, 1, RANDOM_BLOCK_BYTES];
  let total = 0;
  for (let i = 0; total < 5 * RANDOM_BLOCK_BYTES; i++) {
    const bytes = lengths[i % lengths.length] as number;
    const hex = randomHex(bytes);
    assert.match(hex, /^[0-9a-f]*$/);
    assert.equal(hex.length, 2 * bytes);
    if (bytes >= 16) {
      assert.ok(!seen.has(hex), 'a 16-byte or longer draw never repeats');
      seen.add(hex);
    }
    total += bytes;
  }
});

void test('consecutive draws do not share bytes: a whole block in two halves differs from a re-read', () => {
  const half = RANDOM_BLOCK_BYTES / 2;
  const first = randomHex(half);
  const second = randomHex(half);
  assert.notEqual(first, second);
  const whole = randomHex(RANDOM_BLOCK_BYTES);
  assert.ok(!whole.includes(first) && !whole.includes(second));
});

void test('seeds and trace ids come from it with their fixed shapes', () => {
  assert.match(newSeed(), /^[0-9a-f]{64}$/);
  assert.match(newTraceId(), /^[0-9a-f]{32}$/);
  assert.notEqual(newSeed(), newSeed());
});

void test('randomHex refuses lengths outside 1..RANDOM_BLOCK_BYTES', () => {
  for (const bad of [0, -1, 1.5, RANDOM_BLOCK_BYTES + 1, Number.NaN]) {
    assert.throws(() => randomHex(bad), RangeError);
  }
  assert.equal(randomHex(RANDOM_BLOCK_BYTES).length, 2 * RANDOM_BLOCK_BYTES);
});
