import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_FUNCTIONS, WASI_FUNCTIONS, type Capability } from '@gojinn/abi';
import {
  DEFAULT_VERIFICATION_CACHE_ENTRIES,
  TrustPolicy,
  VerificationCache,
  checkImports,
  readModuleImports,
  verifyManifest,
  verifyModule,
  type Manifest,
  type VerificationCheck,
} from '../src/index.ts';
import { assemble, copy, operator, otherPublisher, publisher, signedFor, watImporting } from './fixtures.ts';

const trust = new TrustPolicy({ publishers: [publisher.publicKey] });
const codeIs = (code: string, message?: RegExp) => (error: unknown) =>
  (error as { code?: string }).code === code &&
  (message === undefined || message.test((error as Error).message));
let moduleBytes: Uint8Array;
let signed: Manifest;

void before(async () => {
  moduleBytes = await assemble(watImporting(['kv_get']));
  signed = signedFor(moduleBytes);
});

void test('checks run in order and report progress up to the failure', () => {
  const seen: VerificationCheck[] = [];
  const verified = verifyModule(signed, moduleBytes, trust, readModuleImports, {
    onCheck: (c) => seen.push(c),
  });
  assert.deepEqual(seen, verified.checks);
  assert.deepEqual(
    seen.map((c) => c.check),
    ['signature', 'publisher', 'content', 'imports'],
  );
  assert.equal(verified.sha256, signed.sha256);
  assert.match(verified.cid, /^bafkrei[a-z2-7]{52}$/);
  assert.deepEqual(verified.declared, [
    'db.query',
    'debug.enable',
    'kv.read',
    'kv.write',
    'net.http',
    'secrets.read',
  ]);
  assert.deepEqual(verified.required, ['kv.read']);

  const progress: string[] = [];
  assert.throws(
    () =>
      verifyModule(signed, moduleBytes.subarray(1), trust, readModuleImports, {
        onCheck: (c) => progress.push(c.check),
      }),
    codeIs('signature_invalid', /hash mismatch/),
  );
  assert.deepEqual(progress, ['signature', 'publisher']);
});

void test('the checked copy is what is returned: changing the input object afterwards changes nothing', () => {
  const input = copy(signed);
  const verified = verifyModule(input, moduleBytes, trust, readModuleImports);
  input.capabilities['db.query'] = {};
  delete input.capabilities['kv.read'];
  input.name = 'other';
  assert.equal(verified.manifest.name, 'hello');
  assert.ok(verified.manifest.capabilities['kv.read']);
});

void test('a hand-built manifest object of the wrong shape is refused like a parsed one', () => {
  const variants = [
    { ...signed, capabilities: { 'kv.read': { prefixes: 'all' } } },
    { ...signed, capabilities: { 'fs.write': {} } },
    { ...signed, size: '8' },
    { ...signed, extra: true },
    { ...signed, limits: undefined },
  ];
  for (const variant of variants) {
    assert.throws(
      () => verifyManifest(variant as unknown as Manifest, trust),
      codeIs('signature_invalid'),
      JSON.stringify(variant).slice(0, 80),
    );
  }
});

void test('signed bytes that are not a valid module are invalid_module, found only after signature and hash pass', () => {
  const garbage = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff]);
  const manifest = signedFor(garbage);
  const progress: string[] = [];
  assert.throws(
    () =>
      verifyModule(manifest, garbage, trust, readModuleImports, { onCheck: (c) => progress.push(c.check) }),
    codeIs('invalid_module'),
  );
  assert.deepEqual(progress, ['signature', 'publisher', 'content']);
  assert.throws(() => readModuleImports(new Uint8Array([1, 2, 3])), codeIs('invalid_module'));
});

void test('imports: WASI and gojinn.log need nothing; every host function needs exactly its capability', () => {
  const wasi = WASI_FUNCTIONS.map((name) => ({ module: 'wasi_snapshot_preview1', name, kind: 'function' }));
  assert.deepEqual(checkImports([...wasi, { module: 'gojinn', name: 'log', kind: 'function' }], {}), []);
  for (const [name, spec] of Object.entries(HOST_FUNCTIONS)) {
    if (spec.capability === 'log') continue;
    const imports = [{ module: 'gojinn', name, kind: 'function' }];
    const capability: Capability = spec.capability;
    assert.throws(
      () => checkImports(imports, {}),
      codeIs(
        'capability_denied',
        new RegExp(
          `import gojinn\\.${name} needs capability ${capability.replace('.', '\\.')}, which the manifest does not declare`,
        ),
      ),
    );
    const scoped = {
      'kv.read': { prefixes: [''] },
      'kv.write': { prefixes: [''] },
      'net.http': { hosts: ['https://a.com'] },
      'secrets.read': { names: ['A'] },
    };
    const declared = { [capability]: (scoped as Record<string, object>)[capability] ?? {} };
    assert.deepEqual(checkImports(imports, declared), [capability]);
  }
});

