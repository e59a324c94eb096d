/** The [audit] retention keys: accepted at their edges, refused one past them naming the key path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '@gojinn/daemon';

const FILE = '/etc/gojinn/config.toml';

function parsed(toml: string) {
  return parseConfig(toml, { file: FILE }).audit;
}

function refusal(toml: string): ConfigError {
  try {
    parseConfig(toml, { file: FILE });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail(`accepted: ${toml}`);
}

void test('audit.maxEntries: 0 (keep everything) and 1_000_000_000_000 accepted; one past either edge, a float or a string refused', () => {
  assert.deepEqual(parsed(''), { maxEntries: 1_000_000, maxAgeDays: 0 });
  assert.equal(parsed('[audit]\nmaxEntries = 0\n').maxEntries, 0);
  assert.equal(parsed('[audit]\nmaxEntries = 1\n').maxEntries, 1);
  assert.equal(parsed('[audit]\nmaxEntries = 1_000_000_000_000\n').maxEntries, 1_000_000_000_000);
  for (const value of ['1_000_000_000_001', '-1', '2.5', '"10"']) {
    const error = refusal(`[audit]\nmaxEntries = ${value}\n`);
    assert.equal(error.keyPath, 'audit.maxEntries', value);
    assert.match(
      error.message,
      /^\/etc\/gojinn\/config\.toml: audit\.maxEntries: expected an integer in \[0, 1_000_000_000_000\], got /,
    );
  }
});

void test('audit.maxAgeDays: 0 (off) and 36_500 accepted; 36_501 and -1 refused naming the key', () => {
  assert.equal(parsed('[audit]\nmaxAgeDays = 36_500\n').maxAgeDays, 36_500);
  assert.equal(parsed('[audit]\nmaxAgeDays = 30\nmaxEntries = 0\n').maxAgeDays, 30);
  for (const value of ['36_501', '-1']) {
    const error = refusal(`[audit]\nmaxAgeDays = ${value}\n`);
    assert.equal(error.keyPath, 'audit.maxAgeDays');
    assert.match(error.message, /expected an integer in \[0, 36_500\], got the integer/);
  }
});

void test('an unknown [audit] key is refused, listing the known ones', () => {
  const error = refusal('[audit]\nmaxBytes = 10\n');
  assert.equal(error.keyPath, 'audit.maxBytes');
  assert.match(error.message, /unknown key \(expected one of: maxEntries, maxAgeDays\)/);
});
