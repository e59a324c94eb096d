import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../src/command.ts';
import { parseDuration, parseSize } from '../src/units.ts';

void test('SIZE: bytes or a whole number with KiB, MiB or GiB', () => {
  assert.equal(parseSize('0'), 0);
  assert.equal(parseSize('65536'), 65536);
  assert.equal(parseSize('64KiB'), 65536);
  assert.equal(parseSize('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseSize('4GiB'), 4 * 1024 ** 3);
  assert.equal(parseSize(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
});

void test('SIZE: anything else is a usage error naming the flag', () => {
  for (const text of [
    '',
    ' 1',
    '1 ',
    '1.5MiB',
    '-1',
    '+1',
    '01',
    '1kib',
    '1KB',
    '1MB',
    '1 MiB',
    'MiB',
    '1e3',
    '0x10',
    '1B',
  ]) {
    assert.throws(
      () => parseSize(text, '--memory'),
      (error: unknown) => error instanceof UsageError && /^--memory: /.test(error.message),
      JSON.stringify(text),
    );
  }
  assert.throws(() => parseSize(String(Number.MAX_SAFE_INTEGER + 1)), /too large/);
  assert.throws(() => parseSize('9007199254740991KiB'), /too large/);
  assert.throws(() => parseSize('99999999999999999999999GiB'), /too large/);
});

void test('DURATION: milliseconds or a whole number with ms or s', () => {
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('250'), 250);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('5s'), 5000);
});

void test('DURATION: anything else is a usage error naming the flag', () => {
  for (const text of ['', '1.5s', '-5', '5m', '5S', '5 s', 's', '05', '1h', '5sec', '1e3']) {
    assert.throws(
      () => parseDuration(text, '--timeout'),
      (error: unknown) => error instanceof UsageError && /^--timeout: /.test(error.message),
      JSON.stringify(text),
    );
  }
  assert.throws(() => parseDuration('9007199254740992ms'), /too large/);
  assert.throws(() => parseDuration('9007199254741s'), /too large/);
});
