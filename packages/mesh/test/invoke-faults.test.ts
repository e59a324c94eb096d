/**
 * Faults on real nodes: the serving node dies with calls in flight (they fail clearly, are not
 * retried, and the next calls fail over), and one peer's flood of streams, oversized frames and
 * garbage does not hurt another peer's calls. Every call is bounded: a hang fails the test.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import { TestMesh } from './support/nodes.ts';
import { TestExecutor, exampleWasm, guestRequest } from './support/invoke-executor.ts';
import { allow, connect, servingNode } from './support/invoke-nodes.ts';
import type { ServingNode } from './support/invoke-nodes.ts';
import { INVOKE_MAX_REQUEST_BYTES, INVOKE_PROTOCOL_SPEC, invokeRemote } from '../src/invoke/protocol.ts';
import { encodeInvokeCall } from '../src/invoke/messages.ts';
import type { InvokeCall } from '../src/invoke/messages.ts';
import { InvocationRouter } from '../src/routing/router.ts';
import { PeerCallError, defineProtocol } from '../src/request-response.ts';
import type { MeshNode } from '../src/node.ts';

const MODULES = [{ name: 'hello', version: '1.0.0', bytes: exampleWasm('hello') }];
/** No call in these tests may take longer than this, whatever happens to the nodes. */
const HANG_MS = 8_000;

const mesh = new TestMesh();
let executor: TestExecutor;

before(async () => {
  executor = await TestExecutor.create(MODULES, 2);
});

after(async () => {
  await mesh.close();
  await executor.close();
});

function call(over: Partial<InvokeCall> = {}): InvokeCall {
  return {
    module: { name: 'hello', range: '1' },
    request: guestRequest('/hello'),
    deadlineMs: 3_000,
    ...over,
  };
}

/** `promise`, or a failure naming `what` if it has not settled within HANG_MS. */
async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} hung for ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + HANG_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

void test('the serving node dies with calls in flight: they fail clearly and are not retried; later calls fail over', async () => {
  const c = await mesh.node();
  let holding = false;
  const held: Array<() => void> = [];
  const p1 = await servingNode(
    mesh,
    executor.executor(() =>
      holding ? new Promise<void>((resolve) => held.push(resolve)) : Promise.resolve(),
    ),
  );
  let p2Runs = 0;
  const p2Executor = executor.executor();
  const p2 = await servingNode(mesh, (c2) => {
    p2Runs++;
    return p2Executor(c2);
  });
  for (const server of [p1, p2]) server.policies.setPolicies([allow(c, ['hello'])]);
  await connect(c, p1.node);
  await connect(c, p2.node);
  const router = new InvocationRouter({
    libp2p: c.libp2p,
    providers: () => [p1.node.peerId, p2.node.peerId],
  });
  // p2 measured slow (but faster than a peer that failed): p1 is preferred while it lives.
  router.stats.recordLatency(p2.node.peerId.toString(), 5_000);

  // A warm loop on p1.
  for (let i = 0; i < 5; i++) {
    const routed = await bounded(router.invoke({ ...call(), deadlineMs: 3_000 }), `warm call ${i}`);
    assert.ok(routed.where === 'remote' && routed.peer === p1.node.peerId.toString());
  }
  assert.equal(p2Runs, 0);

  // Three calls held inside p1's executor, then p1 stops.
  holding = true;
  const inFlight = [0, 1, 2].map((i) =>
    bounded(router.invoke({ ...call(), deadlineMs: 3_000 }), `in-flight call ${i}`).then(
      () => assert.fail('a call whose node died cannot succeed'),
      (error: unknown) => error,
    ),
  );
  await waitUntil(() => held.length === 3, 'three calls held on p1');
  await mesh.stop(p1.node);
  for (const error of await Promise.all(inFlight)) {
    assert.ok(error instanceof GojinnError, String(error));
    assert.ok(['peer_unreachable', 'timeout'].includes(error.code), `${error.code}: ${error.message}`);
    assert.ok(error instanceof PeerCallError && error.requestSent, 'the request had left: it may have run');
  }
  assert.equal(p2Runs, 0, 'calls that may have run on p1 were not retried on p2');

  // A bounded loop after the death: every call is served by p2, the first one failing over.
  const served: string[] = [];
  for (let i = 0; i < 10; i++) {
    const routed = await bounded(
      router.invoke({ ...call(), deadlineMs: 3_000 }),
      `call ${i} after the death`,
    );
    assert.ok(routed.where === 'remote');
    served.push(routed.peer);
    if (i === 0)
      assert.deepEqual(
        routed.skipped.map((s) => s.code),
        ['peer_unreachable'],
      );
  }
  assert.deepEqual(new Set(served), new Set([p2.node.peerId.toString()]));
  // Calling the dead peer directly: unreachable before anything was sent.
  await assert.rejects(
    bounded(invokeRemote(c.libp2p, p1.node.peerId, call()), 'direct call'),
    (error: unknown) => {
      assert.ok(error instanceof PeerCallError);
      assert.equal(error.code, 'peer_unreachable');
      assert.equal(error.requestSent, false);
      return true;
    },
  );
  for (const release of held) release();
});

