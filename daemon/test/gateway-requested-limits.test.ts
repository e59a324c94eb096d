/**
 * The gateway runs a module under the node's limits lowered — never widened — by what its
 * manifest requests (runLimits, shared with the mesh's module executor): the same bytes signed
 * with a tighter fuel, memory or time request fail where the unconstrained ones succeed, and a
 * request above the node's limit gets the node's limit.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleWat, loadFixture } from '../../test/support/wat.ts';
import { call, errorCode, openNode, serveNode, type Node } from './gateway-fixtures.ts';

let node: Node;
/** Node limits: 1 000 000 fuel (plenty for a response, an endless loop burns it in ms). */
let lowFuel: string;
/** Node limits: fuel an endless loop cannot burn within the 60 s timeout. */
let highFuel: string;
const closers: (() => Promise<void>)[] = [];
const NAMES = ['respond', 'respond-fuel-10', 'two-pages', 'two-pages-in-one', 'loop-50ms', 'loop-asks-more'];

/** respond-ok's code with a two-page memory. */
const TWO_PAGES = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 1024) "{\\"status\\":200,\\"body\\":\\"ok\\"}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 26))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

before(async () => {
  node = await openNode();
  const respond = await loadFixture('respond-ok');
  const twoPages = await assembleWat(TWO_PAGES);
  const loop = await loadFixture('loop-in-start-export');
  await node.install('respond', respond);
  await node.install('respond-fuel-10', respond, '1.0.0', {}, { fuel: 10 });
  await node.install('two-pages', twoPages);
  await node.install('two-pages-in-one', twoPages, '1.0.0', {}, { memoryBytes: 65_536 });
  await node.install('loop-50ms', loop, '1.0.0', {}, { timeoutMs: 50 });
  await node.install('loop-asks-more', loop, '1.0.0', {}, { fuel: 1e15, timeoutMs: 3_600_000 });
  for (const fuel of [1_000_000n, 1_000_000_000_000_000n]) {
    const served = await serveNode(node, { publicFunctions: NAMES }, { fuel, timeoutMs: 60_000 });
    closers.push(() => served.listening.close());
    if (fuel === 1_000_000n) lowFuel = served.listening.url;
    else highFuel = served.listening.url;
  }
});
after(async () => {
  for (const close of closers) await close();
  await node.close();
});

void test('without a request the node limits apply', async () => {
  assert.equal((await call(lowFuel, '/fn/respond')).status, 200);
  assert.equal((await call(lowFuel, '/fn/two-pages')).status, 200);
});

void test('a manifest asking for less fuel than the run needs is stopped by its own fuel', async () => {
  assert.equal(errorCode(await call(lowFuel, '/fn/respond-fuel-10')), 'fuel_exhausted');
});

void test('a manifest asking for less memory than the module starts with is refused', async () => {
  assert.equal(errorCode(await call(lowFuel, '/fn/two-pages-in-one')), 'memory_limit');
});

void test('a manifest asking for a 50 ms timeout is stopped long before the node would stop it', async () => {
  const started = performance.now();
  const reply = await call(highFuel, '/fn/loop-50ms');
  assert.equal(errorCode(reply), 'timeout');
  // The node's own timeout is 60 s: half of it is a margin no loaded machine needs.
  assert.ok(performance.now() - started < 30_000);
});

void test('asking for more than the node allows gets the node limit, never more', async () => {
  assert.equal(errorCode(await call(lowFuel, '/fn/loop-asks-more')), 'fuel_exhausted');
});
