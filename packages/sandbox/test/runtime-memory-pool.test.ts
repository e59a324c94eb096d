/**
 * The MemoryPool's own contract, with real memories: what take hands out (zeroed, exactly the
 * module's limits), what give accepts (only memories it created for that module, at their
 * initial size), and every bound at its limit and one past it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  DEFAULT_MEMORY_RECYCLING_LIMITS,
  MemoryPool,
  type MemoryRecyclingLimits,
} from '../src/runtime/index.ts';
import { assemble } from './fixtures/wat-guest.ts';

const PAGE = 65536;
const ONE_PAGE = { initialPages: 1, maxPages: 4 };

/** Distinct modules: the pool keys its idle lists by module object. */
function newModule(): WebAssembly.Module {
  return new WebAssembly.Module(assemble('(module)'));
}

function pool(limits: Partial<MemoryRecyclingLimits> = {}): MemoryPool {
  return new MemoryPool(limits);
}

void test('the defaults are the documented ones', () => {
  assert.deepEqual(DEFAULT_MEMORY_RECYCLING_LIMITS, {
    maxIdleMemoriesPerModule: 2,
    maxIdleBytes: 16 * 1024 * 1024,
    maxRecycledMemoryBytes: 8 * 1024 * 1024,
  });
  assert.deepEqual(new MemoryPool().limits, DEFAULT_MEMORY_RECYCLING_LIMITS);
});

void test('take: a new memory of exactly the initial size, growable to exactly the maximum', () => {
  const memory = pool().take(newModule(), { initialPages: 2, maxPages: 3 });
  assert.equal(memory.buffer.byteLength, 2 * PAGE);
  assert.equal(memory.grow(1), 2);
  assert.throws(() => memory.grow(1), RangeError, 'the maximum is 3 pages');
});

void test('take after give: the same memory, every byte zeroed', () => {
  const p = pool();
  const module = newModule();
  const memory = p.take(module, ONE_PAGE);
  new Uint8Array(memory.buffer).fill(0xa5);
  assert.equal(p.give(module, memory, ONE_PAGE), true);
  assert.deepEqual(p.stats(), { modules: 1, idleMemories: 1, idleBytes: PAGE });
  const again = p.take(module, ONE_PAGE);
  assert.equal(again, memory);
  assert.equal(
    new Uint8Array(again.buffer).every((byte) => byte === 0),
    true,
  );
  assert.deepEqual(p.stats(), { modules: 0, idleMemories: 0, idleBytes: 0 });
});

void test('give refuses a grown memory, a memory of another module, a foreign memory and a second give', () => {
  const p = pool();
  const module = newModule();
  const grown = p.take(module, ONE_PAGE);
  grown.grow(1);
  assert.equal(p.give(module, grown, ONE_PAGE), false, 'grown: a memory cannot shrink back');

  const other = newModule();
  const others = p.take(other, ONE_PAGE);
  assert.equal(p.give(module, others, ONE_PAGE), false, 'created for another module');

  const foreign = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  assert.equal(p.give(module, foreign, ONE_PAGE), false, 'not created by this pool');

  const memory = p.take(module, ONE_PAGE);
  assert.equal(p.give(module, memory, ONE_PAGE), true);
  assert.equal(p.give(module, memory, ONE_PAGE), false, 'handing it out twice would share it');
  assert.equal(p.stats().idleMemories, 1);
});

void test('maxIdleMemoriesPerModule: kept at the limit, refused one past it', () => {
  const p = pool({ maxIdleMemoriesPerModule: 3 });
  const module = newModule();
  const memories = [0, 1, 2, 3].map(() => p.take(module, ONE_PAGE));
  assert.deepEqual(
    memories.map((memory) => p.give(module, memory, ONE_PAGE)),
    [true, true, true, false],
  );
  assert.equal(p.stats().idleMemories, 3);
  // Another module has its own allowance.
  const other = newModule();
  assert.equal(p.give(other, p.take(other, ONE_PAGE), ONE_PAGE), true);
});

void test('maxIdleMemoriesPerModule 0 keeps nothing', () => {
  const p = pool({ maxIdleMemoriesPerModule: 0 });
  const module = newModule();
  assert.equal(p.give(module, p.take(module, ONE_PAGE), ONE_PAGE), false);
});

