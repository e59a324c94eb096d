/**
 * The invocation router on real nodes over loopback, with real sandboxes on the providers:
 * local first, remote on request or when not installed, failover only to providers that did
 * not run the call, the hops limit, and no forwarding loops.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerId } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import { sha256Hex } from '@gojinn/manifest';
import { TestMesh } from './support/nodes.ts';
import { TestExecutor, exampleWasm, guestRequest } from './support/invoke-executor.ts';
import { allow, connect, servingNode } from './support/invoke-nodes.ts';
import type { ServingNode } from './support/invoke-nodes.ts';
import { invokeRemote } from '../src/invoke/protocol.ts';
import type { InvokeExecutor } from '../src/invoke/protocol.ts';
import { PeerPolicyTable } from '../src/invoke/peer-policy.ts';
import { InvocationRouter } from '../src/routing/router.ts';
import type { RemoteInvoke, RouteRequest } from '../src/routing/router.ts';
import type { MeshNode } from '../src/node.ts';

const HELLO = exampleWasm('hello');
const MODULES = [{ name: 'hello', version: '1.0.0', bytes: HELLO }];

const mesh = new TestMesh();
let one: TestExecutor;
let two: TestExecutor;
let mine: TestExecutor;
let a1: ServingNode;
let a2: ServingNode;
let c: MeshNode;
let dead: PeerId;

const isCode = (code: string, pattern?: RegExp) => (error: unknown) =>
  error instanceof GojinnError &&
  error.code === code &&
  (pattern === undefined || pattern.test(error.message));

function route(over: Partial<RouteRequest> = {}): RouteRequest {
  return {
    module: { name: 'hello', range: '^1.0.0' },
    request: guestRequest('/hello?name=Ada'),
    deadlineMs: 10_000,
    ...over,
  };
}

/** A router on C whose providers are `providers`, counting its remote calls. */
function routerOnC(providers: PeerId[], over: { local?: boolean; maxHops?: number } = {}) {
  const calls: string[] = [];
  const remote: RemoteInvoke = (peer, call, options) => {
    calls.push(peer.toString());
    return invokeRemote(c.libp2p, peer, call, options);
  };
  const router = new InvocationRouter({
    libp2p: c.libp2p,
    remote,
    providers: () => providers,
    ...(over.local === true ? { local: mine.local() } : {}),
    ...(over.maxHops === undefined ? {} : { maxHops: over.maxHops }),
  });
  return { router, calls };
}

before(async () => {
  [one, two, mine] = await Promise.all([
    TestExecutor.create(MODULES),
    TestExecutor.create(MODULES),
    TestExecutor.create(MODULES),
  ]);
  a1 = await servingNode(mesh, one.executor());
  a2 = await servingNode(mesh, two.executor());
  c = await mesh.node();
  a1.policies.setPolicies([allow(c, ['hello'])]);
  a2.policies.setPolicies([allow(c, ['hello'])]);
  await connect(c, a1.node);
  await connect(c, a2.node);
  // A provider that was reachable once and is gone: C knows its address, nothing listens.
  const gone = await mesh.node();
  await connect(c, gone);
  dead = gone.peerId;
  await mesh.stop(gone);
});

after(async () => {
  await mesh.close();
  await Promise.all([one.close(), two.close(), mine.close()]);
});

void test('installed here ⇒ runs here; remote: true ⇒ runs on a provider, with its verified receipt', async () => {
  const { router, calls } = routerOnC([a1.node.peerId], { local: true });
  const here = await router.invoke(route());
  assert.equal(here.where, 'local');
  assert.equal(here.response.status, 200);
  assert.equal(here.where === 'local' && here.moduleSha256, sha256Hex(HELLO));
  assert.deepEqual(calls, []);
  const there = await router.invoke(route({ remote: true }));
  assert.equal(there.where, 'remote');
  assert.equal(there.where === 'remote' && there.receipt.peer, a1.node.peerId.toString());
  assert.deepEqual(there.response, here.response);
  assert.ok(router.stats.latencyMs(a1.node.peerId.toString()) !== undefined, 'the call time was recorded');
});

void test('not installed here ⇒ the provider runs it; no provider, or only this node ⇒ not_found', async () => {
  const served = await routerOnC([a1.node.peerId]).router.invoke(route());
  assert.equal(served.where, 'remote');
  await assert.rejects(
    routerOnC([]).router.invoke(route()),
    isCode('not_found', /no provider serves hello@\^1.0.0/),
  );
  await assert.rejects(routerOnC([c.peerId]).router.invoke(route()), isCode('not_found'));
});

void test('an unreachable provider is skipped for the next (the request never left)', async () => {
  const { router, calls } = routerOnC([dead, a1.node.peerId]);
  const routed = await router.invoke(route());
  assert.equal(routed.where, 'remote');
  assert.ok(routed.where === 'remote');
  assert.equal(routed.peer, a1.node.peerId.toString());
  assert.deepEqual(calls, [dead.toString(), a1.node.peerId.toString()]);
  assert.deepEqual(
    routed.skipped.map((s) => [s.peer, s.code]),
    [[dead.toString(), 'peer_unreachable']],
  );
  // The dead peer now ranks last.
  assert.deepEqual(router.stats.rank([dead, a1.node.peerId]).map(String), [
    a1.node.peerId.toString(),
    dead.toString(),
  ]);
});

