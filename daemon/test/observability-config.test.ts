/** The [metrics] section: its defaults, and a non-loopback listen refused without the opt-in. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../src/config/index.ts';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../src/observability/index.ts';

const FILE = '/etc/gojinn/config.toml';

void test('[metrics] defaults: enabled on the loopback default address of startMetricsServer', () => {
  const config = parseConfig('', { file: FILE });
  assert.deepEqual(config.metrics, {
    enabled: true,
    listen: { host: DEFAULT_METRICS_HOST, port: DEFAULT_METRICS_PORT },
    allowNonLoopback: false,
    requireToken: false,
  });
  assert.ok(Object.isFrozen(config.metrics.listen));
});

void test('[metrics] listen on a non-loopback address is refused without allowNonLoopback, naming the key and the fix', () => {
  for (const text of [
    '[metrics]\nlisten = "0.0.0.0:9464"\n',
    '[metrics]\nlisten = "[::]:9464"\n',
    '[metrics]\nlisten = "192.0.2.1:9464"\n',
    // Checked when disabled too: turning it on later must not expose it by surprise.
    '[metrics]\nenabled = false\nlisten = "0.0.0.0:9464"\n',
  ]) {
    assert.throws(
      () => parseConfig(text, { file: FILE }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.startsWith(`${FILE}: metrics.listen: expected a loopback address`) &&
        error.message.includes('metrics.allowNonLoopback = true'),
      text,
    );
  }
});

void test('[metrics] allowNonLoopback = true accepts a non-loopback listen; loopback forms need no opt-in', () => {
  const open = parseConfig('[metrics]\nlisten = "0.0.0.0:9100"\nallowNonLoopback = true\n', { file: FILE });
  assert.deepEqual(open.metrics.listen, { host: '0.0.0.0', port: 9100 });
  for (const listen of ['127.0.0.2:1', '[::1]:9464', 'localhost:0']) {
    assert.equal(
      parseConfig(`[metrics]\nlisten = "${listen}"\n`, { file: FILE }).metrics.allowNonLoopback,
      false,
    );
  }
});

void test('[metrics] rejects an unknown key and a wrong type', () => {
  assert.throws(
    () => parseConfig('[metrics]\nport = 9464\n', { file: FILE }),
    /metrics\.port: unknown key \(expected one of: enabled, listen, allowNonLoopback, requireToken\)/,
  );
  assert.throws(
    () => parseConfig('[metrics]\nenabled = "yes"\n', { file: FILE }),
    /metrics\.enabled: expected true or false, got the string "yes"/,
  );
});
