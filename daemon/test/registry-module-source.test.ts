/**
 * RegistryModuleSource: the daemon's fetch source, serving chunks from bytes verified once.
 * A real registry on a temp store; whole-module reads are counted through a wrapper around it
 * (the seam the source is given), never through the cache itself. Checked: a multi-chunk fetch
 * costs one whole read; a revocation or removal between two chunks refuses the next one and
 * drops the entry; bytes corrupted in the store before the first load are never served; the
 * byte bound at its limit and one over, the entry bound, LRU order, a module over the bound
 * served but not kept; the idle TTL at its limit (injected clock); concurrent first reads share
 * one load; a caller that leaves is released at once while the load completes; a twin record
 * with the same bytes is re-verified; and one fetch end to end over the real fetch protocol.
 */
import { createHash } from 'node:crypto';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { multiaddr } from '@multiformats/multiaddr';
import { GojinnError, type ErrorCode } from '@gojinn/errors';
import {
  createFetchProtocol,
  encodeFetchRequest,
  fetchModule,
  fetchProtocol,
  MAX_FETCH_CHUNK_BYTES,
} from '@gojinn/mesh';
import { ModuleRegistry } from '@gojinn/registry';
import { CORE_SUBLEVELS, StoreCorruptError, openStore, type Store } from '@gojinn/store';
import { Level } from 'level';
import {
  manifestFor,
  moduleImporting,
  operator,
  padToSize,
  publisher,
  revocationFor,
  tempDir,
} from '../../packages/registry/test/fixtures.ts';
import { TestMesh, addrOf } from '../../packages/mesh/test/support/nodes.ts';
import {
  DEFAULT_SERVED_CACHE_BYTES,
  DEFAULT_SERVED_CACHE_ENTRIES,
  DEFAULT_SERVED_CACHE_TTL_MS,
  RegistryModuleSource,
  type RegistryModuleSourceOptions,
  type ServingRegistry,
} from '../src/node/registry-module-source.ts';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

interface Node {
  dir: string;
  store: Store;
  registry: ModuleRegistry;
  /** The registry as the source sees it, counting its calls. */
  serving: ServingRegistry;
  counts: { get: number; servedRecord: number };
  /** When set, each registry.get's result is held back until it settles (the checks already ran). */
  holdGet: Promise<void> | undefined;
  /** Installs `size` bytes of a distinct module as `name@version`; returns bytes and hash. */
  install(size: number, tag: string, version?: string): Promise<{ bytes: Uint8Array; hash: string }>;
  revokeVersion(version: string): Promise<void>;
}

async function openNode(existing?: string): Promise<Node> {
  let dir = existing;
  if (dir === undefined) {
    const made = await tempDir();
    cleanups.push(made.remove);
    dir = made.path;
  }
  const store = await openStore(dir);
  cleanups.push(() => store.close());
  const registry = new ModuleRegistry({
    store,
    trust: { publishers: [publisher.publicKey], operators: [operator.publicKey] },
  });
  const node: Node = {
    dir,
    store,
    registry,
    counts: { get: 0, servedRecord: 0 },
    holdGet: undefined,
    serving: {
      get: async (hash) => {
        node.counts.get++;
        const served = await registry.get(hash);
        if (node.holdGet !== undefined) await node.holdGet;
        return served;
      },
      servedRecord: (hash) => {
        node.counts.servedRecord++;
        return registry.servedRecord(hash);
      },
    },
    async install(size, tag, version = '1.0.0') {
      const bytes = padToSize(await moduleImporting([], tag), size);
      await registry.install(bytes, manifestFor(bytes, { version }));
      return { bytes, hash: sha256(bytes) };
    },
    async revokeVersion(version) {
      await registry.applyRevocation(
        revocationFor({ kind: 'version', publisher: publisher.publicKey, name: 'hello', version }, operator),
      );
    },
  };
  return node;
}

function source(
  node: Node,
  options: Omit<RegistryModuleSourceOptions, 'registry'> = {},
): RegistryModuleSource {
  const made = new RegistryModuleSource({ registry: node.serving, ...options });
  cleanups.push(() => Promise.resolve(made.clear()));
  return made;
}

/** What the fetch server asks of its source for one chunk: the size, then the range. */
async function chunk(from: RegistryModuleSource, hash: string, offset: number): Promise<Uint8Array> {
  const size = await from.size(hash);
  assert.ok(size !== undefined, 'not served');
  return from.read(hash, offset, Math.min(MAX_FETCH_CHUNK_BYTES, size - offset));
}