void test('a flood of streams, oversized frames and garbage from one peer does not hurt another peer’s calls', async () => {
  const a: ServingNode = await servingNode(mesh, executor.executor());
  const c: MeshNode = await mesh.node();
  const m: MeshNode = await mesh.node();
  a.policies.setPolicies([
    allow(c, ['hello'], { maxConcurrent: 4 }),
    allow(m, ['hello'], { maxConcurrent: 2 }),
  ]);
  await connect(c, a.node);
  await connect(m, a.node);
  const greedy = defineProtocol({ ...INVOKE_PROTOCOL_SPEC, maxRequestBytes: INVOKE_MAX_REQUEST_BYTES * 2 });
  const raw = defineProtocol({ ...INVOKE_PROTOCOL_SPEC });
  const FLOOD = 120;
  const flood = [
    ...Array.from({ length: FLOOD }, () => invokeRemote(m.libp2p, a.node.peerId, call())),
    ...Array.from({ length: 10 }, () =>
      greedy.request(m.libp2p, a.node.peerId, new Uint8Array(INVOKE_MAX_REQUEST_BYTES + 1).fill(0x20)),
    ),
    ...Array.from({ length: 10 }, () =>
      raw.request(m.libp2p, a.node.peerId, new TextEncoder().encode('{"no":')),
    ),
    ...Array.from({ length: 10 }, () =>
      raw.request(m.libp2p, a.node.peerId, encodeInvokeCall({ ...call(), deadlineMs: -5 } as InvokeCall)),
    ),
  ].map((p: Promise<unknown>) =>
    bounded(p, 'a flood call').then(
      () => 'ok',
      (error: unknown) => error,
    ),
  );

  // Meanwhile the honest peer's calls all succeed.
  for (let i = 0; i < 10; i++) {
    const answer = await bounded(invokeRemote(c.libp2p, a.node.peerId, call()), `honest call ${i}`);
    assert.equal(answer.response.status, 200);
    assert.equal(answer.receipt.peer, a.node.peerId.toString());
  }
  const outcomes = await Promise.all(flood);
  const codes = new Map<string, number>();
  for (const outcome of outcomes) {
    const code = outcome === 'ok' ? 'ok' : outcome instanceof GojinnError ? outcome.code : String(outcome);
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  for (const code of codes.keys()) {
    assert.ok(['ok', 'overloaded', 'peer_unreachable', 'bad_request'].includes(code), `unexpected ${code}`);
  }
  assert.ok(
    (codes.get('bad_request') ?? 0) + (codes.get('peer_unreachable') ?? 0) >= 30,
    'every bad frame was refused',
  );
  assert.ok(
    (codes.get('overloaded') ?? 0) + (codes.get('peer_unreachable') ?? 0) > 0,
    'the flood hit its limits',
  );
  await waitUntil(() => a.policies.inFlight() === 0, 'the flood to drain');
  // Both peers can still call.
  assert.equal((await bounded(invokeRemote(c.libp2p, a.node.peerId, call()), 'after')).response.status, 200);
  assert.equal((await bounded(invokeRemote(m.libp2p, a.node.peerId, call()), 'after')).response.status, 200);
});
