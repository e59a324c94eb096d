/**
 * Invoke over sessions on real nodes with a real sandbox: invokeRemote goes over
 * `/gojinn/invoke/1.1.0` by default (many calls, a few streams, receipts verified); a server
 * that speaks only 1.0.0 is still called (fallback), and `sessions: false` keeps 1.0.0; the
 * policy's per-peer concurrency still holds over one session; a deadline on a session is
 * `timeout` and the next call works.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import { loadOrCreateNodeIdentity } from '../src/identity.ts';
import {
  INVOKE_PROTOCOL_ID,
  INVOKE_PROTOCOL_SPEC,
  INVOKE_SESSION_PROTOCOL_ID,
  INVOKE_SESSION_PROTOCOL_VERSION,
  createInvokeProtocol,
  invokeRemote,
  invokeSessions,
} from '../src/invoke/protocol.ts';
import type { InvokeExecutor } from '../src/invoke/protocol.ts';
import type { InvokeCall } from '../src/invoke/messages.ts';
import { PeerPolicyTable } from '../src/invoke/peer-policy.ts';
import { PeerCallError, defineProtocol } from '../src/request-response.ts';
import { defineSessionProtocol } from '../src/session/protocol.ts';
import { SessionPool } from '../src/session/pool.ts';
import type { MeshNode } from '../src/node.ts';
import { TestMesh, waitFor } from './support/nodes.ts';
import { TestExecutor, exampleWasm, guestRequest } from './support/invoke-executor.ts';
import { allow, connect } from './support/invoke-nodes.ts';

const mesh = new TestMesh();
let executor: TestExecutor;

before(async () => {
  executor = await TestExecutor.create([{ name: 'hello', version: '1.0.0', bytes: exampleWasm('hello') }]);
});

after(async () => {
  await mesh.close();
  await executor.close();
});

function call(over: Partial<InvokeCall> = {}): InvokeCall {
  return {
    module: { name: 'hello', range: '1' },
    request: guestRequest('/hello'),
    deadlineMs: 5_000,
    ...over,
  };
}

interface CountingServer {
  node: MeshNode;
  policies: PeerPolicyTable;
  /** Calls served per protocol id. */
  served: Map<string, number>;
}

/**
 * An invoke server whose two framings are registered by hand around its `serve`, so each call
 * is counted by the framing it came in (`sessions: false` ⇒ 1.0.0 only, an older node).
 */
async function countingServer(
  execute: InvokeExecutor,
  { sessions = true }: { sessions?: boolean } = {},
): Promise<CountingServer> {
  const dataDir = await mesh.dataDir();
  const { privateKey } = await loadOrCreateNodeIdentity(dataDir);
  const node = await mesh.node({ dataDir });
  const policies = new PeerPolicyTable();
  const server = createInvokeProtocol({ policies, execute, privateKey });
  const served = new Map<string, number>();
  const counted =
    (id: string) =>
    (bytes: Uint8Array, context: Parameters<typeof server.serve>[1]): Promise<Uint8Array> => {
      served.set(id, (served.get(id) ?? 0) + 1);
      return server.serve(bytes, context);
    };
  await defineProtocol(INVOKE_PROTOCOL_SPEC).handle(node.libp2p, counted(INVOKE_PROTOCOL_ID));
  if (sessions) {
    await defineSessionProtocol({ ...INVOKE_PROTOCOL_SPEC, version: INVOKE_SESSION_PROTOCOL_VERSION }).handle(
      node.libp2p,
      counted(INVOKE_SESSION_PROTOCOL_ID),
    );
  }
  return { node, policies, served };
}

void test('invokeRemote goes over 1.1.0 sessions by default: 40 concurrent calls, a few streams, every receipt verified', async () => {
  const server = await countingServer(executor.executor());
  const c = await mesh.node();
  server.policies.setPolicies([allow(c, ['hello'])]);
  await connect(c, server.node);
  const answers = await Promise.all(
    Array.from({ length: 40 }, () => invokeRemote(c.libp2p, server.node.peerId, call())),
  );
  for (const answer of answers) {
    assert.equal(answer.response.status, 200);
    assert.equal(answer.receipt.peer, server.node.peerId.toString());
  }
  assert.equal(server.served.get(INVOKE_SESSION_PROTOCOL_ID), 40);
  assert.equal(server.served.get(INVOKE_PROTOCOL_ID), undefined, 'no call took a 1.0.0 stream');
  const pool = invokeSessions(c.libp2p);
  assert.ok(pool.sessionCount(server.node.peerId) >= 1);
  assert.ok(pool.sessionCount(server.node.peerId) <= pool.maxSessionsPerPeer);
  // `sessions: false`: one 1.0.0 stream for the call, as before sessions.
  const old = await invokeRemote(c.libp2p, server.node.peerId, call(), { sessions: false });
  assert.equal(old.response.status, 200);
  assert.equal(server.served.get(INVOKE_PROTOCOL_ID), 1);
});