async function fetchAll(from: RegistryModuleSource, hash: string, size: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < size; offset += MAX_FETCH_CHUNK_BYTES)
    parts.push(await chunk(from, hash, offset));
  return new Uint8Array(Buffer.concat(parts));
}

/** Polls `check` every 5 ms, at most 2 s. */
async function waitUntil(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 5) {
    if (waited > 2000) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The registry hands out Buffers: compare contents, not classes. */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.equal(actual.byteLength, expected.byteLength);
  assert.ok(Buffer.compare(actual, expected) === 0, 'bytes differ');
}

function code(expected: ErrorCode) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof GojinnError, `expected a GojinnError, got ${String(error)}`);
    assert.equal(error.code, expected, error.message);
    return true;
  };
}

const MODULE_SIZE = 3 * MAX_FETCH_CHUNK_BYTES + 5; // four chunks

void test('defaults are the documented ones; bad bounds are bad_request', async () => {
  assert.equal(DEFAULT_SERVED_CACHE_BYTES, 64 * 1024 * 1024);
  assert.equal(DEFAULT_SERVED_CACHE_ENTRIES, 256);
  assert.equal(DEFAULT_SERVED_CACHE_TTL_MS, 30_000);
  const node = await openNode();
  const made = source(node);
  assert.deepEqual([made.maxBytes, made.maxEntries, made.ttlMs], [64 * 1024 * 1024, 256, 30_000]);
  for (const bad of [{ maxBytes: 0 }, { maxEntries: -1 }, { ttlMs: 1.5 }, { maxBytes: Number.NaN }]) {
    assert.throws(() => source(node, bad), code('bad_request'), JSON.stringify(bad));
  }
});

void test('a four-chunk fetch reads and verifies the whole module once; a second fetch not at all', async () => {
  const node = await openNode();
  const { bytes, hash } = await node.install(MODULE_SIZE, 'four-chunks');
  const served = source(node);
  assert.deepEqual(await fetchAll(served, hash, MODULE_SIZE), bytes);
  assert.equal(node.counts.get, 1, 'one whole read for four chunks');
  assert.equal(node.counts.servedRecord, 4, 'one cheap check per chunk');
  assert.equal(served.cachedBytes, MODULE_SIZE);
  assert.deepEqual(await fetchAll(served, hash, MODULE_SIZE), bytes);
  assert.equal(node.counts.get, 1);
  assert.equal(node.counts.servedRecord, 8);
  // An unknown hash is not served (size undefined), and nothing is kept for it.
  assert.equal(await served.size('cd'.repeat(32)), undefined);
  assert.deepEqual(served.cachedHashes(), [hash]);
});

void test('revoked between chunk 1 and chunk 2: chunk 2 is refused revoked, the entry dropped', async () => {
  const node = await openNode();
  const { bytes, hash } = await node.install(MODULE_SIZE, 'revoke-mid-fetch');
  const served = source(node);
  assertSameBytes(await chunk(served, hash, 0), bytes.subarray(0, MAX_FETCH_CHUNK_BYTES));
  await node.revokeVersion('1.0.0');
  // The server asks size then read: the kept size answers, the read refuses.
  await assert.rejects(chunk(served, hash, MAX_FETCH_CHUNK_BYTES), code('revoked'));
  assert.equal(served.cachedBytes, 0);
  assert.deepEqual(served.cachedHashes(), []);
  await assert.rejects(served.size(hash), code('revoked'));
  await assert.rejects(served.read(hash, 0, 1), code('revoked'));
  assert.equal(node.counts.get, 3, 'the first load, then two refused loads; never bytes from memory');
});

void test('removed between chunks: the next chunk is not_found and the module is no longer served', async () => {
  const node = await openNode();
  const { bytes, hash } = await node.install(MODULE_SIZE, 'remove-mid-fetch');
  const served = source(node);
  assertSameBytes(await chunk(served, hash, 0), bytes.subarray(0, MAX_FETCH_CHUNK_BYTES));
  await node.registry.remove(hash, { force: true });
  await assert.rejects(served.read(hash, MAX_FETCH_CHUNK_BYTES, 10), code('not_found'));
  assert.equal(served.cachedBytes, 0);
  assert.equal(await served.size(hash), undefined);
});

