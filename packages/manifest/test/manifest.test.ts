import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_DECLARED_MODULE_BYTES,
  MAX_HTTP_HOST_PATTERN_LENGTH,
  MAX_KV_PREFIX_LENGTH,
  MAX_MANIFEST_BYTES,
  MAX_NAME_LENGTH,
  MAX_REQUESTED_MEMORY_BYTES,
  MAX_REQUESTED_TIMEOUT_MS,
  MAX_SCOPE_ENTRIES,
  MAX_SECRET_NAME_LENGTH,
  MAX_VERSION_LENGTH,
  contentCid,
  encodeManifest,
  httpHostPatternProblem,
  parseManifest,
  sha256Hex,
  signManifest,
  type Manifest,
} from '../src/index.ts';
import { FIXED_TIME, copy, fieldsFor, publisher, signedFor } from './fixtures.ts';

const MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
const signed = signedFor(MODULE);

type Json = Record<string, unknown>;
const fileOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** Parses `signed` after `edit` changed its JSON object; returns the error (or undefined when accepted). */
function parseEdited(edit: (manifest: Json) => void): Error | undefined {
  const object = copy(signed) as unknown as Json;
  edit(object);
  try {
    parseManifest(fileOf(object));
    return undefined;
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'signature_invalid', (error as Error).message);
    return error as Error;
  }
}

function refused(edit: (manifest: Json) => void, message: RegExp): void {
  const error = parseEdited(edit);
  assert.ok(error, `expected refusal matching ${message}`);
  assert.match(error.message, message);
}

function accepted(edit: (manifest: Json) => void): void {
  const error = parseEdited(edit);
  assert.equal(error, undefined, error?.message);
}

const caps = (m: Json) => m.capabilities as Record<string, Record<string, unknown>>;
const limits = (m: Json) => m.limits as Record<string, unknown>;

void test('a signed manifest survives encode → parse unchanged; scope lists are stored sorted and de-duplicated', () => {
  assert.deepEqual(parseManifest(encodeManifest(signed)), signed);
  const m = signManifest(
    fieldsFor(MODULE, {
      capabilities: { 'kv.read': { prefixes: ['b/', 'a/', 'b/'] }, 'secrets.read': { names: ['Z', 'A'] } },
    }),
    publisher.secretKey,
  );
  assert.deepEqual(m.capabilities, {
    'kv.read': { prefixes: ['a/', 'b/'] },
    'secrets.read': { names: ['A', 'Z'] },
  });
  assert.equal(m.publisher, publisher.publicKey);
  assert.equal(m.created, FIXED_TIME);
  // Any JSON spelling of the same values is the same manifest.
  assert.deepEqual(parseManifest(fileOf(signed)), signed);
});

void test('the content hash also reads as a CIDv1 (raw, sha2-256, base32)', () => {
  // The CID of the empty byte string, as IPFS tools print it.
  assert.equal(
    contentCid(sha256Hex(new Uint8Array())),
    'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
  );
  assert.throws(() => contentCid('ABC'));
});

void test(`a manifest file is accepted up to MAX_MANIFEST_BYTES (${MAX_MANIFEST_BYTES}) and refused beyond`, () => {
  const text = new TextDecoder().decode(encodeManifest(signed));
  const atLimit = new TextEncoder().encode(text + ' '.repeat(MAX_MANIFEST_BYTES - text.length));
  assert.equal(atLimit.length, MAX_MANIFEST_BYTES);
  assert.deepEqual(parseManifest(atLimit), signed);
  const over = new Uint8Array(MAX_MANIFEST_BYTES + 1).fill(0x20);
  over.set(atLimit);
  assert.throws(() => parseManifest(over), /manifest is 65537 bytes; limit MAX_MANIFEST_BYTES is 65536/);
});

