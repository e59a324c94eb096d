/**
 * The bounds of instance reuse, each at its limit: idle instances per module, bytes retained
 * per thread (LRU eviction of whole modules), the largest memory worth reusing; and nested
 * invocations, which must never share an instance.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, test } from 'node:test';
import { WASM_PAGE_BYTES } from '../src/limits.ts';
import {
  DEFAULT_INSTANCE_REUSE_LIMITS,
  InstancePool,
  linkPlanFor,
  runInvocation,
  threadInstancePool,
  type HostImports,
} from '../src/runtime/index.ts';
import { respondingGuest, specFor } from './fixtures/wat-guest.ts';
import {
  SECRET_BYTES,
  keeperInput,
  prepareWat,
  secretKeeperWat,
  type PreparedGuest,
} from './runtime-reuse-guests.ts';

const OK = '{"status":200,"headers":{},"body":"ok"}';

/** A guest answering OK with `pages` pages of memory (the fixture's meter globals are replaced by prepareWasm's). */
function guestWithPages(pages: number): PreparedGuest {
  const wat = respondingGuest(OK)
    .replace(/\(memory \(export "memory"\) 1\)/, `(memory (export "memory") ${pages})`)
    .replace(/\(global \$\w+ \(export "__gojinn_[a-z_]+"\)[^\n]*\n/g, '');
  return prepareWat(wat, 64);
}

function fresh(guest: PreparedGuest): WebAssembly.Instance {
  return new WebAssembly.Instance(guest.module, linkPlanFor(guest.module).importObject);
}

beforeEach(() => threadInstancePool.clear());

void describe('the documented defaults', () => {
  void test('are 4 idle instances per module, 32 MiB retained, 2 MiB largest reusable memory', () => {
    assert.deepEqual(DEFAULT_INSTANCE_REUSE_LIMITS, {
      maxIdleInstancesPerModule: 4,
      maxRetainedBytes: 32 * 1024 * 1024,
      maxReusableMemoryBytes: 2 * 1024 * 1024,
    });
    assert.deepEqual(threadInstancePool.limits, DEFAULT_INSTANCE_REUSE_LIMITS);
  });

  void test('are the ones docs/limits.md lists', () => {
    const doc = readFileSync(new URL('../../../docs/limits.md', import.meta.url), 'utf8');
    for (const [name, value] of Object.entries(DEFAULT_INSTANCE_REUSE_LIMITS)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\``));
      assert.ok(row, `docs/limits.md has no row for ${name}`);
      assert.match(row.split('|')[2]?.trim() ?? '', new RegExp(`^${value}( |$)`));
    }
  });

  void test('limits that are not non-negative integers are refused', () => {
    assert.throws(() => new InstancePool({ maxIdleInstancesPerModule: -1 }), RangeError);
    assert.throws(() => new InstancePool({ maxRetainedBytes: 1.5 }), RangeError);
    assert.throws(() => new InstancePool({ maxReusableMemoryBytes: Number.NaN }), RangeError);
  });
});

void describe('maxReusableMemoryBytes', () => {
  const atLimit = DEFAULT_INSTANCE_REUSE_LIMITS.maxReusableMemoryBytes / WASM_PAGE_BYTES;

  void test(`an instance with exactly ${atLimit} pages is reused by runInvocation`, () => {
    const guest = guestWithPages(atLimit);
    assert.equal(runInvocation(guest.module, guest.info, specFor()).ok, true);
    assert.equal(runInvocation(guest.module, guest.info, specFor()).ok, true);
    assert.deepEqual(threadInstancePool.stats(), {
      modules: 1,
      idleInstances: 1,
      retainedBytes: 2 * atLimit * WASM_PAGE_BYTES,
    });
  });

  void test(`one page more and every invocation gets a fresh instance`, () => {
    const guest = guestWithPages(atLimit + 1);
    assert.equal(guest.info.reuse.reusable, true, 'the module allows it; the size decides');
    assert.equal(runInvocation(guest.module, guest.info, specFor()).ok, true);
    assert.deepEqual(threadInstancePool.stats(), { modules: 0, idleInstances: 0, retainedBytes: 0 });
  });
});

void describe('maxIdleInstancesPerModule', () => {
  void test('keeps exactly that many idle instances of one module', () => {
    const pool = new InstancePool({ maxIdleInstancesPerModule: 3 });
    const guest = guestWithPages(1);
    const instances = Array.from({ length: 4 }, () => fresh(guest));
    for (const instance of instances) assert.equal(pool.adopt(guest.module, instance), true);
    assert.deepEqual(
      instances.map((instance) => pool.give(guest.module, instance)),
      [true, true, true, false],
    );
    assert.equal(pool.stats().idleInstances, 3);
    const taken = [pool.take(guest.module), pool.take(guest.module), pool.take(guest.module)];
    assert.ok(taken.every((instance) => instance !== null));
    assert.equal(new Set(taken).size, 3, 'each instance is handed out once');
    assert.equal(pool.take(guest.module), null);
  });

  void test('0 keeps none', () => {
    const pool = new InstancePool({ maxIdleInstancesPerModule: 0 });
    const guest = guestWithPages(1);
    const instance = fresh(guest);
    assert.equal(pool.adopt(guest.module, instance), true);
    assert.equal(pool.give(guest.module, instance), false);
  });
});

