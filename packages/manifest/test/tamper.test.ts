/**
 * Tampering: every change to a signed manifest or its module after signing is refused with
 * the right code, before the module's imports are even read.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import {
  MANIFEST_DOMAIN_TAG,
  REVOCATION_DOMAIN_TAG,
  TrustPolicy,
  VerificationCache,
  canonicalJson,
  encodeManifest,
  manifestSigningBytes,
  moduleDigest,
  parseManifest,
  parseStrictJson,
  readModuleImports,
  unsignedManifest,
  verifyManifest,
  verifyModule,
  type JsonValue,
  type Manifest,
  type ModuleImport,
} from '../src/index.ts';
import { assemble, copy, otherPublisher, publisher, signedFor, watImporting } from './fixtures.ts';

const trust = new TrustPolicy({ publishers: [publisher.publicKey] });
let moduleBytes: Uint8Array;
let otherModuleBytes: Uint8Array;
let signed: Manifest;

void before(async () => {
  moduleBytes = await assemble(watImporting(['kv_get', 'http_request']));
  otherModuleBytes = await assemble(watImporting(['kv_get']));
  signed = signedFor(moduleBytes);
});

/** An import source that counts how often the module bytes were parsed. */
function countingImports(): { source: (bytes: Uint8Array) => ModuleImport[]; calls: () => number } {
  let calls = 0;
  return {
    source: (bytes) => {
      calls++;
      return readModuleImports(bytes);
    },
    calls: () => calls,
  };
}

/** Asserts verifyModule refuses with `code` (and `message`) without ever parsing the module. */
function assertRefused(
  manifest: Manifest,
  bytes: Uint8Array,
  code: string,
  message: RegExp,
  policy = trust,
  cache?: VerificationCache,
): void {
  const imports = countingImports();
  assert.throws(
    () => verifyModule(manifest, bytes, policy, imports.source, { cache }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, code, error.message);
      assert.match(error.message, message);
      return true;
    },
  );
  assert.equal(imports.calls(), 0, 'the module was parsed before the refusal');
}

void test('the untampered module verifies (the baseline every tampering case departs from)', () => {
  const imports = countingImports();
  const verified = verifyModule(signed, moduleBytes, trust, imports.source);
  assert.equal(imports.calls(), 1);
  assert.deepEqual(verified.required, ['kv.read', 'net.http']);
  assert.deepEqual(
    verified.checks.map((c) => c.check),
    ['signature', 'publisher', 'content', 'imports'],
  );
});

type Edit = [string, (m: Record<string, unknown> & Manifest) => void];
const fieldEdits: Edit[] = [
  ['name', (m) => (m.name = 'hellp')],
  ['version', (m) => (m.version = '1.2.4')],
  ['sha256', (m) => (m.sha256 = moduleDigest(new Uint8Array(9)).sha256)],
  ['size', (m) => (m.size += 1)],
  ['sha256 and size for other bytes', (m) => Object.assign(m, moduleDigest(new Uint8Array(16)))],
  ['publisher', (m) => (m.publisher = otherPublisher.publicKey)],
  ['created', (m) => (m.created = '2026-01-31T12:00:00.001Z')],
  ['limits.fuel changed', (m) => (m.limits.fuel = 5_000_001)],
  ['limits.memoryBytes changed', (m) => (m.limits.memoryBytes = 2 * 1024 * 1024)],
  ['limits.timeoutMs changed', (m) => (m.limits.timeoutMs = 2_001)],
  ['limits.fuel removed', (m) => delete m.limits.fuel],
  ['limits.memoryBytes removed', (m) => delete m.limits.memoryBytes],
  ['limits.timeoutMs removed', (m) => delete m.limits.timeoutMs],
  ['kv.read prefix changed', (m) => (m.capabilities['kv.read'] = { prefixes: ['config/', 'users/admin/'] })],
  ['kv.read prefix added', (m) => (m.capabilities['kv.read'] = { prefixes: ['', 'config/', 'users/'] })],
  ['kv.write prefix changed', (m) => (m.capabilities['kv.write'] = { prefixes: ['cachf/'] })],
  [
    'net.http host changed',
    (m) =>
      (m.capabilities['net.http'] = { hosts: ['https://*.example.com', 'https://evil.example.org:8443'] }),
  ],
  [
    'net.http host added',
    (m) =>
      (m.capabilities['net.http'] = {
        hosts: ['https://*.example.com', 'https://api.example.org:8443', 'https://x.io'],
      }),
  ],
  ['secrets.read name changed', (m) => (m.capabilities['secrets.read'] = { names: ['DB_PASSWORD'] })],
  [
    'kv.read and kv.write prefix lists swapped',
    (m) => {
      const read = m.capabilities['kv.read'];
      m.capabilities['kv.read'] = m.capabilities['kv.write'];
      m.capabilities['kv.write'] = read;
    },
  ],
];
for (const capability of [
  'kv.read',
  'kv.write',
  'db.query',
  'net.http',
  'secrets.read',
  'debug.enable',
] as const) {
  fieldEdits.push([`capability ${capability} removed`, (m) => delete m.capabilities[capability]]);
}