void test('a provider that refuses before running (policy) is skipped for the next', async () => {
  a2.policies.setPolicies([]);
  try {
    const { router, calls } = routerOnC([a2.node.peerId, a1.node.peerId]);
    const routed = await router.invoke(route());
    assert.ok(routed.where === 'remote');
    assert.equal(routed.peer, a1.node.peerId.toString());
    assert.deepEqual(
      routed.skipped.map((s) => s.code),
      ['peer_denied'],
    );
    assert.equal(calls.length, 2);
    // Every provider refusing ⇒ the refusal's code, every attempt named.
    await assert.rejects(routerOnC([dead, a2.node.peerId]).router.invoke(route()), (error: unknown) => {
      assert.ok(isCode('peer_denied')(error));
      assert.match((error as Error).message, /2 tried/);
      return true;
    });
  } finally {
    a2.policies.setPolicies([allow(c, ['hello'])]);
  }
});

void test('a call that ran and failed is reported, never retried on another provider', async () => {
  const before = two.executed;
  const { router, calls } = routerOnC([a1.node.peerId, a2.node.peerId]);
  await assert.rejects(router.invoke(route({ fuel: 10 })), isCode('fuel_exhausted'));
  assert.deepEqual(calls, [a1.node.peerId.toString()]);
  assert.equal(two.executed, before);
});

void test('nothing reachable ⇒ peer_unreachable; maxAttempts bounds the providers tried', async () => {
  const { router, calls } = routerOnC([dead, dead, dead]);
  await assert.rejects(router.invoke(route()), isCode('peer_unreachable', /1 tried/));
  assert.equal(calls.length, 1, 'duplicates are tried once');
  const limited = new InvocationRouter({
    libp2p: c.libp2p,
    providers: () => [a2.node.peerId, a1.node.peerId],
    maxAttempts: 1,
  });
  a2.policies.setPolicies([]);
  try {
    await assert.rejects(limited.invoke(route()), isCode('peer_denied', /1 tried/));
  } finally {
    a2.policies.setPolicies([allow(c, ['hello'])]);
  }
});

void test('hops: a router never forwards past maxHops (a received call with the default of 1 is not forwarded)', async () => {
  const { router, calls } = routerOnC([a1.node.peerId]);
  await assert.rejects(router.invoke(route({ hopsTaken: 1 })), isCode('not_found', /2 hops \(maxHops 1\)/));
  assert.deepEqual(calls, []);
  assert.throws(() => new InvocationRouter({ providers: () => [], maxHops: -1 }), RangeError);
  await assert.rejects(
    new InvocationRouter({ providers: () => [a1.node.peerId] }).invoke(route()),
    isCode('not_found', /makes no remote calls/),
  );
});

/** A server whose executor forwards through its own router (no module installed there). */
function forwarding(router: InvocationRouter): InvokeExecutor {
  return async (call) => {
    if (!('name' in call.module)) throw new GojinnError('not_found', 'forwarding needs a module name');
    call.authorize(call.module.name);
    const routed = await router.invoke({
      module: call.module,
      request: call.request,
      deadlineMs: call.deadlineMs,
      hopsTaken: call.hops + 1,
      signal: call.signal,
      ...(call.seed === undefined ? {} : { seed: call.seed }),
    });
    if (routed.where === 'local') throw new GojinnError('internal', 'no local module expected');
    const { receipt } = routed;
    return {
      outcome: {
        ok: true,
        response: routed.response,
        fuelUsed: receipt.fuelUsed,
        deterministic: receipt.deterministic,
        seed: receipt.seed,
      },
      moduleSha256: receipt.moduleSha256,
    };
  };
}

void test('two relays that name each other as providers end the call (not_found), with no loop', async () => {
  const forwards = { r1: 0, r2: 0 };
  const providersOf: Record<'r1' | 'r2', PeerId[]> = { r1: [], r2: [] };
  const relay = async (name: 'r1' | 'r2'): Promise<ServingNode> => {
    const self: { node?: ServingNode } = {};
    const router = new InvocationRouter({
      remote: (peer, call, options) => {
        forwards[name]++;
        return invokeRemote((self.node as ServingNode).node.libp2p, peer, call, options);
      },
      providers: () => providersOf[name],
      maxHops: 2,
    });
    self.node = await servingNode(mesh, forwarding(router), new PeerPolicyTable({ unknownPeers: 'allow' }), {
      maxHops: 2,
    });
    return self.node;
  };
  const r1 = await relay('r1');
  const r2 = await relay('r2');
  providersOf.r1 = [r2.node.peerId];
  providersOf.r2 = [r1.node.peerId];
  await connect(c, r1.node);
  await connect(r1.node, r2.node);
  await assert.rejects(
    invokeRemote(c.libp2p, r1.node.peerId, { ...route(), hops: 0 }),
    isCode('not_found', /3 hops \(maxHops 2\)/),
  );
  assert.deepEqual(forwards, { r1: 1, r2: 0 }, 'r1 forwarded once; r2 refused to forward a second time');
  // A provider behind r1 that accepts one hop only refuses the forwarded call ...
  a1.policies.setPolicies([allow(c, ['hello']), allow(r1.node, ['hello'])]);
  providersOf.r1 = [a1.node.peerId];
  await connect(r1.node, a1.node);
  await assert.rejects(
    invokeRemote(c.libp2p, r1.node.peerId, { ...route(), hops: 0 }),
    isCode('peer_denied', /arrived after 2 hops; this node accepts at most 1/),
  );
  // ... one configured for two serves it; C holds r1's receipt.
  const deep = await servingNode(
    mesh,
    one.executor(),
    new PeerPolicyTable({ policies: [allow(r1.node, ['hello'])] }),
    {
      maxHops: 2,
    },
  );
  await connect(r1.node, deep.node);
  providersOf.r1 = [deep.node.peerId];
  const answer = await invokeRemote(c.libp2p, r1.node.peerId, { ...route(), hops: 0 });
  assert.equal(answer.response.status, 200);
  assert.equal(answer.receipt.peer, r1.node.peerId.toString());
  assert.equal(answer.receipt.moduleSha256, sha256Hex(HELLO));
});
