/**
 * Write batching of session frames: frames queued in one turn reach `send` once, in order,
 * not before the turn ends; `flush` sends at once and `discard` drops. On real nodes, calls
 * issued together and the replies that finish together each cross the connection as one
 * muxer data frame (one 'message' on the other end), and every call still gets its own reply.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Uint8ArrayList } from 'uint8arraylist';
import { WriteBatch } from '../src/session/write-batch.ts';
import { ClientSession } from '../src/session/client.ts';
import { serveSession } from '../src/session/server.ts';
import { PeerCallError, RESPONSE_OK, protocolId } from '../src/request-response.ts';
import { TestMesh, addrOf } from './support/nodes.ts';
import { multiaddr } from '@multiformats/multiaddr';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void test('frames pushed in one turn are sent once, in order, after the turn; flush sends now; discard drops', async () => {
  const sent: Uint8Array[] = [];
  const batch = new WriteBatch((frames) => sent.push(frames.subarray()));
  batch.push(Uint8Array.of(1, 2));
  batch.push(new Uint8ArrayList(Uint8Array.of(3), Uint8Array.of(4, 5)));
  batch.push(Uint8Array.of(6));
  assert.equal(batch.pendingBytes, 6);
  assert.equal(sent.length, 0, 'nothing leaves before the turn ends');
  await turn();
  assert.deepEqual(sent, [Uint8Array.of(1, 2, 3, 4, 5, 6)]);
  assert.equal(batch.pendingBytes, 0);

  batch.push(Uint8Array.of(7));
  batch.flush();
  assert.deepEqual(sent[1], Uint8Array.of(7), 'flush sends at once');
  await turn();
  assert.equal(sent.length, 2, 'a flushed batch is not sent again');

  batch.push(Uint8Array.of(8));
  batch.discard();
  await turn();
  assert.equal(sent.length, 2, 'a discarded batch is never sent');
  assert.equal(batch.pendingBytes, 0);
});

void test('16 calls issued together cross as one data frame, their 16 replies as one, each reply to its call', async (t) => {
  const mesh = new TestMesh();
  t.after(() => mesh.close());
  const [server, caller] = [await mesh.node(), await mesh.node()];
  const id = protocolId('batch-echo', '1.1.0');
  let serverMessages = 0;
  const limits = {
    name: 'batch-echo',
    maxRequestBytes: 1024,
    maxResponseBytes: 1024,
    timeoutMs: 5_000,
    maxCallsPerSession: 32,
    idleMs: 60_000,
  };
  await server.libp2p.handle(id, (stream, connection) => {
    stream.addEventListener('message', () => serverMessages++);
    serveSession(stream, connection, limits, async (body) => body);
  });
  await caller.libp2p.dial(multiaddr(addrOf(server)));
  const stream = await caller.libp2p.dialProtocol(server.peerId, id);
  let callerMessages = 0;
  stream.addEventListener('message', () => callerMessages++);
  const session = new ClientSession(stream, server.peerId.toString(), { ...limits, id }, () => {});
  const signal = AbortSignal.timeout(5_000);
  const calls = Array.from({ length: 16 }, (_, i) => session.call(Uint8Array.of(i, i + 1), signal));
  const replies = await Promise.all(calls);
  replies.forEach((reply, i) => assert.deepEqual([...reply], [RESPONSE_OK, i, i + 1]));
  assert.equal(serverMessages, 1, 'the 16 CALL frames arrived in one message');
  assert.equal(callerMessages, 1, 'the 16 REPLY frames arrived in one message');
  session.retire();
});

void test('a call whose frame was still queued when the session ended fails as never sent (requestSent false)', async (t) => {
  const mesh = new TestMesh();
  t.after(() => mesh.close());
  const [server, caller] = [await mesh.node(), await mesh.node()];
  const id = protocolId('batch-unsent', '1.1.0');
  let ran = 0;
  const limits = {
    name: 'batch-unsent',
    maxRequestBytes: 1024,
    maxResponseBytes: 1024,
    timeoutMs: 5_000,
    maxCallsPerSession: 32,
    idleMs: 60_000,
  };
  await server.libp2p.handle(id, (stream, connection) => {
    serveSession(stream, connection, limits, async (body) => {
      ran++;
      return body;
    });
  });
  await caller.libp2p.dial(multiaddr(addrOf(server)));
  const stream = await caller.libp2p.dialProtocol(server.peerId, id);
  const session = new ClientSession(stream, server.peerId.toString(), { ...limits, id }, () => {});
  const pending = session.call(Uint8Array.of(1), AbortSignal.timeout(5_000));
  session.abort(new Error('connection lost'));
  await assert.rejects(pending, (error: unknown) => {
    assert.ok(error instanceof PeerCallError);
    assert.equal(error.code, 'peer_unreachable');
    assert.equal(error.requestSent, false);
    return true;
  });
  await turn();
  assert.equal(ran, 0, 'the server never ran it');
});