void test('unknown, missing and mistyped fields are refused with the field named', () => {
  refused((m) => (m.extra = 1), /field 'extra' is not a known field/);
  refused((m) => (caps(m)['fs.read'] = {}), /field 'capabilities.fs.read' is not a known field/);
  refused(
    (m) => (caps(m)['kv.read'] = { prefix: ['a'] }),
    /'capabilities.kv.read.prefix' is not a known field/,
  );
  refused(
    (m) => (caps(m)['db.query'] = { databases: ['x'] }),
    /'capabilities.db.query.databases' is not a known field/,
  );
  refused((m) => (limits(m).memory = 65536), /'limits.memory' is not a known field/);
  for (const field of [
    'name',
    'version',
    'sha256',
    'size',
    'capabilities',
    'limits',
    'publisher',
    'created',
    'signature',
  ]) {
    refused((m) => delete m[field], new RegExp(`field '${field}' is missing`));
  }
  refused((m) => (m.size = '8'), /'size' must be an integer/);
  refused((m) => (m.size = 8.5), /'size' must be an integer/);
  refused((m) => (m.name = 7), /'name' must be a string/);
  refused((m) => (m.capabilities = []), /'capabilities' must be an object/);
  refused((m) => (m.limits = null), /'limits' must be an object/);
  refused(
    (m) => (caps(m)['net.http'] = { hosts: 'https://example.com' }),
    /'capabilities.net.http.hosts' must be an array/,
  );
  refused((m) => (m.schema = '1'), /schema "1"; this node reads schema 1/);
  refused((m) => (m.schema = 2), /schema 2; this node reads schema 1/);
  refused((m) => delete m.schema, /schema null; this node reads schema 1/);
  assert.throws(() => parseManifest(fileOf([signed])), /manifest must be a JSON object/);
});

void test('names: documented charset, accepted at MAX_NAME_LENGTH and refused beyond', () => {
  accepted((m) => (m.name = 'a'.repeat(MAX_NAME_LENGTH)));
  accepted((m) => (m.name = 'my-fn_2.v1'));
  refused((m) => (m.name = 'a'.repeat(MAX_NAME_LENGTH + 1)), /limit is 64/);
  for (const name of ['', 'Hello', '-x', '.x', '..', 'a/b', 'a b', 'caf\u00e9', 'x\n']) {
    refused((m) => (m.name = name), /'name' .*must be lowercase letters/);
  }
});

void test('versions: semver in normal form only, accepted at MAX_VERSION_LENGTH and refused beyond', () => {
  accepted((m) => (m.version = '1.2.3-rc.1'));
  const long = '1.2.3-' + 'a'.repeat(MAX_VERSION_LENGTH - 6);
  accepted((m) => (m.version = long));
  refused((m) => (m.version = `${long}a`), /limit is 64/);
  for (const version of [
    'v1.2.3',
    '=1.2.3',
    '1.2',
    '01.2.3',
    '1.2.3+build.5',
    ' 1.2.3',
    '1.2.3 ',
    'latest',
  ]) {
    refused((m) => (m.version = version), /not a semantic version in normal form/);
  }
});

