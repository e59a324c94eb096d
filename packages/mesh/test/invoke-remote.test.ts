/**
 * Federated invocation on real nodes over loopback TCP, with a real sandbox on the serving
 * node: a call from C runs on A and comes back with A's receipt, which C verifies; the policy
 * refuses unknown peers, modules outside the allow list, capabilities above the ceiling, calls
 * over the rate or concurrency limits, and calls that took too many hops.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import { sha256Hex } from '@gojinn/manifest';
import { TestMesh } from './support/nodes.ts';
import { TestExecutor, exampleWasm, guestRequest } from './support/invoke-executor.ts';
import { allow, connect, servingNode } from './support/invoke-nodes.ts';
import type { ServingNode } from './support/invoke-nodes.ts';
import {
  invokeRemote,
  requestSha256,
  responseSha256,
  INVOKE_MAX_REQUEST_BYTES,
} from '../src/invoke/protocol.ts';
import { PeerPolicyTable } from '../src/invoke/peer-policy.ts';
import type { MeshNode } from '../src/node.ts';
import { encodeInvokeCall } from '../src/invoke/messages.ts';
import type { InvokeCall } from '../src/invoke/messages.ts';

const HELLO = exampleWasm('hello');
const COUNTER = exampleWasm('kv-counter');
const COUNTER_RIGHTS = { 'kv.read': { prefixes: ['counter/'] }, 'kv.write': { prefixes: ['counter/'] } };

const mesh = new TestMesh();
let executor: TestExecutor;
let a: ServingNode;
let b: MeshNode;
let c: MeshNode;

const isCode = (code: string, pattern?: RegExp) => (error: unknown) =>
  error instanceof GojinnError &&
  error.code === code &&
  (pattern === undefined || pattern.test(error.message));

function helloCall(over: Partial<InvokeCall> = {}): InvokeCall {
  return {
    module: { name: 'hello', range: '^1.0.0' },
    request: guestRequest('/hello?name=Ada'),
    deadlineMs: 10_000,
    ...over,
  };
}

before(async () => {
  executor = await TestExecutor.create([
    { name: 'hello', version: '1.2.0', bytes: HELLO },
    { name: 'kv-counter', version: '1.0.0', bytes: COUNTER, declared: COUNTER_RIGHTS },
  ]);
  a = await servingNode(mesh, executor.executor());
  b = await mesh.node();
  c = await mesh.node();
  a.policies.setPolicies([allow(c, ['hello', 'kv-counter'])]);
  await connect(c, a.node);
  await connect(b, a.node);
});

after(async () => {
  await mesh.close();
  await executor.close();
});

void test('a call from C runs on A and returns A’s receipt, verified by C against A', async () => {
  const call = helloCall();
  const { response, receipt } = await invokeRemote(c.libp2p, a.node.peerId, call);
  assert.equal(response.status, 200);
  assert.deepEqual(JSON.parse(response.body), {
    hello: 'Ada',
    method: 'GET',
    uri: '/hello?name=Ada',
    echo: null,
  });
  assert.equal(receipt.peer, a.node.peerId.toString());
  assert.equal(receipt.moduleSha256, sha256Hex(HELLO));
  assert.equal(receipt.requestSha256, requestSha256(call.request));
  assert.equal(receipt.responseSha256, responseSha256(response));
  assert.equal(receipt.traceId, call.request.trace_id);
  assert.equal(receipt.deterministic, true);
  assert.ok(receipt.fuelUsed > 0);
  assert.match(receipt.seed, /^[0-9a-f]{64}$/);
});

void test('same seed, same request ⇒ same response hash and fuel; the caller’s seed is the receipt’s', async () => {
  const seed = '5'.repeat(64);
  const call = helloCall({ seed, request: guestRequest('/hello?name=Bo', 'ab'.repeat(16)) });
  const one = await invokeRemote(c.libp2p, a.node.peerId, call);
  const two = await invokeRemote(c.libp2p, a.node.peerId, call);
  assert.equal(one.receipt.seed, seed);
  assert.equal(one.receipt.responseSha256, two.receipt.responseSha256);
  assert.equal(one.receipt.fuelUsed, two.receipt.fuelUsed);
  // And a local run of the same bytes agrees.
  const local = await executor.run(executor.find(call.module), call.request, { seed, deadlineMs: 5000 });
  assert.equal(
    responseSha256(local.outcome.response ?? assert.fail('no response')),
    one.receipt.responseSha256,
  );
  assert.equal(Number(local.outcome.fuelUsed), one.receipt.fuelUsed);
});

void test('a call by exact hash runs that module', async () => {
  const { receipt } = await invokeRemote(
    c.libp2p,
    a.node.peerId,
    helloCall({ module: { sha256: sha256Hex(HELLO) } }),
  );
  assert.equal(receipt.moduleSha256, sha256Hex(HELLO));
});

void test('a peer without a policy is denied before anything runs', async () => {
  const before = executor.executed;
  await assert.rejects(
    invokeRemote(b.libp2p, a.node.peerId, helloCall()),
    isCode('peer_denied', /no policy/),
  );
  assert.equal(executor.executed, before, 'the executor never saw the call');
});

void test('a module outside the allow list is denied, by name and by hash', async () => {
  a.policies.setPolicies([allow(c, ['kv-counter'])]);
  try {
    await assert.rejects(
      invokeRemote(c.libp2p, a.node.peerId, helloCall()),
      isCode('peer_denied', /"hello"/),
    );
    await assert.rejects(
      invokeRemote(c.libp2p, a.node.peerId, helloCall({ module: { sha256: sha256Hex(HELLO) } })),
      isCode('peer_denied', /"hello"/),
    );
  } finally {
    a.policies.setPolicies([allow(c, ['hello', 'kv-counter'])]);
  }
});

void test('a ceiling without the module’s capabilities ⇒ capability_denied; with them the guest’s kv calls work', async () => {
  const call = helloCall({
    module: { name: 'kv-counter', range: '1' },
    request: guestRequest('/?key=visits'),
  });
  await assert.rejects(invokeRemote(c.libp2p, a.node.peerId, call), isCode('capability_denied'));
  a.policies.setPolicies([
    allow(c, ['hello', 'kv-counter'], { capabilities: { 'kv.read': { prefixes: [''] } } }),
  ]);
  await assert.rejects(
    invokeRemote(c.libp2p, a.node.peerId, call),
    isCode('capability_denied'),
    'kv.write still missing',
  );
  a.policies.setPolicies([allow(c, ['hello', 'kv-counter'], { capabilities: COUNTER_RIGHTS })]);
  try {
    const { response, receipt } = await invokeRemote(c.libp2p, a.node.peerId, call);
    assert.deepEqual(JSON.parse(response.body), { key: 'visits', count: 1 });
    assert.equal(receipt.moduleSha256, sha256Hex(COUNTER));
    const again = await invokeRemote(c.libp2p, a.node.peerId, call);
    assert.deepEqual(JSON.parse(again.response.body), { key: 'visits', count: 2 });
  } finally {
    a.policies.setPolicies([allow(c, ['hello', 'kv-counter'])]);
  }
});

void test('guest failures keep their codes end to end, and bring no receipt', async () => {
  await assert.rejects(
    invokeRemote(c.libp2p, a.node.peerId, helloCall({ fuel: 10 })),
    isCode('fuel_exhausted'),
  );
  await assert.rejects(
    invokeRemote(c.libp2p, a.node.peerId, helloCall({ module: { name: 'hello', range: '^2.0.0' } })),
    isCode('not_found'),
  );
});

void test('rate and concurrency limits of the calling peer ⇒ overloaded at the edge', async () => {
  // Rate: a frozen clock, so the burst of 2 never refills during the test.
  const frozen = new PeerPolicyTable({ policies: [allow(c, ['hello'], { ratePerSecond: 2 })], now: () => 0 });
  const server = await servingNode(mesh, executor.executor(), frozen);
  await connect(c, server.node);
  await invokeRemote(c.libp2p, server.node.peerId, helloCall());
  await invokeRemote(c.libp2p, server.node.peerId, helloCall());
  await assert.rejects(
    invokeRemote(c.libp2p, server.node.peerId, helloCall()),
    isCode('overloaded', /ratePerSecond/),
  );

  // Concurrency: calls are held at a gate inside the executor until the test opens it.
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const gated = await servingNode(
    mesh,
    executor.executor(() => opened),
    new PeerPolicyTable({ policies: [allow(c, ['hello'], { maxConcurrent: 2 })] }),
  );
  await connect(c, gated.node);
  const held = [
    invokeRemote(c.libp2p, gated.node.peerId, helloCall()),
    invokeRemote(c.libp2p, gated.node.peerId, helloCall()),
  ];
  await waitUntil(() => gated.policies.inFlight() === 2);
  await assert.rejects(
    invokeRemote(c.libp2p, gated.node.peerId, helloCall()),
    isCode('overloaded', /maxConcurrent/),
  );
  open();
  for (const result of await Promise.all(held)) assert.equal(result.response.status, 200);
  assert.equal(gated.policies.inFlight(), 0);
  await invokeRemote(c.libp2p, gated.node.peerId, helloCall());
});

void test('hops: a call that arrives after more hops than the server allows is refused', async () => {
  await assert.rejects(
    invokeRemote(c.libp2p, a.node.peerId, helloCall({ hops: 1 })),
    isCode('peer_denied', /maxHops/),
  );
  const relaxed = await servingNode(
    mesh,
    executor.executor(),
    new PeerPolicyTable({ policies: [allow(c, ['hello'])] }),
    {
      maxHops: 2,
    },
  );
  await connect(c, relaxed.node);
  assert.equal(
    (await invokeRemote(c.libp2p, relaxed.node.peerId, helloCall({ hops: 1 }))).response.status,
    200,
  );
  await assert.rejects(
    invokeRemote(c.libp2p, relaxed.node.peerId, helloCall({ hops: 2 })),
    isCode('peer_denied'),
  );
});

void test('a malformed call is refused at the caller without a stream; an oversized one too', async () => {
  await assert.rejects(
    invokeRemote(c.libp2p, a.node.peerId, helloCall({ deadlineMs: 0 })),
    isCode('bad_request', /deadlineMs/),
  );
  const big = guestRequest('/hello');
  big.body = 'x'.repeat(INVOKE_MAX_REQUEST_BYTES);
  await assert.rejects(
    invokeRemote(c.libp2p, a.node.peerId, helloCall({ request: big })),
    isCode('bad_request', /maxRequestBytes/),
  );
});

void test('a call of exactly maxRequestBytes reaches the server (whose sandbox then applies maxStdinBytes)', async () => {
  const request = guestRequest('/hello');
  const base = encodeInvokeCall(helloCall({ request })).byteLength;
  request.body = 'x'.repeat(INVOKE_MAX_REQUEST_BYTES - base);
  assert.equal(encodeInvokeCall(helloCall({ request })).byteLength, INVOKE_MAX_REQUEST_BYTES);
  const before = executor.executed;
  await assert.rejects(
    invokeRemote(c.libp2p, a.node.peerId, helloCall({ request })),
    isCode('bad_request', /maxStdinBytes/),
  );
  assert.equal(executor.executed, before + 1, 'the frame was read and the call executed');
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