void test('every manifest field changed after signing is refused: signature_invalid, module never parsed', () => {
  for (const [label, edit] of fieldEdits) {
    const tampered = copy(signed) as Record<string, unknown> & Manifest;
    edit(tampered);
    assert.notDeepEqual(tampered, signed, label);
    // Through the object API and through the file form alike.
    assertRefused(tampered, moduleBytes, 'signature_invalid', /does not verify/);
    assertRefused(
      parseManifest(encodeManifest(tampered)),
      moduleBytes,
      'signature_invalid',
      /does not verify/,
    );
  }
});

void test('each capability added after signing is refused', async () => {
  const bare = signedFor(moduleBytes, { capabilities: { 'kv.read': { prefixes: ['a/'] } } });
  const additions: Manifest['capabilities'][] = [
    { 'kv.write': { prefixes: ['a/'] } },
    { 'db.query': {} },
    { 'net.http': { hosts: ['https://example.com'] } },
    { 'secrets.read': { names: ['K'] } },
    { 'debug.enable': {} },
  ];
  for (const addition of additions) {
    const tampered = copy(bare);
    Object.assign(tampered.capabilities, addition);
    assertRefused(tampered, moduleBytes, 'signature_invalid', /does not verify/);
  }
  // A manifest declaring only what this module needs still verifies: the refusals above are the edits.
  const minimal = signedFor(await assemble(watImporting(['kv_get'])), {
    capabilities: { 'kv.read': { prefixes: ['a/'] } },
  });
  assert.doesNotThrow(() => verifyModule(minimal, otherModuleBytes, trust, readModuleImports));
});

void test('a schema version changed after signing is refused', () => {
  const tampered = { ...copy(signed), schema: 2 } as unknown as Manifest;
  assertRefused(tampered, moduleBytes, 'signature_invalid', /schema 2; this node reads schema 1/);
});

void test('capability lists swapped between two validly signed manifests are refused', () => {
  const a = signedFor(moduleBytes, {
    capabilities: { 'kv.read': { prefixes: ['a/'] }, 'net.http': { hosts: ['https://a.com'] } },
  });
  const b = signedFor(moduleBytes, {
    capabilities: { 'kv.read': { prefixes: ['b/'] }, 'net.http': { hosts: ['https://b.com'] } },
  });
  assertRefused({ ...a, capabilities: b.capabilities }, moduleBytes, 'signature_invalid', /does not verify/);
  assertRefused({ ...b, capabilities: a.capabilities }, moduleBytes, 'signature_invalid', /does not verify/);
  assertRefused({ ...a, signature: b.signature }, moduleBytes, 'signature_invalid', /does not verify/);
});