void test('bytes corrupted in the store before the first load are never served nor kept', async () => {
  const first = await openNode();
  const { bytes, hash } = await first.install(2 * MAX_FETCH_CHUNK_BYTES, 'corrupt');
  await first.store.close();
  const raw = new Level<string, Uint8Array>(first.dir, { valueEncoding: 'view' });
  await raw.open();
  const flipped = Uint8Array.from(bytes);
  flipped[MAX_FETCH_CHUNK_BYTES] = (flipped[MAX_FETCH_CHUNK_BYTES] ?? 0) ^ 1; // in chunk 2
  await raw.put(`!${CORE_SUBLEVELS.blobs}!${hash}`, flipped);
  await raw.close();

  const node = await openNode(first.dir);
  const served = source(node);
  await assert.rejects(served.size(hash), StoreCorruptError);
  await assert.rejects(served.read(hash, 0, 10), StoreCorruptError);
  assert.equal(served.cachedBytes, 0);
  assert.equal(node.counts.get, 2);
});

void test('the byte bound: exactly at the limit both are kept, one byte under it the LRU goes', async () => {
  const node = await openNode();
  const a = await node.install(1000, 'bound-a', '1.0.0');
  const b = await node.install(2000, 'bound-b', '1.0.1');
  const atLimit = source(node, { maxBytes: 3000 });
  await atLimit.read(a.hash, 0, 1);
  await atLimit.read(b.hash, 0, 1);
  assert.equal(atLimit.cachedBytes, 3000);
  assert.deepEqual(atLimit.cachedHashes(), [a.hash, b.hash]);

  const overLimit = source(node, { maxBytes: 2999 });
  await overLimit.read(a.hash, 0, 1);
  await overLimit.read(b.hash, 0, 1);
  assert.deepEqual(overLimit.cachedHashes(), [b.hash], 'a, least recently used, evicted');
  assert.equal(overLimit.cachedBytes, 2000);

  // Recency, not insertion, decides: use a again, then c evicts b.
  const c = await node.install(1000, 'bound-c', '1.0.2');
  await atLimit.read(a.hash, 0, 1);
  await atLimit.read(c.hash, 0, 1);
  assert.deepEqual(atLimit.cachedHashes(), [a.hash, c.hash]);
  assert.equal(atLimit.cachedBytes, 2000);
});

void test('a module larger than the byte bound is served whole but never kept', async () => {
  const node = await openNode();
  const { bytes, hash } = await node.install(2 * MAX_FETCH_CHUNK_BYTES, 'too-big');
  const served = source(node, { maxBytes: 2 * MAX_FETCH_CHUNK_BYTES - 1 });
  assert.deepEqual(await fetchAll(served, hash, bytes.byteLength), bytes);
  assert.equal(served.cachedBytes, 0);
  assert.equal(node.counts.get, 4, 'size and read of both chunks each load it');
  const fits = source(node, { maxBytes: 2 * MAX_FETCH_CHUNK_BYTES });
  await fetchAll(fits, hash, bytes.byteLength);
  assert.equal(fits.cachedBytes, 2 * MAX_FETCH_CHUNK_BYTES, 'exactly at the bound it is kept');
});

void test('the entry bound: at maxEntries all kept, one more evicts the least recently used', async () => {
  const node = await openNode();
  const modules = [];
  for (let i = 0; i < 3; i++) modules.push(await node.install(500, `entries-${i}`, `1.0.${i}`));
  const served = source(node, { maxEntries: 2 });
  await served.read(modules[0]!.hash, 0, 1);
  await served.read(modules[1]!.hash, 0, 1);
  assert.equal(served.cachedHashes().length, 2);
  await served.read(modules[2]!.hash, 0, 1);
  assert.deepEqual(served.cachedHashes(), [modules[1]!.hash, modules[2]!.hash]);
});

void test('idle TTL: kept one ms before it, dropped at it (injected clock); memory goes back', async () => {
  const node = await openNode();
  const { hash } = await node.install(1000, 'ttl');
  let now = 1_000;
  const served = source(node, { ttlMs: 500, now: () => now });
  await served.read(hash, 0, 1);
  now += 499;
  await served.read(hash, 0, 1); // a use resets the idle time
  assert.equal(node.counts.get, 1);
  now += 499;
  served.evictExpired();
  assert.equal(served.cachedBytes, 1000, 'one ms before the TTL: kept');
  now += 1;
  served.evictExpired();
  assert.equal(served.cachedBytes, 0, 'at the TTL: dropped without any read');
  await served.read(hash, 0, 1);
  assert.equal(node.counts.get, 2, 'loaded again after expiry');
});

