/**
 * `events.invocation`: once per invocation of a resolved function with its name, the code the
 * caller was answered with, the time and the fuel — for successes, guest failures (a status
 * of 1xx included) and invocations the pool refused; never for requests refused before
 * (unknown names, missing keys); a throwing hook changes nothing for the caller.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readExample } from '../../test/support/guests.ts';
import { assembleWat, loadFixture } from '../../test/support/wat.ts';
import type { InvocationEvent } from '../src/gateway/index.ts';
import { call, errorCode, openNode, serveNode, type Node } from './gateway-fixtures.ts';

let node: Node;
let closedNode: Node;
const closers: (() => Promise<void>)[] = [];

before(async () => {
  node = await openNode();
  await node.install('hello', readExample('hello'));
  await node.install('loop', await loadFixture('loop-in-start-export'));
  // A guest answering a 1xx status: the invocation succeeds, the caller gets 502 bad_response.
  const json = '{"status":101,"headers":{},"body":""}';
  await node.install(
    'informational',
    await assembleWat(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) ${JSON.stringify(json)})
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const ${json.length}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`),
  );
  closedNode = await openNode();
  await closedNode.install('hello', readExample('hello'));
});
after(async () => {
  for (const close of closers) await close();
  await node.close();
  await closedNode.close();
});

async function serveRecording(
  target: Node,
  fuel?: bigint,
): Promise<{ url: string; events: InvocationEvent[]; internal: unknown[] }> {
  const events: InvocationEvent[] = [];
  const internal: unknown[] = [];
  const { listening } = await serveNode(
    target,
    {
      publicFunctions: ['hello', 'loop', 'informational', 'missing'],
      events: { invocation: (event) => events.push(event), internalError: (error) => internal.push(error) },
    },
    fuel === undefined ? {} : { fuel },
  );
  closers.push(() => listening.close());
  return { url: listening.url, events, internal };
}

void test('a successful call is reported once with its name, ok, a duration and the fuel used', async () => {
  const { url, events } = await serveRecording(node);
  const traceIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const reply = await call(url, `/fn/hello?name=${i}`);
    assert.equal(reply.status, 200);
    traceIds.push(String(reply.headers['x-gojinn-trace-id']));
  }
  assert.equal(events.length, 3, 'one event per invocation');
  assert.deepEqual(
    events.map((event) => event.traceId),
    traceIds,
    'each event carries the trace id the caller got back',
  );
  for (const event of events) {
    assert.deepEqual(Object.keys(event).sort(), ['durationMs', 'fuelUsed', 'name', 'outcome', 'traceId']);
    assert.equal(event.name, 'hello');
    assert.equal(event.outcome, 'ok');
    assert.ok(event.durationMs >= 0 && Number.isFinite(event.durationMs));
    assert.equal(typeof event.fuelUsed, 'bigint');
    assert.ok(event.fuelUsed > 0n, 'hello uses fuel');
  }
});

void test('guest failures are reported with the code the caller got and the fuel burnt', async () => {
  const { url, events } = await serveRecording(node, 100_000n);
  const loop = await call(url, '/fn/loop');
  assert.equal(loop.status, 502);
  assert.equal(errorCode(loop), 'fuel_exhausted');
  const informational = await call(url, '/fn/informational');
  assert.equal(informational.status, 502);
  assert.equal(errorCode(informational), 'bad_response');
  assert.equal(events.length, 2);
  assert.equal(events[0]?.name, 'loop');
  assert.equal(events[0]?.outcome, 'fuel_exhausted');
  assert.equal(events[0]?.fuelUsed, 100_000n, 'all the fuel it was given');
  assert.equal(events[1]?.name, 'informational');
  assert.equal(events[1]?.outcome, 'bad_response');
});

void test('requests refused before an invocation are not reported', async () => {
  const { url, events } = await serveRecording(node);
  assert.equal((await call(url, '/fn/missing')).status, 404, 'public but not installed');
  assert.equal((await call(url, '/fn/private')).status, 401, 'not public, no key');
  assert.equal((await call(url, '/nothing')).status, 404);
  assert.equal(events.length, 0);
});

void test('an invocation the sandbox refuses is reported with its code and no fuel', async () => {
  const { url, events } = await serveRecording(closedNode);
  assert.equal((await call(url, '/fn/hello')).status, 200);
  await closedNode.sandbox.close();
  const refused = await call(url, '/fn/hello');
  assert.equal(refused.status, 503);
  assert.equal(errorCode(refused), 'overloaded');
  assert.deepEqual(
    events.map((event) => [event.name, event.outcome]),
    [
      ['hello', 'ok'],
      ['hello', 'overloaded'],
    ],
  );
  assert.equal(events[1]?.fuelUsed, 0n);
});

void test('a throwing hook goes to internalError and the caller still gets the answer', async () => {
  const internal: unknown[] = [];
  const boom = new Error('metrics backend down');
  const { listening } = await serveNode(node, {
    publicFunctions: ['hello'],
    events: {
      invocation: () => {
        throw boom;
      },
      internalError: (error) => internal.push(error),
    },
  });
  closers.push(() => listening.close());
  const reply = await call(listening.url, '/fn/hello?name=still');
  assert.equal(reply.status, 200);
  assert.match(reply.body, /"hello":"still"/);
  assert.deepEqual(internal, [boom]);
});