void test("a signature from another key is refused; re-signing with one's own key is untrusted_publisher", () => {
  const byOther = signedFor(moduleBytes, {}, otherPublisher);
  assertRefused(
    { ...signed, signature: byOther.signature },
    moduleBytes,
    'signature_invalid',
    /does not verify/,
  );
  assertRefused(byOther, moduleBytes, 'untrusted_publisher', /is not trusted/);
  // Strict by default: an empty policy trusts nobody, not even a valid signature.
  assertRefused(signed, moduleBytes, 'untrusted_publisher', /0 trusted publisher keys/, new TrustPolicy());
});

void test('a truncated or extended signature is refused', () => {
  const signature = Buffer.from(signed.signature, 'base64url');
  for (const bytes of [
    signature.subarray(0, 63),
    signature.subarray(0, 32),
    Buffer.alloc(0),
    Buffer.concat([signature, Buffer.alloc(1)]),
  ]) {
    assertRefused(
      { ...signed, signature: bytes.toString('base64url') },
      moduleBytes,
      'signature_invalid',
      /signature/,
    );
  }
});

void test('a non-reduced signature (S + L), which tweetnacl itself accepts, is refused', () => {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const signature = new Uint8Array(Buffer.from(signed.signature, 'base64url'));
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] ?? 0);
  let t = s + L;
  for (let i = 32; i < 64; i++, t >>= 8n) signature[i] = Number(t & 0xffn);
  assert.equal(t, 0n, 'S + L still fits in 32 bytes');
  assert.equal(
    nacl.sign.detached.verify(manifestSigningBytes(signed), signature, publisher.publicKeyBytes),
    true,
  );
  assertRefused(
    { ...signed, signature: Buffer.from(signature).toString('base64url') },
    moduleBytes,
    'signature_invalid',
    /does not verify/,
  );
});

void test('a signature made over another domain tag or schema version is refused', () => {
  const body = canonicalJson(unsignedManifest(signed) as unknown as JsonValue);
  const resign = (text: string) =>
    Buffer.from(nacl.sign.detached(new TextEncoder().encode(text), publisher.secretKey)).toString(
      'base64url',
    );
  for (const tag of [REVOCATION_DOMAIN_TAG, 'gojinn/manifest/v2\n', 'gojinn/manifest/v1', '']) {
    assertRefused(
      { ...signed, signature: resign(tag + body) },
      moduleBytes,
      'signature_invalid',
      /does not verify/,
    );
  }
  // A well-formed schema-2 document, signed under a v2 tag, is not a v1 manifest.
  const v2 = { ...unsignedManifest(signed), schema: 2 } as unknown as JsonValue;
  const v2Manifest = {
    ...(v2 as object),
    signature: resign('gojinn/manifest/v2\n' + canonicalJson(v2)),
  } as unknown as Manifest;
  assertRefused(v2Manifest, moduleBytes, 'signature_invalid', /schema 2/);
  // Sanity: the same re-signing with the right tag is accepted, so the refusals above are the tag's doing.
  assert.doesNotThrow(() =>
    verifyModule(
      { ...signed, signature: resign(MANIFEST_DOMAIN_TAG + body) },
      moduleBytes,
      trust,
      readModuleImports,
    ),
  );
});

void test('a valid manifest presented with different bytes, or with one flipped byte, is a hash mismatch', () => {
  assertRefused(
    signed,
    otherModuleBytes,
    'signature_invalid',
    /module hash mismatch: manifest signs \d+ bytes/,
  );
  const flipped = new Uint8Array(moduleBytes);
  flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] as number) ^ 0x01;
  assertRefused(
    signed,
    flipped,
    'signature_invalid',
    /module hash mismatch: manifest says sha256 [0-9a-f]{64}, bytes hash to/,
  );
  // Every byte position, with the signature check cached: the cached path still checks the bytes.
  const cache = new VerificationCache();
  verifyManifest(signed, trust, { cache });
  fc.assert(
    fc.property(fc.nat({ max: moduleBytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, xor) => {
      const mutated = new Uint8Array(moduleBytes);
      mutated[index] = (mutated[index] as number) ^ xor;
      assertRefused(signed, mutated, 'signature_invalid', /module hash mismatch/, trust, cache);
    }),
    { numRuns: 300 },
  );
  assert.equal(cache.misses, 1, 'only the first verification ran ed25519');
});