void test('imports Gojinn does not provide are capability_denied, naming the import', () => {
  const cases: [string, string, string, RegExp][] = [
    [
      'wasi_snapshot_preview1',
      'bogus',
      'function',
      /import wasi_snapshot_preview1\.bogus is not a function Gojinn provides/,
    ],
    ['gojinn', '__proto__', 'function', /gojinn\.__proto__ is not a function Gojinn provides/],
    ['gojinn', 'constructor', 'function', /gojinn\.constructor is not/],
    ['env', 'abort', 'function', /import env\.abort is not a function Gojinn provides/],
    ['env', 'memory', 'memory', /import env\.memory is a memory; Gojinn provides only functions/],
    ['gojinn', 'kv_get', 'global', /is a global/],
    [
      'env\u001b[2J',
      `f${'x'.repeat(5000)}`,
      'function',
      /^import env\\u\{1b\}\[2J\.fx{63}\.\.\. is not a function Gojinn provides$/,
    ],
  ];
  for (const [module, name, kind, message] of cases) {
    assert.throws(
      () => checkImports([{ module, name, kind }], { 'kv.read': { prefixes: [''] } }),
      codeIs('capability_denied', message),
    );
  }
});

void test('the verification cache skips ed25519 only for the exact signed bytes it verified', () => {
  const cache = new VerificationCache();
  verifyModule(signed, moduleBytes, trust, readModuleImports, { cache });
  assert.deepEqual([cache.hits, cache.misses, cache.size], [0, 1, 1]);
  const again = verifyModule(signed, moduleBytes, trust, readModuleImports, { cache });
  assert.deepEqual([cache.hits, cache.misses], [1, 1]);
  assert.match(again.checks[0]?.detail ?? '', /\(cached\)$/);
  // Same cache key (content hash, signature), one field changed: a miss, verified, refused.
  const tampered = {
    ...copy(signed),
    capabilities: { ...signed.capabilities, 'net.http': { hosts: ['https://evil.com'] } },
  };
  assert.throws(
    () => verifyModule(tampered, moduleBytes, trust, readModuleImports, { cache }),
    codeIs('signature_invalid', /does not verify/),
  );
  assert.deepEqual([cache.hits, cache.misses, cache.size], [1, 2, 1]);
  // A hit still checks trust, size, hash and imports on every call.
  assert.throws(
    () => verifyModule(signed, moduleBytes, new TrustPolicy(), readModuleImports, { cache }),
    codeIs('untrusted_publisher'),
  );
  assert.throws(
    () => verifyModule(signed, moduleBytes.subarray(0, -1), trust, readModuleImports, { cache }),
    codeIs('signature_invalid', /hash mismatch/),
  );
  const noKv = { ...copy(signed) };
  assert.throws(
    () =>
      verifyModule(noKv, moduleBytes, trust, () => [{ module: 'gojinn', name: 'nope', kind: 'function' }], {
        cache,
      }),
    codeIs('capability_denied'),
  );
  assert.equal(cache.misses, 2);
});

void test(`the cache keeps at most maxEntries (default ${DEFAULT_VERIFICATION_CACHE_ENTRIES}), evicting the least recently used`, () => {
  assert.equal(new VerificationCache().maxEntries, DEFAULT_VERIFICATION_CACHE_ENTRIES);
  assert.throws(() => new VerificationCache(0), RangeError);
  const manifests = ['a', 'b', 'c'].map((name) => signedFor(moduleBytes, { name }));
  const [a, b, c] = manifests as [Manifest, Manifest, Manifest];
  const cache = new VerificationCache(2);
  for (const m of [a, b]) verifyManifest(m, trust, { cache });
  assert.equal(cache.size, 2, 'at the limit, both kept');
  verifyManifest(a, trust, { cache }); // a is now the most recently used
  verifyManifest(c, trust, { cache }); // evicts b
  assert.equal(cache.size, 2);
  const before = cache.misses;
  verifyManifest(a, trust, { cache });
  verifyManifest(c, trust, { cache });
  assert.equal(cache.misses, before, 'a and c are still cached');
  verifyManifest(b, trust, { cache });
  assert.equal(cache.misses, before + 1, 'b was evicted');
  cache.clear();
  assert.equal(cache.size, 0);
});

void test('trust policy: strict by default, keys parsed strictly, operators are not publishers', () => {
  const empty = new TrustPolicy();
  assert.deepEqual([empty.publishers, empty.operators], [[], []]);
  assert.equal(empty.trustsPublisher(publisher.publicKey), false);
  const policy = new TrustPolicy({
    publishers: [publisher.publicKey, publisher.publicKey],
    operators: [operator.publicKey],
  });
  assert.deepEqual(policy.publishers, [publisher.publicKey]);
  assert.equal(policy.trustsPublisher(operator.publicKey), false);
  assert.equal(policy.isOperator(operator.publicKey), true);
  assert.equal(policy.isOperator(publisher.publicKey), false);
  assert.throws(
    () => new TrustPolicy({ publishers: ['ed25519:nope'] }),
    codeIs('bad_request', /trusted publisher key "ed25519:nope"/),
  );
  assert.throws(
    () => new TrustPolicy({ operators: [otherPublisher.publicKey.slice(0, -1)] }),
    codeIs('bad_request', /operator key/),
  );
  assert.throws(
    () => verifyManifest(signed, new TrustPolicy({ operators: [publisher.publicKey] })),
    codeIs('untrusted_publisher'),
  );
});
