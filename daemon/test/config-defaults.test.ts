/** Every default of config.toml, the frozen NodeConfig, and the generated template parsing back to them. */
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@gojinn/manifest';
import { CONFIG_SCHEMA, defaultConfig, parseConfig, renderConfigTemplate } from '@gojinn/daemon';

const DATA = '/srv/gojinn';
const FILE = `${DATA}/config.toml`;

const EXPECTED_DEFAULTS = {
  file: FILE,
  node: { dataDir: DATA, mode: 'strict', allowDebug: false },
  listen: { addresses: ['/ip4/127.0.0.1/tcp/4001'] },
  mesh: { bootstrap: [], mdns: false, maxConnections: 100, allowPeers: [], unknownPeers: 'deny' },
  trust: { publishers: [], operators: [] },
  grants: { rules: [], allowDebug: false },
  peers: [],
  limits: {
    fuel: 1_000_000_000n,
    memoryBytes: 64 * 1024 * 1024,
    timeoutMs: 5_000,
    maxStdoutBytes: 1024 * 1024,
    maxStderrBytes: 64 * 1024,
    maxStdinBytes: 1024 * 1024,
    poolSize: availableParallelism(),
    maxQueue: 1024,
    warmPool: false,
  },
  gateway: {
    listen: { host: '127.0.0.1', port: 8080 },
    maxBodyBytes: 1024 * 1024,
    publicFunctions: [],
    corsOrigins: [],
    ipRatePerSecond: 50,
  },
  admin: { listen: { host: '127.0.0.1', port: 8081 }, allowNonLoopback: false },
  audit: { maxEntries: 1_000_000, maxAgeDays: 0 },
  logging: { level: 'info' },
  metrics: {
    enabled: true,
    listen: { host: '127.0.0.1', port: 9464 },
    allowNonLoopback: false,
    requireToken: false,
  },
  http: { allowedRanges: [] },
};

void test('an empty config file gives every documented default', () => {
  assert.deepEqual(defaultConfig(DATA), EXPECTED_DEFAULTS);
  assert.deepEqual(parseConfig('', { file: FILE }), EXPECTED_DEFAULTS);
});

void test('the parsed config is frozen all the way down', () => {
  const config = parseConfig(
    '[trust]\npublishers = []\n[[peers]]\nid = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"\nmodules = ["*"]\n',
    {
      file: FILE,
    },
  );
  const objects: unknown[] = [config];
  let seen = 0;
  while (objects.length > 0) {
    const value = objects.pop();
    if (typeof value !== 'object' || value === null) continue;
    assert.ok(
      Object.isFrozen(value),
      `not frozen: ${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
    );
    seen += 1;
    objects.push(...Object.values(value));
  }
  assert.ok(seen > 15);
  assert.throws(() => {
    (config.gateway as { maxBodyBytes: number }).maxBodyBytes = 1;
  }, TypeError);
  assert.throws(() => (config.trust.publishers as string[]).push('x'), TypeError);
});

void test('the generated config.toml parses back to the defaults, as written and with every key uncommented', () => {
  const template = renderConfigTemplate();
  assert.deepEqual(parseConfig(template, { file: FILE }), EXPECTED_DEFAULTS);
  const uncommented = template.replace(/^# (?=[A-Za-z]+ = )/gm, '');
  assert.notEqual(uncommented, template);
  const liveKeys = [...uncommented.matchAll(/^([A-Za-z]+) = /gm)].length;
  const tableKeys = CONFIG_SCHEMA.filter((s) => !s.array).reduce((n, s) => n + s.fields.length, 0);
  assert.equal(liveKeys, tableKeys, 'every key of every [section] is in the template');
  assert.deepEqual(parseConfig(uncommented, { file: FILE }), EXPECTED_DEFAULTS);
});

void test('the template lists every key of every section, array-of-tables entries included, with its expectation', () => {
  const template = renderConfigTemplate();
  for (const section of CONFIG_SCHEMA) {
    assert.ok(
      template.includes(section.array ? `## [[${section.name}]]` : `\n[${section.name}]\n`),
      section.name,
    );
    for (const field of section.fields) {
      assert.ok(template.includes(field.kind.expected), `${section.name}.${field.key}`);
      const keyLine = section.array ? `##   ${field.key}:` : `# ${field.key} = `;
      assert.ok(template.includes(keyLine), `${section.name}.${field.key}`);
    }
  }
});