void test('content hash, size, time, publisher and signature fields are range- and format-checked', () => {
  refused((m) => (m.sha256 = (m.sha256 as string).toUpperCase()), /'sha256' must be 64 lowercase hex/);
  refused((m) => (m.sha256 = (m.sha256 as string).slice(1)), /'sha256' must be 64 lowercase hex/);
  accepted((m) => (m.size = 8));
  refused((m) => (m.size = 7), /'size' is 7; it must be between 8 and/);
  accepted((m) => (m.size = MAX_DECLARED_MODULE_BYTES));
  refused((m) => (m.size = MAX_DECLARED_MODULE_BYTES + 1), /'size' is 1073741825/);
  for (const created of [
    '2026-01-31T12:00:00Z',
    '2026-02-30T00:00:00.000Z',
    '2026-01-31 12:00:00.000Z',
    '+002026-01-31T12:00:00.000Z',
    1769860800000,
  ]) {
    refused((m) => (m.created = created), /'created'/);
  }
  refused(
    (m) => (m.publisher = 'ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
    /'publisher' .*small-order/,
  );
  refused((m) => (m.publisher = publisher.publicKey.toUpperCase()), /'publisher'/);
  refused(
    (m) => (m.signature = (m.signature as string).slice(0, -1)),
    /signature' must be 86 base64url characters/,
  );
  refused((m) => (m.signature = `${m.signature as string}A`), /signature' must be 86 base64url characters/);
});

void test('requested limits: each bounded, memory in whole wasm pages', () => {
  accepted((m) => (m.limits = {}));
  accepted(
    (m) =>
      (m.limits = {
        fuel: Number.MAX_SAFE_INTEGER,
        memoryBytes: MAX_REQUESTED_MEMORY_BYTES,
        timeoutMs: MAX_REQUESTED_TIMEOUT_MS,
      }),
  );
  accepted((m) => (m.limits = { fuel: 1, memoryBytes: 65536, timeoutMs: 1 }));
  refused((m) => (limits(m).fuel = 0), /'limits.fuel' is 0/);
  refused((m) => (limits(m).fuel = 2 ** 53), /'limits.fuel' must be an integer/);
  refused((m) => (limits(m).memoryBytes = 65536 * 3 + 1), /multiple of 65536/);
  refused((m) => (limits(m).memoryBytes = MAX_REQUESTED_MEMORY_BYTES + 65536), /'limits.memoryBytes' is/);
  refused((m) => (limits(m).timeoutMs = MAX_REQUESTED_TIMEOUT_MS + 1), /'limits.timeoutMs' is 3600001/);
  refused((m) => (limits(m).timeoutMs = -1), /'limits.timeoutMs' is -1/);
});

void test('scope lists: non-empty, sorted, unique, at most MAX_SCOPE_ENTRIES entries', () => {
  const prefixes = Array.from({ length: MAX_SCOPE_ENTRIES }, (_, i) => `p${String(i).padStart(3, '0')}/`);
  accepted((m) => (caps(m)['kv.read'] = { prefixes }));
  refused(
    (m) => (caps(m)['kv.read'] = { prefixes: [...prefixes, 'zzz'] }),
    /has 65 entries; the limit is 64/,
  );
  refused((m) => (caps(m)['kv.read'] = { prefixes: [] }), /must list at least one entry/);
  refused((m) => (caps(m)['kv.read'] = { prefixes: ['b', 'a'] }), /must be sorted/);
  refused(
    (m) => (caps(m)['kv.write'] = { prefixes: ['a', 'a'] }),
    /'capabilities.kv.write.prefixes\[1\]' repeats "a"/,
  );
  refused((m) => (caps(m)['secrets.read'] = { names: ['B', 'A'] }), /must be sorted/);
  refused((m) => (caps(m)['net.http'] = { hosts: ['https://b.com', 'https://a.com'] }), /must be sorted/);
});

void test('kv prefixes and secret names: charset and length limits', () => {
  accepted((m) => (caps(m)['kv.read'] = { prefixes: [''] }));
  accepted((m) => (caps(m)['kv.read'] = { prefixes: ['~'.repeat(MAX_KV_PREFIX_LENGTH)] }));
  refused((m) => (caps(m)['kv.read'] = { prefixes: ['~'.repeat(MAX_KV_PREFIX_LENGTH + 1)] }), /limit is 256/);
  refused((m) => (caps(m)['kv.read'] = { prefixes: ['caf\u00e9/'] }), /printable ASCII/);
  refused((m) => (caps(m)['kv.read'] = { prefixes: ['a\tb'] }), /printable ASCII/);
  accepted((m) => (caps(m)['secrets.read'] = { names: ['S'.repeat(MAX_SECRET_NAME_LENGTH), '_x.y-z'] }));
  refused(
    (m) => (caps(m)['secrets.read'] = { names: ['S'.repeat(MAX_SECRET_NAME_LENGTH + 1)] }),
    /limit is 128/,
  );
  for (const name of ['', '1KEY', 'A B', 'A/B', '.env']) {
    refused((m) => (caps(m)['secrets.read'] = { names: [name] }), /secrets.read.names\[0\]/);
  }
});

void test('http host patterns: scheme://host[:port] with an optional leading *. wildcard, one spelling per origin', () => {
  const good = [
    'https://example.com',
    'http://localhost:8080',
    'https://*.example.com',
    'https://127.0.0.1:8443',
    `https://${'a'.repeat(63)}.com`,
    'http://example.com:443',
  ];
  for (const pattern of good) assert.equal(httpHostPatternProblem(pattern), undefined, pattern);
  const bad = [
    'example.com',
    'https://',
    'https://Example.com',
    'https://example.com/',
    'https://example.com/path',
    'https://example.com:443',
    'http://example.com:80',
    'ftp://example.com',
    'https://*.com',
    'https://*example.com',
    'https://*.*.example.com',
    'https://exa_mple.com',
    'https://example.com.',
    'https://-a.com',
    'https://a-.com',
    'https://a..b',
    'https://example.com:0',
    'https://example.com:08080',
    'https://example.com:65536',
    'https://user@example.com',
    'https://[::1]',
    `https://${'a'.repeat(64)}.com`,
    `https://${Array.from({ length: 64 }, () => 'abc').join('.')}`,
  ];
  for (const pattern of bad) assert.notEqual(httpHostPatternProblem(pattern), undefined, pattern);
  refused(
    (m) => (caps(m)['net.http'] = { hosts: ['https://example.com:443'] }),
    /names the default port 443; omit it/,
  );
  // At the limit: the longest valid pattern (a 253-character host of 63-character labels).
  const host = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
  const longest = `https://*.${host}:65535`;
  assert.equal(longest.length, MAX_HTTP_HOST_PATTERN_LENGTH);
  accepted((m) => (caps(m)['net.http'] = { hosts: [longest] }));
  refused((m) => (caps(m)['net.http'] = { hosts: [`https://*.${host}5:65535`] }), /limit is 269/);
  assert.match(httpHostPatternProblem(`https://*.${host}5:6553`) ?? '', /longer than 253/);
});

void test('signManifest refuses bad fields as bad_request, naming the field', () => {
  const bad: [Partial<Parameters<typeof fieldsFor>[1]>, RegExp][] = [
    [{ name: 'Bad Name' }, /'name'/],
    [{ version: 'v1' }, /'version'/],
    [{ size: 3 }, /'size'/],
    [{ limits: { memoryBytes: 1000 } }, /'limits.memoryBytes'/],
    [
      { capabilities: { 'net.http': { hosts: ['https://example.com/'] } } },
      /'capabilities.net.http.hosts\[0\]'/,
    ],
    [{ capabilities: { 'kv.read': { prefixes: [] } } }, /at least one entry/],
    [{ created: 'yesterday' }, /'created'/],
  ];
  for (const [overrides, message] of bad) {
    assert.throws(
      () => signManifest(fieldsFor(MODULE, overrides), publisher.secretKey),
      (error: Error & { code?: string }) => error.code === 'bad_request' && message.test(error.message),
      String(message),
    );
  }
});

void test('a manifest whose JSON repeats a key is refused even though JSON.parse would take the last value', () => {
  const text = new TextDecoder().decode(encodeManifest(signed));
  const doubled = text.replace('"name": "hello"', '"name": "hello", "name": "evil"');
  assert.notEqual(doubled, text);
  assert.throws(() => parseManifest(new TextEncoder().encode(doubled)), /duplicate key "name"/);
  const parsedByJsonParse = JSON.parse(doubled) as Manifest;
  assert.equal(parsedByJsonParse.name, 'evil');
});

void test('untrusted text in error messages is quoted, bounded and stripped of control characters', () => {
  const hostile = `\u001b[2J\u202e${'x'.repeat(10_000)}`;
  for (const edit of [
    (m: Json) => (m[hostile] = 1),
    (m: Json) => (m.name = `a\u001b[31m`),
    (m: Json) => (m.version = hostile.slice(0, 60)),
    (m: Json) => (caps(m)['secrets.read'] = { names: [`A\u0007`] }),
  ]) {
    const error = parseEdited(edit);
    assert.ok(error);
    assert.doesNotMatch(error.message, /[^\x20-\x7e]/, error.message);
    assert.ok(error.message.length < 300, `message is ${error.message.length} characters`);
  }
  const duplicate = new TextEncoder().encode('{"\\u001b":1,"\\u001b":2}');
  assert.throws(
    () => parseManifest(duplicate),
    (error: Error) => /duplicate key "\\u\{1b\}"/.test(error.message),
  );
});
