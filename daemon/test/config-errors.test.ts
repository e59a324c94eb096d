/**
 * Each kind of config mistake stops the daemon with the documented message
 * "<file>: <key path>: <problem>" (docs/config.md, "Errors"), and limits hold at their edge.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@gojinn/manifest';
import { GojinnError } from '@gojinn/errors';
import {
  ConfigError,
  MAX_ADDRESSES,
  MAX_CONFIG_BYTES,
  MAX_TRUSTED_KEYS,
  configFilePath,
  loadConfigFile,
  parseConfig,
} from '@gojinn/daemon';

const FILE = '/etc/gojinn/config.toml';
const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';

function refused(toml: string, keyPath: string, problem: RegExp, env?: NodeJS.ProcessEnv): ConfigError {
  try {
    parseConfig(toml, { file: FILE, ...(env === undefined ? {} : { env }) });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    assert.ok(error instanceof GojinnError);
    assert.equal(error.code, 'bad_request');
    assert.equal(error.keyPath, keyPath, error.message);
    const prefix = keyPath === '' ? `${error.source}: ` : `${error.source}: ${keyPath}: `;
    assert.ok(error.message.startsWith(prefix), `${error.message} starts with ${prefix}`);
    assert.match(error.message.slice(prefix.length), problem);
    return error;
  }
  assert.fail(`accepted: ${toml}`);
}

function accepted(toml: string): void {
  assert.doesNotThrow(() => parseConfig(toml, { file: FILE }), toml);
}

void test('an unknown key or section names it and lists the keys that exist', () => {
  const key = refused(
    '[gateway]\nmaxBodySize = 10\n',
    'gateway.maxBodySize',
    /^unknown key \(expected one of: listen, maxBodyBytes, /,
  );
  assert.equal(key.source, FILE);
  refused('[gatway]\n', 'gatway', /^unknown section \(expected one of: node, listen, mesh, /);
  refused('level = "info"\n', 'level', /^unknown section/);
  refused(
    `[[peers]]\nid = "${PEER}"\nmodules = ["*"]\nrate = 1\n`,
    'peers[0].rate',
    /^unknown key \(expected one of: id, modules, capabilities, ratePerSecond, maxConcurrent\)$/,
  );
  refused('[[grants]]\nmodule = "x"\ncapabilities = {}\nscope = 1\n', 'grants[0].scope', /^unknown key/);
  refused(
    '[[grants]]\nmodule = "x"\ncapabilities = { "kv.list" = {} }\n',
    'grants[0].capabilities',
    /unknown field "kv\.list"/,
  );
});

void test('a wrong type names the key, what was expected and what was found', () => {
  refused(
    '[gateway]\nmaxBodyBytes = "1MiB"\n',
    'gateway.maxBodyBytes',
    /^expected an integer in \[0, 67_108_864\], got the string "1MiB"$/,
  );
  refused('[gateway]\nmaxBodyBytes = 1.5\n', 'gateway.maxBodyBytes', /got the float 1\.5$/);
  refused('[mesh]\nmdns = "yes"\n', 'mesh.mdns', /^expected true or false, got the string "yes"$/);
  refused(
    '[node]\nmode = "production"\n',
    'node.mode',
    /^expected one of "strict", "development", got the string "production"$/,
  );
  refused(
    '[logging]\nlevel = 3\n',
    'logging.level',
    /^expected one of "trace", .*"silent", got the integer 3$/,
  );
  refused(
    '[listen]\naddresses = "/ip4/127.0.0.1/tcp/1"\n',
    'listen.addresses',
    /^expected an array of at most 100 entries, each a libp2p multiaddr/,
  );
  refused(
    '[trust]\npublishers = [1]\n',
    'trust.publishers[0]',
    /^expected a public key ed25519:.*, got the integer 1$/,
  );
  refused('gateway = 1\n', 'gateway', /^expected a table \[gateway\], got the integer 1$/);
  refused('peers = 1\n', 'peers', /^expected an array of tables \[\[peers\]\]/);
  refused('[node]\ndataDir = 1979-05-27\n', 'node.dataDir', /got a date$/);
  refused(
    '[gateway]\nlisten = { host = "127.0.0.1" }\n',
    'gateway.listen',
    /^expected HOST:PORT .*, got a table$/,
  );
});

void test('out-of-range values are refused one past each limit and accepted at it', () => {
  accepted('[limits]\ntimeoutMs = 3_600_000\n');
  refused(
    '[limits]\ntimeoutMs = 3_600_001\n',
    'limits.timeoutMs',
    /^expected an integer in \[1, 3_600_000\], got the integer 3600001$/,
  );
  refused('[limits]\ntimeoutMs = 0\n', 'limits.timeoutMs', /got the integer 0$/);
  accepted('[limits]\nfuel = 1\n');
  refused('[limits]\nfuel = 0\n', 'limits.fuel', /^expected an integer in \[1, 9_223_372_036_854_775_807\]/);
  accepted(`[limits]\nmemoryBytes = ${65536 * 65536}\n`);
  refused(
    `[limits]\nmemoryBytes = ${65536 * 65536 + 65536}\n`,
    'limits.memoryBytes',
    /a multiple of 65_536, got the integer/,
  );
  refused(
    '[limits]\nmemoryBytes = 100000\n',
    'limits.memoryBytes',
    /^expected an integer in \[65_536, 4_294_967_296\], a multiple of 65_536, got the integer 100000$/,
  );
  accepted('[limits]\npoolSize = 1024\nmaxQueue = 16_777_216\n');
  refused('[limits]\npoolSize = 1025\n', 'limits.poolSize', /\[0, 1_024\]/);
  refused('[limits]\nmaxQueue = 16_777_217\n', 'limits.maxQueue', /\[0, 16_777_216\]/);
  accepted(`[gateway]\nmaxBodyBytes = ${64 * 1024 * 1024}\n[limits]\nmaxStdinBytes = ${64 * 1024 * 1024}\n`);
  refused(
    `[gateway]\nmaxBodyBytes = ${64 * 1024 * 1024 + 1}\n`,
    'gateway.maxBodyBytes',
    /got the integer 67108865$/,
  );
  accepted('[mesh]\nmaxConnections = 10_000\n');
  refused('[mesh]\nmaxConnections = 10_001\n', 'mesh.maxConnections', /\[1, 10_000\]/);
  refused('[gateway]\nlisten = "127.0.0.1:65536"\n', 'gateway.listen', /^expected HOST:PORT/);
  accepted('[gateway]\nlisten = "127.0.0.1:65535"\n');
});

void test('lists are bounded at their limit, and a bad entry is named by its index', () => {
  const addresses = (n: number) =>
    Array.from({ length: n }, (_, i) => `"/ip4/127.0.0.1/tcp/${4000 + i}"`).join(', ');
  accepted(`[listen]\naddresses = [${addresses(MAX_ADDRESSES)}]\n`);
  refused(
    `[listen]\naddresses = [${addresses(MAX_ADDRESSES + 1)}]\n`,
    'listen.addresses',
    /^expected an array of at most 100 entries, .*got an array of 101$/,
  );
  // The limit counts entries as written (one key repeated: each distinct entry is checked once).
  const key = `"${generateKeyPair().publicKey}"`;
  const keys = (n: number) => Array.from({ length: n }, () => key).join(', ');
  accepted(`[trust]\noperators = [${keys(MAX_TRUSTED_KEYS)}]\n`);
  refused(
    `[trust]\noperators = [${keys(MAX_TRUSTED_KEYS + 1)}]\n`,
    'trust.operators',
    /got an array of 1001$/,
  );
  refused(
    '[listen]\naddresses = ["/ip4/127.0.0.1/tcp/1", "/ip4/300.0.0.1/tcp/1"]\n',
    'listen.addresses[1]',
    /^expected a libp2p multiaddr/,
  );
  refused(
    '[mesh]\nbootstrap = ["/ip4/192.0.2.7/tcp/4001"]\n',
    'mesh.bootstrap[0]',
    /\(it does not name the peer with \/p2p\/<peer id>\)$/,
  );
  accepted(`[mesh]\nbootstrap = ["/ip4/192.0.2.7/tcp/4001/p2p/${PEER}"]\n`);
  refused(
    '[trust]\npublishers = ["ed25519:abc"]\n',
    'trust.publishers[0]',
    /got the string "ed25519:abc" \(public key must be 43 base64url characters/,
  );
  refused(
    '[gateway]\ncorsOrigins = ["https://app.example.com/"]\n',
    'gateway.corsOrigins[0]',
    /no path or trailing slash/,
  );
  refused(
    '[gateway]\npublicFunctions = ["Hello"]\n',
    'gateway.publicFunctions[0]',
    /^expected a module name/,
  );
  refused('[http]\nallowedRanges = ["10.0.0.0/33"]\n', 'http.allowedRanges[0]', /^expected a CIDR range/);
});

void test('array-of-tables entries: required keys, selectors, duplicates and nested capability paths', () => {
  refused(`[[peers]]\nid = "${PEER}"\n`, 'peers[0].modules', /^missing \(expected an array of at most/);
  refused('[[peers]]\nmodules = ["*"]\n', 'peers[0].id', /^missing \(expected a libp2p peer id/);
  refused(
    '[[peers]]\nid = "not-a-peer"\nmodules = ["*"]\n',
    'peers[0].id',
    /got the string "not-a-peer" \(not a peer id\)$/,
  );
  refused(
    `[[peers]]\nid = "${PEER}"\nmodules = ["*"]\n[[peers]]\nid = "${PEER}"\nmodules = ["a"]\n`,
    'peers[1].id',
    /^repeats an earlier \[\[peers\]\] entry/,
  );
  refused(
    `[[peers]]\nid = "${PEER}"\nmodules = ["*"]\nmaxConcurrent = 1025\n`,
    'peers[0].maxConcurrent',
    /\[1, 1_024\]/,
  );
  refused('[[grants]]\ncapabilities = {}\n', 'grants[0]', /^must name a module, a publisher or both/);
  refused('[[grants]]\nmodule = "a"\n', 'grants[0].capabilities', /^missing/);
  refused(
    '[[grants]]\nmodule = "a"\ncapabilities = {}\n[[grants]]\nmodule = "a"\ncapabilities = {}\n',
    'grants[1]',
    /^repeats the selector of an earlier rule/,
  );
  refused(
    '[[grants]]\nmodule = "a"\ncapabilities = { "kv.read" = { prefixes = [1] } }\n',
    'grants[0].capabilities.kv.read.prefixes[0]',
    /^expected a string$/,
  );
  refused(
    '[[grants]]\nmodule = "a"\ncapabilities = { "debug.enable" = {} }\n',
    'grants[0].capabilities.debug.enable',
    /strict \(production\) node/,
  );
  accepted(
    '[node]\nmode = "development"\n[[grants]]\nmodule = "a"\ncapabilities = { "debug.enable" = {} }\n',
  );
});

void test('cross-key rules: a non-loopback admin bind needs allowNonLoopback; debug needs development mode', () => {
  refused(
    '[admin]\nlisten = "0.0.0.0:8081"\n',
    'admin.listen',
    /^expected a loopback address .*got "0\.0\.0\.0"; set admin\.allowNonLoopback = true/,
  );
  refused('[admin]\nlisten = "[::]:8081"\n', 'admin.listen', /^expected a loopback address/);
  refused('[admin]\nlisten = "192.168.1.5:8081"\n', 'admin.listen', /^expected a loopback address/);
  refused('[admin]\nlisten = "[::ffff:10.0.0.1]:8081"\n', 'admin.listen', /^expected a loopback address/);
  for (const loopback of ['127.0.0.1:1', '127.1.2.3:1', '[::1]:1', 'localhost:1', '[::ffff:127.0.0.1]:1']) {
    accepted(`[admin]\nlisten = "${loopback}"\n`);
  }
  accepted('[admin]\nlisten = "0.0.0.0:8081"\nallowNonLoopback = true\n');
  accepted(`[gateway]\nmaxBodyBytes = 2048\n[limits]\nmaxStdinBytes = 2048\n`);
  refused(
    `[gateway]\nmaxBodyBytes = 2049\n[limits]\nmaxStdinBytes = 2048\n`,
    'gateway.maxBodyBytes',
    /^expected at most limits\.maxStdinBytes \(2048\), got the integer 2049$/,
  );
  refused('[node]\nallowDebug = true\n', 'node.allowDebug', /^expected false on a strict node/);
  accepted('[node]\nmode = "development"\nallowDebug = true\n');
});

void test('environment overrides are checked like the file and name the variable', () => {
  const error = refused('', 'logging.level', /^expected one of "trace"/, { GOJINN_LOG_LEVEL: 'loud' });
  assert.equal(error.source, 'environment variable GOJINN_LOG_LEVEL');
  assert.match(error.message, /^environment variable GOJINN_LOG_LEVEL: logging\.level: expected one of/);
});

void test('invalid TOML names the file, line and column', () => {
  refused('[node]\nmode = "strict"\nmode = "development"\n', '', /^invalid TOML at line 3, column \d+:/);
  refused('[node\n', '', /^invalid TOML at line 1, column \d+:/);
  refused('[node]\n__proto__ = 1\n', '', /^invalid TOML/);
});

void test('loadConfigFile: a file at MAX_CONFIG_BYTES is read, one byte more is refused; a missing file is an error unless missingOk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-config-'));
  try {
    const file = join(dir, 'config.toml');
    const body = '[logging]\nlevel = "warn"\n';
    await writeFile(file, body + '#'.repeat(MAX_CONFIG_BYTES - body.length));
    const config = await loadConfigFile(file);
    assert.equal(config.logging.level, 'warn');
    assert.equal(config.file, file);
    assert.equal(config.node.dataDir, dir);
    await writeFile(file, body + '#'.repeat(MAX_CONFIG_BYTES - body.length + 1));
    await assert.rejects(loadConfigFile(file), (error: ConfigError) => {
      assert.equal(
        error.message,
        `${file}: is ${MAX_CONFIG_BYTES + 1} bytes; the limit is MAX_CONFIG_BYTES (${MAX_CONFIG_BYTES})`,
      );
      return true;
    });
    const missing = join(dir, 'none.toml');
    await assert.rejects(loadConfigFile(missing), {
      message: `${missing}: cannot read the config file: ENOENT`,
    });
    assert.equal((await loadConfigFile(missing, { missingOk: true })).node.dataDir, dir);
    await mkdir(join(dir, 'sub.toml'));
    await assert.rejects(loadConfigFile(join(dir, 'sub.toml'), { missingOk: true }), {
      message: /is not a regular file$/,
    });
    await writeFile(file, body);
    const relative = await loadConfigFile('config.toml', { cwd: dir, missingOk: true });
    assert.equal(relative.file, file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('fuel one past the largest i64 is out of range (TOML integers beyond 64 bits are not silently wrapped)', () => {
  refused(
    '[limits]\nfuel = 9_223_372_036_854_775_808\n',
    'limits.fuel',
    /got the integer 9223372036854775808$/,
  );
  refused('[limits]\nfuel = -1\n', 'limits.fuel', /got the integer -1$/);
});

void test('an unknown key that is long or odd is named quoted and cut to 64 characters', () => {
  const long = 'k'.repeat(100);
  const error = refused(
    `[gateway]\n"${long} \\u0007" = 1\n`,
    `gateway.${JSON.stringify('k'.repeat(64))}`,
    /^unknown key/,
  );
  assert.ok(!error.message.includes('k'.repeat(65)));
  refused('[gateway]\n"a.b" = 1\n', 'gateway."a.b"', /^unknown key/);
});

void test('a peer\'s modules are names or "*" alone', () => {
  accepted(`[[peers]]\nid = "${PEER}"\nmodules = ["*"]\n`);
  accepted(`[[peers]]\nid = "${PEER}"\nmodules = []\n`);
  refused(
    `[[peers]]\nid = "${PEER}"\nmodules = ["*", "notes"]\n`,
    'peers[0].modules',
    /^expected \["\*"\] alone or a list of module names/,
  );
  refused(
    `[[peers]]\nid = "${PEER}"\nmodules = ["notes", "Bad"]\n`,
    'peers[0].modules[1]',
    /^expected a module name or "\*"/,
  );
});

void test('configFilePath: --config, else GOJINN_CONFIG, else <data dir>/config.toml; relative to the working directory', () => {
  assert.equal(configFilePath({ dataDir: 'data', cwd: '/home/op' }), '/home/op/data/config.toml');
  assert.equal(
    configFilePath({ dataDir: '/d', env: { GOJINN_CONFIG: 'etc/g.toml' }, cwd: '/home/op' }),
    '/home/op/etc/g.toml',
  );
  assert.equal(configFilePath({ dataDir: '/d', env: { GOJINN_CONFIG: '' }, cwd: '/x' }), '/d/config.toml');
  assert.equal(
    configFilePath({ flag: '/etc/n.toml', dataDir: '/d', env: { GOJINN_CONFIG: '/e.toml' } }),
    '/etc/n.toml',
  );
});