void test('maxIdleBytes: kept at the limit; one past it evicts the least recently used module', () => {
  const p = pool({ maxIdleBytes: 3 * PAGE, maxIdleMemoriesPerModule: 4 });
  const [a, b, c] = [newModule(), newModule(), newModule()];
  assert.equal(p.give(a, p.take(a, ONE_PAGE), ONE_PAGE), true);
  assert.equal(p.give(b, p.take(b, ONE_PAGE), ONE_PAGE), true);
  assert.equal(p.give(c, p.take(c, ONE_PAGE), ONE_PAGE), true);
  assert.deepEqual(p.stats(), { modules: 3, idleMemories: 3, idleBytes: 3 * PAGE }, 'at the limit');

  // Taking from a and giving back makes it the most recently used; b is now the oldest.
  const fromA = p.take(a, ONE_PAGE);
  assert.equal(p.give(a, fromA, ONE_PAGE), true);
  assert.equal(p.give(c, p.take(c, ONE_PAGE), ONE_PAGE), true);
  const extra = p.take(c, ONE_PAGE); // c's idle memory
  const another = p.take(c, ONE_PAGE); // a new one
  assert.equal(p.give(c, extra, ONE_PAGE), true);
  assert.equal(p.give(c, another, ONE_PAGE), true, 'one past the limit: b is evicted');
  assert.deepEqual(p.stats(), { modules: 2, idleMemories: 3, idleBytes: 3 * PAGE });
  assert.notEqual(p.take(a, ONE_PAGE), undefined);
});

void test('maxIdleBytes: a module never evicts its own memories to make room, and too big is refused', () => {
  const p = pool({ maxIdleBytes: 2 * PAGE, maxIdleMemoriesPerModule: 4 });
  const module = newModule();
  const memories = [0, 1, 2].map(() => p.take(module, ONE_PAGE));
  assert.deepEqual(
    memories.map((memory) => p.give(module, memory, ONE_PAGE)),
    [true, true, false],
  );
  assert.equal(p.stats().idleMemories, 2);
  const other = newModule();
  const big = { initialPages: 3, maxPages: 3 };
  assert.equal(p.give(other, p.take(other, big), big), false, '3 pages > maxIdleBytes');
  assert.equal(p.stats().idleMemories, 2, 'and nothing was evicted for it');
});

void test('a memory of zero pages counts as one page', () => {
  const p = pool({ maxIdleBytes: PAGE });
  const module = newModule();
  const empty = { initialPages: 0, maxPages: 1 };
  assert.equal(p.give(module, p.take(module, empty), empty), true);
  assert.equal(p.stats().idleBytes, PAGE);
  const second = p.take(module, empty);
  assert.equal(p.give(module, p.take(module, empty), empty), true);
  assert.equal(p.give(module, second, empty), false, 'a second page does not fit');
});

void test('maxRecycledMemoryBytes (default 8 MiB): recycled at the limit, refused one page past it', () => {
  const p = pool();
  const module = newModule();
  const atLimit = { initialPages: 128, maxPages: 128 };
  const memory = p.take(module, atLimit);
  assert.equal(memory.buffer.byteLength, DEFAULT_MEMORY_RECYCLING_LIMITS.maxRecycledMemoryBytes);
  assert.equal(p.give(module, memory, atLimit), true);
  const other = newModule();
  const pastLimit = { initialPages: 129, maxPages: 129 };
  assert.equal(p.give(other, p.take(other, pastLimit), pastLimit), false);
});

void test('clear drops every idle memory', () => {
  const p = pool();
  const module = newModule();
  const memory = p.take(module, ONE_PAGE);
  assert.equal(p.give(module, memory, ONE_PAGE), true);
  p.clear();
  assert.deepEqual(p.stats(), { modules: 0, idleMemories: 0, idleBytes: 0 });
  assert.notEqual(p.take(module, ONE_PAGE), memory);
});

void test('limits must be non-negative integers', () => {
  assert.throws(() => new MemoryPool({ maxIdleBytes: -1 }), RangeError);
  assert.throws(() => new MemoryPool({ maxIdleMemoriesPerModule: 1.5 }), RangeError);
  assert.throws(() => new MemoryPool({ maxRecycledMemoryBytes: Number.NaN }), RangeError);
});

void test('an idle memory does not keep its module alive', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const p = pool();
  const refs = (() => {
    const pooled = newModule();
    const control = newModule();
    assert.equal(p.give(pooled, p.take(pooled, ONE_PAGE), ONE_PAGE), true);
    return { pooled: new WeakRef(pooled), control: new WeakRef(control) };
  })();
  // A WeakRef's target survives until the job that made it ends; then a full GC clears it.
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    gc();
  }
  assert.equal(refs.control.deref(), undefined, 'the GC collected the control module');
  assert.equal(refs.pooled.deref(), undefined, 'and the module with an idle memory');
  assert.equal(p.stats().idleMemories, 1, 'whose memory stays counted until evicted');
});