void describe('maxRetainedBytes', () => {
  const PAGE = WASM_PAGE_BYTES;

  void test('counts the snapshot and every idle instance, and refuses one page over', () => {
    const pool = new InstancePool({ maxRetainedBytes: 3 * PAGE });
    const guest = guestWithPages(1);
    const [a, b, c] = [fresh(guest), fresh(guest), fresh(guest)];
    assert.equal(pool.adopt(guest.module, a), true);
    assert.equal(pool.stats().retainedBytes, PAGE, 'the snapshot');
    assert.equal(pool.give(guest.module, a), true);
    assert.equal(pool.give(guest.module, b), true);
    assert.equal(pool.stats().retainedBytes, 3 * PAGE, 'exactly at the limit');
    assert.equal(pool.give(guest.module, c), false, 'a module never evicts itself');
    assert.equal(pool.stats().idleInstances, 2);
  });

  void test('a snapshot larger than the whole budget is never taken', () => {
    const pool = new InstancePool({ maxRetainedBytes: 2 * PAGE - 1 });
    const guest = guestWithPages(2);
    assert.equal(pool.adopt(guest.module, fresh(guest)), false);
    assert.deepEqual(pool.stats(), { modules: 0, idleInstances: 0, retainedBytes: 0 });
  });

  void test('evicts the least recently used module, with all its instances, to make room', () => {
    const pool = new InstancePool({ maxRetainedBytes: 4 * PAGE });
    const [first, second, third] = [guestWithPages(1), guestWithPages(1), guestWithPages(1)];
    const firstInstance = fresh(first);
    pool.adopt(first.module, firstInstance);
    pool.give(first.module, firstInstance);
    const secondInstance = fresh(second);
    pool.adopt(second.module, secondInstance);
    pool.give(second.module, secondInstance);
    assert.equal(pool.stats().retainedBytes, 4 * PAGE);
    // Using the first module makes the second the least recently used.
    const reused = pool.take(first.module);
    assert.ok(reused);
    assert.equal(pool.give(first.module, reused), true);
    assert.equal(pool.adopt(third.module, fresh(third)), true);
    assert.equal(pool.take(second.module), null, 'the second module was evicted');
    assert.notEqual(pool.take(first.module), null, 'the first module kept its instance');
    assert.deepEqual(pool.stats(), { modules: 2, idleInstances: 0, retainedBytes: 2 * PAGE });
  });

  void test('an instance of an evicted module is not taken back', () => {
    const pool = new InstancePool({ maxRetainedBytes: 2 * PAGE });
    const [first, second] = [guestWithPages(1), guestWithPages(1)];
    const inUse = fresh(first);
    pool.adopt(first.module, inUse);
    pool.adopt(second.module, fresh(second));
    pool.adopt(second.module, fresh(second));
    const big = guestWithPages(2);
    assert.equal(pool.adopt(big.module, fresh(big)), true, 'evicts both modules');
    assert.deepEqual(pool.stats(), { modules: 1, idleInstances: 0, retainedBytes: 2 * PAGE });
    assert.equal(pool.give(first.module, inUse), false);
  });

  void test('a module with no memory pages still counts one page', () => {
    const pool = new InstancePool();
    const guest = prepareWat('(module (memory (export "memory") 0) (func (export "_start")))');
    assert.equal(pool.adopt(guest.module, fresh(guest)), true);
    assert.equal(pool.stats().retainedBytes, PAGE);
  });
});

void describe('nested invocations', () => {
  void test('an invocation started from a host function gets its own instance, never the running one', () => {
    const keeper = prepareWat(secretKeeperWat(), 4);
    const run = (stdin: Uint8Array, host: HostImports) =>
      runInvocation(
        keeper.module,
        keeper.info,
        specFor({ stdin, granted: ['kv.read'], limits: { maxStderrBytes: 4 * WASM_PAGE_BYTES } }),
        host,
      );
    const quiet: HostImports = { kv_get: () => -1 };
    const clean = run(keeperInput('D'), quiet);
    assert.equal(threadInstancePool.stats().idleInstances, 1);
    const secret = Buffer.alloc(SECRET_BYTES, 0x5a);
    let nested: ReturnType<typeof run> | undefined;
    const outer = run(keeperInput('K', secret), {
      kv_get: () => {
        assert.equal(threadInstancePool.stats().idleInstances, 0, 'the outer run holds the only instance');
        nested = run(keeperInput('D'), quiet);
        return -1;
      },
    });
    assert.equal(outer.ok, true, JSON.stringify(outer.error));
    assert.ok(nested);
    assert.deepEqual(
      Buffer.from(nested.stderr),
      Buffer.from(clean.stderr),
      'the nested run saw a clean instance',
    );
    assert.equal(threadInstancePool.stats().idleInstances, 2, 'both instances came back');
  });
});