void test('concurrent first reads of one hash share one load; joiners still check', async () => {
  const node = await openNode();
  const { bytes, hash } = await node.install(MODULE_SIZE, 'herd');
  let release = (): void => undefined;
  node.holdGet = new Promise<void>((resolve) => (release = resolve));
  const served = source(node);
  const reads = [0, 1, 2, 3].map((i) => chunk(served, hash, i * MAX_FETCH_CHUNK_BYTES));
  const sizes = [served.size(hash), served.size(hash)];
  await new Promise((resolve) => setImmediate(resolve));
  release();
  const got = await Promise.all(reads);
  assert.deepEqual(new Uint8Array(Buffer.concat(got)), bytes);
  assert.deepEqual(await Promise.all(sizes), [MODULE_SIZE, MODULE_SIZE]);
  assert.equal(node.counts.get, 1, 'eight callers, one whole read');
  assert.equal(node.counts.servedRecord, 4, 'each read checked (none of them loaded it itself)');
});

void test('revoked while a shared load is in flight: the joiner is refused, nothing kept', async () => {
  const node = await openNode();
  const { hash } = await node.install(1000, 'revoke-in-flight');
  let release = (): void => undefined;
  node.holdGet = new Promise<void>((resolve) => (release = resolve));
  const served = source(node);
  // The loader's registry.get checks and reads before the revocation; its result is held.
  const loader = served.read(hash, 0, 10);
  await waitUntil(() => node.counts.get === 1);
  const joiner = served.read(hash, 0, 10);
  await node.revokeVersion('1.0.0');
  release();
  // The loader's read began and was checked before the revocation: it may complete.
  assert.equal((await loader).byteLength, 10);
  // The joiner waited on that load and checks after it: refused, and the entry dropped.
  await assert.rejects(joiner, code('revoked'));
  assert.equal(served.cachedBytes, 0);
  assert.equal(node.counts.get, 1);
  await assert.rejects(served.read(hash, 0, 10), code('revoked'));
});

void test('a caller that leaves is released at once; the shared load completes and is kept', async () => {
  const node = await openNode();
  const { hash } = await node.install(1000, 'abort');
  let release = (): void => undefined;
  node.holdGet = new Promise<void>((resolve) => (release = resolve));
  const served = source(node);
  const controller = new AbortController();
  const leaving = served.read(hash, 0, 10, controller.signal);
  const staying = served.read(hash, 0, 10);
  controller.abort(new GojinnError('timeout', 'caller left'));
  await assert.rejects(leaving, code('timeout'));
  release();
  assert.equal((await staying).byteLength, 10);
  assert.equal(served.cachedBytes, 1000);
  assert.equal(node.counts.get, 1);
  await assert.rejects(served.read(hash, 0, 10, AbortSignal.abort()), { name: 'AbortError' });
});

void test('bytes kept under a version revoked since, still served by a twin version: verified again', async () => {
  const node = await openNode();
  const bytes = padToSize(await moduleImporting([], 'twin'), 1000);
  const hash = sha256(bytes);
  await node.registry.install(bytes, manifestFor(bytes, { version: '1.0.0' }));
  const served = source(node);
  await served.read(hash, 0, 1);
  await node.registry.install(bytes, manifestFor(bytes, { version: '1.0.1' }));
  await node.revokeVersion('1.0.0');
  assertSameBytes(await served.read(hash, 0, 1000), bytes);
  assert.equal(node.counts.get, 2, 'a different record: its own full read, not the old vouching');
  await served.read(hash, 0, 1);
  assert.equal(node.counts.get, 2);
});

void test('end to end over /gojinn/fetch/1.0.0: one whole read per fetch; revoked between fetches', async () => {
  const node = await openNode();
  const { bytes, hash } = await node.install(MODULE_SIZE, 'e2e');
  const mesh = new TestMesh();
  cleanups.push(() => mesh.close());
  const server = await mesh.node();
  const client = await mesh.node();
  await createFetchProtocol({ source: source(node) }).handle(server.libp2p);
  await client.libp2p.dial(multiaddr(addrOf(server)));
  const got = await fetchModule(client.libp2p, {
    sha256: hash,
    size: MODULE_SIZE,
    maxBytes: MODULE_SIZE,
    providers: [server.peerId],
    useDht: false,
  });
  assert.deepEqual(got, bytes);
  assert.equal(node.counts.get, 1);
  await node.revokeVersion('1.0.0');
  await assert.rejects(
    fetchProtocol.request(
      client.libp2p,
      server.peerId,
      encodeFetchRequest({ sha256: hash, offset: MAX_FETCH_CHUNK_BYTES, length: 10 }),
    ),
    code('revoked'),
  );
});
