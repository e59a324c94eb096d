import { createHash } from 'node:crypto';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError, type ErrorCode } from '@gojinn/errors';
import { parseManifest, readModuleImports, type ModuleImport } from '@gojinn/manifest';
import { ModuleRegistry, type ModuleRegistryOptions } from '@gojinn/registry';
import { CORE_SUBLEVELS, StoreCorruptError, openStore, type Store } from '@gojinn/store';
import { Level } from 'level';
import {
  manifestFor,
  moduleImporting,
  operator,
  otherPublisher,
  padToSize,
  publisher,
  rawSnapshot,
  revocationFor,
  stranger,
  tempDir,
} from './fixtures.ts';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup()));
});

async function freshDir(): Promise<string> {
  const dir = await tempDir();
  cleanups.push(dir.remove);
  return dir.path;
}

interface Node {
  store: Store;
  registry: ModuleRegistry;
  /** How many times the registry parsed a module's imports (its only look inside the wasm). */
  importReads: () => number;
  warnings: string[];
  close: () => Promise<void>;
}

/** A registry over the store in `dir`, trusting `publisher` (and `operator` for revocations). */
async function openNode(dir: string, options: Partial<ModuleRegistryOptions> = {}): Promise<Node> {
  const store = await openStore(dir);
  let reads = 0;
  const warnings: string[] = [];
  const registry = new ModuleRegistry({
    store,
    trust: { publishers: [publisher.publicKey], operators: [operator.publicKey] },
    readImports: (bytes: Uint8Array): readonly ModuleImport[] => {
      reads += 1;
      return readModuleImports(bytes);
    },
    logger: { warn: (message) => warnings.push(message) },
    ...options,
  });
  return { store, registry, importReads: () => reads, warnings, close: () => store.close() };
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function hasCode(code: ErrorCode, pattern?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof GojinnError, `expected a GojinnError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  };
}

/**
 * Installs a baseline module, then checks that `attempt` is refused with `code`, that it
 * never looked inside the wasm unless `mayReadImports`, and that the data directory is
 * byte-for-byte what it was before.
 */
async function assertRefusedWithNothingStored(
  attempt: (node: Node) => Promise<unknown>,
  code: ErrorCode,
  options: { pattern?: RegExp; mayReadImports?: boolean } = {},
): Promise<void> {
  const dir = await freshDir();
  const seed = await openNode(dir);
  const base = await moduleImporting([], 'baseline');
  await seed.registry.install(base, manifestFor(base, { name: 'baseline', version: '1.0.0' }));
  await seed.close();
  const before = await rawSnapshot(dir);

  const node = await openNode(dir);
  await assert.rejects(attempt(node), hasCode(code, options.pattern));
  if (options.mayReadImports !== true) assert.equal(node.importReads(), 0, 'the wasm was never parsed');
  await node.close();
  assert.deepEqual(await rawSnapshot(dir), before, 'the store is unchanged byte for byte');
}

void test('install → list → get → resolve round trip; bytes come back equal and re-hashed', async () => {
  const dir = await freshDir();
  const node = await openNode(dir);
  const bytes = await moduleImporting(['kv_get'], 'round-trip');
  const manifestBytes = manifestFor(bytes, { capabilities: { 'kv.read': { prefixes: ['a/'] } } });
  const result = await node.registry.install(bytes, manifestBytes);
  assert.equal(result.installed, true);
  assert.equal(result.record.hash, sha256(bytes));
  assert.deepEqual(result.state, { active: '1.0.0', highest: '1.0.0' });
  assert.deepEqual(result.verified.required, ['kv.read']);

  const listed = await node.registry.list();
  assert.deepEqual(listed.items, [
    {
      publisher: publisher.publicKey,
      name: 'hello',
      version: '1.0.0',
      capabilities: ['kv.read'],
      hash: sha256(bytes),
      size: bytes.byteLength,
      installedAt: result.record.installedAt,
      active: true,
      pinned: false,
      revoked: false,
    },
  ]);
  const byHash = await node.registry.get(sha256(bytes));
  assert.deepEqual(Buffer.from(byHash.moduleBytes), Buffer.from(bytes));
  assert.deepEqual(byHash.verified.manifest, parseManifest(manifestBytes));
  const byName = await node.registry.resolve('hello');
  assert.deepEqual(Buffer.from(byName.moduleBytes), Buffer.from(bytes));
  await assert.rejects(node.registry.resolve('absent'), hasCode('not_found'));
  await assert.rejects(node.registry.get('0'.repeat(64)), hasCode('not_found'));
  await assert.rejects(node.registry.get(sha256(bytes).toUpperCase()), hasCode('bad_request'));
  await assert.rejects(node.registry.get(`${sha256(bytes)}/x`), hasCode('bad_request'));
  await node.close();
});

void test('the serving path verifies a manifest once, then never again (cached by content hash)', async () => {
  const dir = await freshDir();
  const first = await openNode(dir);
  const bytes = await moduleImporting([], 'cache');
  await first.registry.install(bytes, manifestFor(bytes));
  await first.close();

  const node = await openNode(dir);
  for (let i = 0; i < 5; i += 1) await node.registry.resolve('hello');
  for (let i = 0; i < 5; i += 1) await node.registry.get(sha256(bytes));
  assert.equal(node.importReads(), 1, 'one verification after restart, then cache hits');
  await node.close();
});

void test('a blob corrupted on disk after install is detected and never served', async () => {
  const dir = await freshDir();
  const node = await openNode(dir);
  const bytes = await moduleImporting([], 'corrupt');
  await node.registry.install(bytes, manifestFor(bytes));
  await node.close();
  const raw = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
  await raw.open();
  const flipped = Uint8Array.from(bytes);
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
  await raw.put(`!${CORE_SUBLEVELS.blobs}!${sha256(bytes)}`, flipped);
  await raw.close();

  const reopened = await openNode(dir);
  await assert.rejects(reopened.registry.resolve('hello'), StoreCorruptError);
  await assert.rejects(reopened.registry.get(sha256(bytes)), StoreCorruptError);
  await reopened.close();
});

void test('an untrusted publisher is refused before the wasm is parsed, nothing stored', async () => {
  const bytes = await moduleImporting([], 'untrusted');
  await assertRefusedWithNothingStored(
    (node) => node.registry.install(bytes, manifestFor(bytes, { key: otherPublisher })),
    'untrusted_publisher',
  );
});

void test('one flipped byte in the module is refused (hash mismatch), nothing stored', async () => {
  const bytes = await moduleImporting([], 'tamper');
  const manifestBytes = manifestFor(bytes);
  const tampered = Uint8Array.from(bytes);
  tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 0x20;
  await assertRefusedWithNothingStored(
    (node) => node.registry.install(tampered, manifestBytes),
    'signature_invalid',
    { pattern: /module hash mismatch/ },
  );
});

void test('a manifest changed after signing is refused, nothing stored', async () => {
  const bytes = await moduleImporting(['kv_get'], 'fields');
  const signed = new TextDecoder().decode(
    manifestFor(bytes, { capabilities: { 'kv.read': { prefixes: ['a/'] } } }),
  );
  const edits: Array<[string, string]> = [
    ['"version": "1.0.0"', '"version": "9.0.0"'],
    ['"name": "hello"', '"name": "other"'],
    ['"a/"', '"b/"'],
  ];
  for (const [from, to] of edits) {
    assert.ok(signed.includes(from), from);
    const edited = new TextEncoder().encode(signed.replace(from, to));
    await assertRefusedWithNothingStored((node) => node.registry.install(bytes, edited), 'signature_invalid');
  }
  await assertRefusedWithNothingStored(
    (node) => node.registry.install(bytes, new TextEncoder().encode('{"schema":1}')),
    'signature_invalid',
  );
});

void test('a module importing a capability its manifest does not declare is refused, nothing stored', async () => {
  const bytes = await moduleImporting(['kv_get', 'http_request'], 'undeclared');
  const manifestBytes = manifestFor(bytes, { capabilities: { 'kv.read': { prefixes: ['a/'] } } });
  await assertRefusedWithNothingStored(
    (node) => node.registry.install(bytes, manifestBytes),
    'capability_denied',
    { pattern: /gojinn\.http_request needs capability net\.http/, mayReadImports: true },
  );
});

void test('module size: exactly maxModuleBytes is accepted, one byte more is invalid_module', async () => {
  const dir = await freshDir();
  const limit = 4096;
  const node = await openNode(dir, { maxModuleBytes: limit });
  const base = await moduleImporting([], 'size');
  const atLimit = padToSize(base, limit);
  assert.equal(atLimit.byteLength, limit);
  await node.registry.install(atLimit, manifestFor(atLimit, { name: 'at-limit' }));
  const over = padToSize(base, limit + 1);
  await assert.rejects(
    node.registry.install(over, manifestFor(over, { name: 'over' })),
    hasCode('invalid_module', /limit maxModuleBytes is 4096/),
  );
  assert.equal(node.importReads(), 1);
  await node.close();
});

void test('rollback: a lower version is refused, a changed version is refused, the same one is a no-op', async () => {
  const dir = await freshDir();
  const node = await openNode(dir);
  const v11 = await moduleImporting([], 'v1.1');
  await node.registry.install(v11, manifestFor(v11, { version: '1.1.0' }));
  const v10 = await moduleImporting([], 'v1.0');
  await assert.rejects(
    node.registry.install(v10, manifestFor(v10, { version: '1.0.0' })),
    hasCode('rollback', /hello@1\.0\.0 \(publisher ed25519:.*\) is not above 1\.1\.0.*pin 1\.0\.0/),
  );
  const v11b = await moduleImporting([], 'v1.1-other-bytes');
  await assert.rejects(
    node.registry.install(v11b, manifestFor(v11b, { version: '1.1.0' })),
    hasCode('rollback', /already installed with different content/),
  );
  assert.equal(node.importReads(), 1, 'refused rollbacks never parse the wasm');
  await node.close();

  const before = await rawSnapshot(dir);
  const again = await openNode(dir);
  const same = await again.registry.install(v11, manifestFor(v11, { version: '1.1.0' }));
  assert.equal(same.installed, false);
  await again.close();
  assert.deepEqual(await rawSnapshot(dir), before, 'reinstalling the same version writes nothing');
});

void test('pin: an older version is allowed only when pinned, stays active across upgrades until unpinned', async () => {
  const node = await openNode(await freshDir());
  const module = async (version: string) => {
    const bytes = await moduleImporting([], version);
    return [bytes, manifestFor(bytes, { version })] as const;
  };
  const [b2, m2] = await module('2.0.0');
  await node.registry.install(b2, m2);
  const [b1, m1] = await module('1.0.0');
  await assert.rejects(node.registry.install(b1, m1), hasCode('rollback'));

  const pinned = await node.registry.pin(publisher.publicKey, 'hello', '1.0.0');
  assert.deepEqual(pinned, { pin: '1.0.0', state: { active: '2.0.0', highest: '2.0.0' } });
  const installed = await node.registry.install(b1, m1);
  assert.deepEqual(installed.state, { active: '1.0.0', highest: '2.0.0' });
  assert.equal((await node.registry.resolve('hello')).record.version, '1.0.0');

  // Another older version is still a rollback: the pin names exactly one version.
  const [b15, m15] = await module('1.5.0');
  await assert.rejects(node.registry.install(b15, m15), hasCode('rollback'));
  // A newer version is stored, but the pin holds the active one.
  const [b3, m3] = await module('3.0.0');
  assert.deepEqual((await node.registry.install(b3, m3)).state, { active: '1.0.0', highest: '3.0.0' });
  assert.equal((await node.registry.resolve('hello')).record.version, '1.0.0');
  const flags = (await node.registry.list()).items.map((m) => [m.version, m.active, m.pinned]);
  assert.deepEqual(flags, [
    ['1.0.0', true, true],
    ['2.0.0', false, false],
    ['3.0.0', false, false],
  ]);

  assert.deepEqual(await node.registry.unpin(publisher.publicKey, 'hello'), {
    active: '3.0.0',
    highest: '3.0.0',
  });
  assert.equal((await node.registry.resolve('hello')).record.version, '3.0.0');
  // Pinning an installed version makes it active at once.
  await node.registry.pin(publisher.publicKey, 'hello', '2.0.0');
  assert.equal((await node.registry.resolve('hello')).record.version, '2.0.0');

  await assert.rejects(node.registry.pin('not-a-key', 'hello', '1.0.0'), hasCode('bad_request'));
  await assert.rejects(node.registry.pin(publisher.publicKey, 'Hello!', '1.0.0'), hasCode('bad_request'));
  await assert.rejects(node.registry.pin(publisher.publicKey, 'hello', 'v1'), hasCode('bad_request'));
  await node.close();
});

void test('a revoked version is refused and no longer served; other versions are unaffected', async () => {
  const dir = await freshDir();
  const node = await openNode(dir);
  const v1 = await moduleImporting([], 'rv1');
  const v2 = await moduleImporting([], 'rv2');
  await node.registry.install(v1, manifestFor(v1, { version: '1.0.0' }));
  await node.registry.install(v2, manifestFor(v2, { version: '2.0.0' }));
  await node.registry.resolve('hello');

  const target = {
    kind: 'version',
    publisher: publisher.publicKey,
    name: 'hello',
    version: '2.0.0',
  } as const;
  const applied = await node.registry.applyRevocation(revocationFor(target, publisher));
  assert.equal(applied.authority, 'publisher');
  await assert.rejects(
    node.registry.resolve('hello'),
    hasCode('revoked', /hello@2\.0\.0 \(publisher .*\) is revoked/),
  );
  await assert.rejects(node.registry.get(sha256(v2)), hasCode('revoked'));
  assert.equal((await node.registry.get(sha256(v1))).record.version, '1.0.0');
  const revokedFlags = (await node.registry.list()).items.map((m) => [m.version, m.revoked]);
  assert.deepEqual(revokedFlags, [
    ['1.0.0', false],
    ['2.0.0', true],
  ]);
  // The operator can step back to a good version explicitly; the revoked one cannot be pinned.
  await assert.rejects(node.registry.pin(publisher.publicKey, 'hello', '2.0.0'), hasCode('revoked'));
  await node.registry.pin(publisher.publicKey, 'hello', '1.0.0');
  assert.equal((await node.registry.resolve('hello')).record.version, '1.0.0');
  await node.close();

  // Revocations persist: a fresh store that receives the same record refuses the install.
  const other = await openNode(await freshDir());
  await other.registry.applyRevocation(revocationFor(target, publisher));
  await assert.rejects(other.registry.install(v2, manifestFor(v2, { version: '2.0.0' })), hasCode('revoked'));
  assert.equal(other.importReads(), 0);
  await other.close();
});

void test('a revoked publisher key (by the operator) stops every module of it, and persists across close/open', async () => {
  const dir = await freshDir();
  const node = await openNode(dir);
  const a = await moduleImporting([], 'ka');
  const b = await moduleImporting([], 'kb');
  await node.registry.install(a, manifestFor(a, { name: 'a' }));
  await node.registry.install(b, manifestFor(b, { name: 'b' }));
  const applied = await node.registry.applyRevocation(
    revocationFor({ kind: 'publisher', publisher: publisher.publicKey }, operator),
  );
  assert.equal(applied.authority, 'operator');
  await assert.rejects(node.registry.resolve('a'), hasCode('revoked', /publisher key .* is revoked/));
  await node.close();

  const reopened = await openNode(dir);
  await assert.rejects(reopened.registry.resolve('b'), hasCode('revoked'));
  await assert.rejects(reopened.registry.get(sha256(a)), hasCode('revoked'));
  const c = await moduleImporting([], 'kc');
  await assert.rejects(reopened.registry.install(c, manifestFor(c, { name: 'c' })), hasCode('revoked'));
  assert.ok((await reopened.registry.list()).items.every((m) => m.revoked));
  assert.equal(reopened.importReads(), 0);
  await reopened.close();
});

void test('revocations signed by a stranger or altered after signing are refused, nothing stored', async () => {
  const target = { kind: 'publisher', publisher: publisher.publicKey } as const;
  await assertRefusedWithNothingStored(
    (node) => node.registry.applyRevocation(revocationFor(target, stranger)),
    'untrusted_publisher',
  );
  const altered = new TextDecoder()
    .decode(revocationFor({ ...target, publisher: stranger.publicKey }, stranger))
    .replace(stranger.publicKey, publisher.publicKey);
  await assertRefusedWithNothingStored(
    (node) => node.registry.applyRevocation(new TextEncoder().encode(altered)),
    'signature_invalid',
  );
});

void test('a module served after a restart with a narrower trust policy is refused (trust is re-checked)', async () => {
  const dir = await freshDir();
  const node = await openNode(dir);
  const bytes = await moduleImporting([], 'trust');
  await node.registry.install(bytes, manifestFor(bytes));
  await node.close();
  const strict = await openNode(dir, { trust: {} });
  await assert.rejects(strict.registry.resolve('hello'), hasCode('untrusted_publisher'));
  await assert.rejects(strict.registry.get(sha256(bytes)), hasCode('untrusted_publisher'));
  await strict.close();
});

void test('resolve by name alone is refused when two publishers use the name', async () => {
  const node = await openNode(await freshDir(), {
    trust: { publishers: [publisher.publicKey, otherPublisher.publicKey] },
  });
  const a = await moduleImporting([], 'pa');
  const b = await moduleImporting([], 'pb');
  await node.registry.install(a, manifestFor(a));
  await node.registry.install(b, manifestFor(b, { key: otherPublisher }));
  await assert.rejects(node.registry.resolve('hello'), hasCode('bad_request', /several publishers/));
  assert.equal((await node.registry.resolve('hello', otherPublisher.publicKey)).record.hash, sha256(b));
  await node.close();
});

void test('audit mode is refused unless the node is explicitly unreachable by peers', async () => {
  const store = await openStore(await freshDir());
  assert.throws(
    () => new ModuleRegistry({ store, audit: true }),
    hasCode('bad_request', /reachable by peers/),
  );
  assert.throws(
    () => new ModuleRegistry({ store, audit: true, reachableByPeers: true }),
    hasCode('bad_request', /reachable by peers/),
  );
  await store.close();
});

void test('audit mode accepts an untrusted publisher with a loud warning on every acceptance, never a bad signature', async () => {
  const node = await openNode(await freshDir(), { trust: {}, audit: true, reachableByPeers: false });
  assert.equal(node.warnings.length, 1);
  assert.match(node.warnings[0] ?? '', /AUDIT MODE is on/);
  const bytes = await moduleImporting([], 'audit');
  await node.registry.install(bytes, manifestFor(bytes, { key: stranger }));
  assert.equal(node.warnings.length, 2);
  assert.match(node.warnings[1] ?? '', /AUDIT MODE installed hello@1\.0\.0 signed by UNTRUSTED publisher/);
  const tampered = Uint8Array.from(bytes);
  tampered[tampered.length - 2] = (tampered[tampered.length - 2] ?? 0) ^ 1;
  const v2 = manifestFor(tampered, { key: stranger, version: '2.0.0' });
  await assert.rejects(node.registry.install(bytes, v2), hasCode('signature_invalid'));
  assert.equal(node.warnings.length, 2, 'a refused module logs no acceptance');
  await node.close();
});