void test('values in the file replace defaults; relative data dirs are taken from the file, GOJINN_DATA from the working directory', () => {
  const config = parseConfig(
    [
      '[node]',
      'dataDir = "state"',
      'mode = "development"',
      'allowDebug = true',
      '[limits]',
      'fuel = 9_223_372_036_854_775_807',
      'poolSize = 3',
      '[gateway]',
      'listen = "[::1]:0"',
      'publicFunctions = ["hello", "hello"]',
      'corsOrigins = ["https://app.example.com", "http://localhost:3000"]',
      '[http]',
      'allowedRanges = ["10.0.0.0/8", "fd00::/8"]',
    ].join('\n'),
    { file: '/etc/gojinn/config.toml' },
  );
  assert.equal(config.node.dataDir, '/etc/gojinn/state');
  assert.equal(config.node.mode, 'development');
  assert.equal(config.grants.allowDebug, true, 'node.allowDebug reaches the grants');
  assert.equal(config.limits.fuel, 2n ** 63n - 1n, 'the largest fuel TOML can hold is accepted');
  assert.equal(config.limits.poolSize, 3);
  assert.deepEqual(config.gateway.listen, { host: '::1', port: 0 });
  assert.deepEqual(config.gateway.publicFunctions, ['hello'], 'duplicates dropped');
  assert.deepEqual(config.http.allowedRanges, ['10.0.0.0/8', 'fd00::/8']);

  const fromEnv = parseConfig('[node]\ndataDir = "state"\n[logging]\nlevel = "warn"\n', {
    file: '/etc/gojinn/config.toml',
    env: { GOJINN_DATA: 'elsewhere', GOJINN_LOG_LEVEL: 'debug' },
    cwd: '/home/op',
  });
  assert.equal(fromEnv.node.dataDir, '/home/op/elsewhere');
  assert.equal(fromEnv.logging.level, 'debug');
  const emptyEnv = parseConfig('', { file: FILE, env: { GOJINN_DATA: '', GOJINN_LOG_LEVEL: '' } });
  assert.equal(emptyEnv.node.dataDir, DATA, 'an empty variable is unset');
});

void test('grants and peers parse into the capabilities package shapes', () => {
  const publisher = generateKeyPair().publicKey;
  const config = parseConfig(
    [
      '[trust]',
      `publishers = ["${publisher}"]`,
      '[[grants]]',
      'module = "notes"',
      'capabilities = { "kv.read" = { prefixes = ["notes/", "notes/a"] }, "db.query" = {} }',
      '[[grants]]',
      `publisher = "${publisher}"`,
      '[grants.capabilities."net.http"]',
      'hosts = ["https://api.example.com"]',
      '[[peers]]',
      'id = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"',
      'modules = ["notes"]',
      'capabilities = { "kv.read" = { prefixes = ["notes/"] } }',
      'ratePerSecond = 1_000_000',
      'maxConcurrent = 1',
    ].join('\n'),
    { file: FILE },
  );
  assert.deepEqual(config.trust.publishers, [publisher]);
  assert.deepEqual(config.grants.rules, [
    { module: 'notes', capabilities: { 'kv.read': { prefixes: ['notes/'] }, 'db.query': {} } },
    { publisher, capabilities: { 'net.http': { hosts: ['https://api.example.com'] } } },
  ]);
  assert.deepEqual(config.peers, [
    {
      id: '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
      modules: ['notes'],
      capabilities: { 'kv.read': { prefixes: ['notes/'] } },
      ratePerSecond: 1_000_000,
      maxConcurrent: 1,
    },
  ]);
  const defaults = parseConfig(
    '[[peers]]\nid = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"\nmodules = ["*"]',
    { file: FILE },
  );
  assert.deepEqual(defaults.peers[0], {
    id: '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
    modules: ['*'],
    capabilities: {},
    ratePerSecond: 50,
    maxConcurrent: 8,
  });
});