void test('a server that speaks only 1.0.0 is called through the fallback, receipts verified, failover rules unchanged', async () => {
  const server = await countingServer(executor.executor(), { sessions: false });
  const c = await mesh.node();
  server.policies.setPolicies([allow(c, ['hello'])]);
  await connect(c, server.node);
  for (let i = 0; i < 3; i++) {
    const answer = await invokeRemote(c.libp2p, server.node.peerId, call());
    assert.equal(answer.response.status, 200);
    assert.equal(answer.receipt.peer, server.node.peerId.toString());
  }
  assert.equal(server.served.get(INVOKE_PROTOCOL_ID), 3);
  assert.equal(invokeSessions(c.libp2p).sessionCount(server.node.peerId), 0);
  // A peer unknown to the policy is refused before running, over the fallback as over sessions.
  const stranger = await mesh.node();
  await connect(stranger, server.node);
  await assert.rejects(
    invokeRemote(stranger.libp2p, server.node.peerId, call()),
    (error: unknown) => error instanceof GojinnError && error.code === 'peer_denied',
  );
});

void test('over one session the policy still caps the peer’s concurrency; a deadline is timeout and the next call works', async () => {
  const held: Array<() => void> = [];
  let holding = true;
  const server = await countingServer(
    executor.executor(() =>
      holding ? new Promise<void>((resolve) => held.push(resolve)) : Promise.resolve(),
    ),
  );
  const c = await mesh.node();
  server.policies.setPolicies([allow(c, ['hello'], { maxConcurrent: 2 })]);
  await connect(c, server.node);
  const sessions = new SessionPool(
    c.libp2p,
    defineSessionProtocol({ ...INVOKE_PROTOCOL_SPEC, version: INVOKE_SESSION_PROTOCOL_VERSION }),
    {
      maxSessionsPerPeer: 1,
    },
  );
  const first = invokeRemote(c.libp2p, server.node.peerId, call({ deadlineMs: 3_000 }), { sessions });
  const second = invokeRemote(c.libp2p, server.node.peerId, call({ deadlineMs: 3_000 }), { sessions });
  await waitFor(() => held.length === 2, 'two calls running (maxConcurrent)');
  await assert.rejects(
    invokeRemote(c.libp2p, server.node.peerId, call(), { sessions }),
    (error: unknown) => error instanceof GojinnError && error.code === 'overloaded',
  );
  for (const release of held.splice(0)) release();
  assert.deepEqual(
    (await Promise.all([first, second])).map((a) => a.response.status),
    [200, 200],
  );

  // A run held past the caller's deadline (+ grace): timeout, the request had left.
  await assert.rejects(
    invokeRemote(c.libp2p, server.node.peerId, call({ deadlineMs: 50 }), { sessions }),
    (error: unknown) => error instanceof PeerCallError && error.code === 'timeout' && error.requestSent,
  );
  holding = false;
  for (const release of held.splice(0)) release();
  const next = await invokeRemote(c.libp2p, server.node.peerId, call(), { sessions });
  assert.equal(next.response.status, 200);
  assert.equal(sessions.sessionCount(), 1, 'the same session served every call');
  sessions.close();
});

void test('a server may raise the session limits, never lower them below what callers rely on', async () => {
  const { privateKey } = await loadOrCreateNodeIdentity(await mesh.dataDir());
  const base = { policies: new PeerPolicyTable(), execute: executor.executor(), privateKey };
  assert.throws(
    () => createInvokeProtocol({ ...base, maxCallsPerSession: 31 }),
    /maxCallsPerSession must be an integer ≥ 32/,
  );
  assert.throws(
    () => createInvokeProtocol({ ...base, maxSessionsPerConnection: 7 }),
    /maxSessionsPerConnection must be an integer ≥ 8/,
  );
  const server = createInvokeProtocol({
    ...base,
    maxCallsPerSession: 32,
    maxSessionsPerConnection: 8,
    sessionIdleMs: 1,
  });
  assert.equal(server.sessionId, INVOKE_SESSION_PROTOCOL_ID);
  assert.equal(server.id, INVOKE_PROTOCOL_ID);
  createInvokeProtocol({ ...base, maxCallsPerSession: 64, maxSessionsPerConnection: 16 });
});
