import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModuleCacheMirror } from '../src/pool/module-cache-mirror.ts';
import { GUESTS, fixturePool, replyOf, specFor } from './pool-fixtures.ts';

const [a, b, c] = [1, 2, 3].map((tag) => GUESTS.tagged(tag)) as [
  ReturnType<typeof GUESTS.tagged>,
  ReturnType<typeof GUESTS.tagged>,
  ReturnType<typeof GUESTS.tagged>,
];

void test('the cache mirror sends a module once, evicts the least recently used at capacity, and re-sends it', () => {
  const mirror = new ModuleCacheMirror(2);
  assert.deepEqual(mirror.use('a'), []);
  assert.deepEqual(mirror.use('b'), []);
  assert.equal(mirror.use('a'), undefined, 'held: nothing to send');
  assert.deepEqual(mirror.use('c'), ['b'], 'b is the least recently used');
  assert.equal(mirror.size, 2);
  assert.deepEqual(mirror.use('b'), ['a']);
  assert.equal(mirror.use('c'), undefined);
});

void test('a module is warmed once per worker while it stays cached, and again after eviction', async () => {
  const pool = fixturePool({ size: 1, moduleCacheSize: 2 });
  try {
    const warmedAfter = async (module: typeof a): Promise<number> => {
      const reply = replyOf(await pool.run(module, specFor(module)));
      return reply.warmed;
    };
    assert.equal(await warmedAfter(a), 1);
    assert.equal(await warmedAfter(a), 1);
    assert.equal(await warmedAfter(b), 2);
    assert.equal(await warmedAfter(a), 2, 'a is still cached');
    assert.equal(await warmedAfter(c), 3, 'c evicts b');
    assert.equal(await warmedAfter(a), 3);
    assert.equal(await warmedAfter(b), 4, 'b came back after eviction');
  } finally {
    await pool.close();
  }
});

void test('evictions ordered within one pipelined batch never take a module from a task already received', async () => {
  const pool = fixturePool({ size: 1, moduleCacheSize: 1, pipelineDepth: 16 });
  try {
    await pool.ready();
    const order = [a, b, c, a, a, c, b, a, c, c, b, b];
    const outcomes = await Promise.all(order.map((module) => pool.run(module, specFor(module))));
    assert.deepEqual(
      outcomes.map((outcome) => replyOf(outcome).tag),
      [1, 2, 3, 1, 1, 3, 2, 1, 3, 3, 2, 2],
    );
  } finally {
    await pool.close();
  }
});