void test('a module importing a capability its manifest does not declare is capability_denied, naming it', () => {
  const onlyKv = signedFor(moduleBytes, { capabilities: { 'kv.read': { prefixes: ['a/'] } } });
  assert.throws(
    () => verifyModule(onlyKv, moduleBytes, trust, readModuleImports),
    (error: Error & { code?: string }) =>
      error.code === 'capability_denied' &&
      /import gojinn\.http_request needs capability net\.http, which the manifest does not declare/.test(
        error.message,
      ),
  );
});

void test('property: any single-byte change to the signed bytes fails verification', () => {
  const signedBytes = manifestSigningBytes(signed);
  const signature = new Uint8Array(Buffer.from(signed.signature, 'base64url'));
  const tagLength = MANIFEST_DOMAIN_TAG.length;
  let reachedVerifier = 0;
  fc.assert(
    fc.property(fc.nat({ max: signedBytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, xor) => {
      const mutated = new Uint8Array(signedBytes);
      mutated[index] = (mutated[index] as number) ^ xor;
      assert.equal(nacl.sign.detached.verify(mutated, signature, publisher.publicKeyBytes), false);
      // When the mutated bytes still spell a v1 manifest, the full verifier must refuse it too.
      const prefix = new TextDecoder().decode(mutated.subarray(0, tagLength));
      if (prefix !== MANIFEST_DOMAIN_TAG) return;
      let candidate: Manifest;
      try {
        const unsigned = parseStrictJson(mutated.subarray(tagLength), 'm', 'signature_invalid') as Record<
          string,
          JsonValue
        >;
        candidate = parseManifest(
          new TextEncoder().encode(JSON.stringify({ ...unsigned, signature: signed.signature })),
        );
      } catch {
        return; // no longer a manifest at all: refused at parsing
      }
      reachedVerifier++;
      assert.throws(
        () => verifyManifest(candidate, trust),
        (error: Error & { code?: string }) => error.code === 'signature_invalid',
      );
    }),
    { numRuns: 200 },
  );
  assert.ok(
    reachedVerifier > 0,
    'some mutations produced well-formed manifests that only the signature check could refuse',
  );
});

void test('property: any single-byte change to the signature fails verification', () => {
  const signature = Buffer.from(signed.signature, 'base64url');
  fc.assert(
    fc.property(fc.nat({ max: 63 }), fc.integer({ min: 1, max: 255 }), (index, xor) => {
      const mutated = Buffer.from(signature);
      mutated[index] = (mutated[index] as number) ^ xor;
      assert.throws(
        () => verifyManifest({ ...signed, signature: mutated.toString('base64url') }, trust),
        (error: Error & { code?: string }) => error.code === 'signature_invalid',
      );
    }),
    { numRuns: 150 },
  );
});

void test('property: any single-byte change to the manifest file is refused or leaves the same manifest', () => {
  const file = encodeManifest(signed);
  fc.assert(
    fc.property(fc.nat({ max: file.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, xor) => {
      const mutated = new Uint8Array(file);
      mutated[index] = (mutated[index] as number) ^ xor;
      let parsed: Manifest;
      try {
        parsed = parseManifest(mutated);
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'signature_invalid');
        return;
      }
      try {
        verifyModule(parsed, moduleBytes, trust, readModuleImports);
      } catch (error) {
        assert.ok(['signature_invalid', 'untrusted_publisher'].includes((error as { code: string }).code));
        return;
      }
      assert.deepEqual(parsed, signed, 'a mutation that verifies must be a whitespace-only change');
    }),
    { numRuns: 400 },
  );
});
