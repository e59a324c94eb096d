/**
 * `gojinn init` settings flags (--gateway, --admin, --listen, --bootstrap, --trust, --public):
 * written as active lines the daemon reads back; a bad value is a usage error (exit 2) naming
 * the key, and nothing is written.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_FILE, loadConfigFile } from '@gojinn/daemon';
import { generateKeyPair } from '@gojinn/manifest';
import { gojinn } from './signing-harness.ts';

const PEER = '12D3KooWQnMka3Et7rpp75UTDYtf4rGnvYjL7QvwrxYEyE3gckB5';

void test('init writes the given settings as active config lines the daemon reads back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-init-settings-'));
  try {
    const key = generateKeyPair().publicKey;
    const bootstrap = `/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`;
    const result = await gojinn(
      dir,
      'init',
      '--data',
      'b',
      '--gateway',
      '127.0.0.1:8180',
      '--admin',
      '127.0.0.1:8181',
      '--metrics',
      '127.0.0.1:9564',
      '--listen',
      '/ip4/127.0.0.1/tcp/4101',
      '--bootstrap',
      bootstrap,
      '--trust',
      key,
      '--public',
      'hello',
      '--public',
      'fib',
    );
    assert.equal(result.code, 0, result.stderr);
    const config = await loadConfigFile(join(dir, 'b', CONFIG_FILE));
    assert.deepEqual(config.gateway.listen, { host: '127.0.0.1', port: 8180 });
    assert.deepEqual(config.admin.listen, { host: '127.0.0.1', port: 8181 });
    assert.deepEqual(config.metrics.listen, { host: '127.0.0.1', port: 9564 });
    assert.deepEqual(config.listen.addresses, ['/ip4/127.0.0.1/tcp/4101']);
    assert.deepEqual(config.mesh.bootstrap, [bootstrap]);
    assert.deepEqual(config.trust.publishers, [key]);
    assert.deepEqual(config.gateway.publicFunctions, ['hello', 'fib']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('a bad setting is exit 2 naming the key, and no data directory is created', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-init-settings-'));
  try {
    for (const [flag, value, key] of [
      ['--gateway', '0.0.0.0:99999', 'gateway.listen'],
      ['--bootstrap', '/ip4/127.0.0.1/tcp/4001', 'mesh.bootstrap'],
      ['--trust', 'ed25519:nope', 'trust.publishers'],
      ['--admin', '10.0.0.1:8181', 'admin.listen'],
    ] as const) {
      const result = await gojinn(dir, 'init', '--data', 'x', flag, value);
      assert.equal(result.code, 2, `${flag} ${value}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(key.replace('.', '\\.')));
      await assert.rejects(stat(join(dir, 'x')), { code: 'ENOENT' });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
