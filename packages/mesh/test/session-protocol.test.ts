/**
 * Session framing on real nodes over loopback TCP: concurrent calls on one stream complete out
 * of order and each gets its own answer; a call past its deadline is `timeout`, is cancelled at
 * the server, and the session goes on; framing faults end only the session that made them;
 * limits at and one over; a server that dies mid-call fails the waiting calls at once; idle
 * sessions close on both sides; fallback when the peer does not speak the protocol or the pool
 * is full. Every wait is bounded.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import type { ErrorCode } from '@gojinn/errors';
import type { Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { PeerCallError, defineProtocol } from '../src/request-response.ts';
import type { RequestHandler } from '../src/request-response.ts';
import { defineSessionProtocol } from '../src/session/protocol.ts';
import type { SessionProtocolSpec } from '../src/session/protocol.ts';
import { SessionPool } from '../src/session/pool.ts';
import type { SessionPoolOptions } from '../src/session/pool.ts';
import {
  FRAME_CALL,
  FRAME_CLOSE,
  FRAME_REPLY,
  FrameDecoder,
  SESSION_HEADER_BYTES,
  encodeFrame,
  parseFrame,
} from '../src/session/frames.ts';
import type { MeshNode } from '../src/node.ts';
import { TestMesh, addrOf, waitFor } from './support/nodes.ts';

const MAX = 64 * 1024;
const SPEC: SessionProtocolSpec = {
  name: 'sess-echo',
  version: '1.1.0',
  maxRequestBytes: MAX,
  maxResponseBytes: MAX,
  timeoutMs: 5_000,
};
/** No call in these tests may take longer than this. */
const HANG_MS = 8_000;

const mesh = new TestMesh();
after(() => mesh.close());

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytesOf = (value: string): Uint8Array => new TextEncoder().encode(value);

function fails(code: ErrorCode, pattern?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof GojinnError, `expected a GojinnError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  };
}

function unreached(code: ErrorCode, requestSent: boolean) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof PeerCallError, `expected a PeerCallError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.requestSent, requestSent, error.message);
    return true;
  };
}

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

/** Calls held in the server's handler until released: `hold:<name>` waits, anything else echoes. */
class Gate {
  readonly held = new Map<string, { release: () => void; signal: AbortSignal }>();
  readonly done: string[] = [];
  handler: RequestHandler = async (request, { signal }) => {
    const body = text(request);
    if (body.startsWith('hold:')) {
      await new Promise<void>((resolve) => {
        this.held.set(body, { release: resolve, signal });
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    this.done.push(body);
    return bytesOf(`${body}!`);
  };
}

async function serving(
  spec: SessionProtocolSpec = SPEC,
  gate = new Gate(),
): Promise<{ node: MeshNode; gate: Gate }> {
  const node = await mesh.node();
  await defineSessionProtocol(spec).handle(node.libp2p, gate.handler);
  return { node, gate };
}

async function caller(
  to: MeshNode,
  options: SessionPoolOptions = {},
  spec: SessionProtocolSpec = SPEC,
): Promise<{ node: MeshNode; pool: SessionPool }> {
  const node = await mesh.node();
  await node.libp2p.dial(multiaddr(addrOf(to)));
  return { node, pool: new SessionPool(node.libp2p, defineSessionProtocol(spec), options) };
}

/** Streams of `protocolId` open on `node`'s side of its connections to `peer`. */
function streamsOf(node: MeshNode, peer: MeshNode, protocolId: string): Stream[] {
  return node.libp2p
    .getConnections(peer.peerId)
    .flatMap((connection) => connection.streams)
    .filter((stream) => stream.protocol === protocolId);
}

void test('32 concurrent calls (maxCallsPerSession) share one session, complete in reverse order, and each gets its own answer', async () => {
  const server = await serving();
  const { node, pool } = await caller(server.node, { maxSessionsPerPeer: 1 });
  const N = 32;
  const calls = Array.from({ length: N }, (_, i) =>
    bounded(pool.request(server.node.peerId, bytesOf(`hold:${i}`), { timeoutMs: 5_000 }), `call ${i}`),
  );
  await waitFor(() => server.gate.held.size === N, 'every call running at the server at once');
  assert.equal(streamsOf(server.node, node, defineSessionProtocol(SPEC).id).length, 1, 'one stream');
  // Release last-sent first: replies leave in the opposite order of the calls.
  for (let i = N - 1; i >= 0; i--) {
    server.gate.held.get(`hold:${i}`)?.release();
    await new Promise((r) => setImmediate(r));
  }
  const answers = await Promise.all(calls);
  answers.forEach((answer, i) => assert.equal(text(answer), `hold:${i}!`));
  assert.equal(server.gate.done[0], `hold:${N - 1}`);
  assert.equal(server.gate.done[N - 1], 'hold:0');
  assert.equal(pool.sessionCount(server.node.peerId), 1);
});

void test('a call past its deadline is a timeout, is cancelled at the server, and the next call on the session works', async () => {
  const server = await serving();
  const { node, pool } = await caller(server.node, { maxSessionsPerPeer: 1 });
  assert.equal(text(await pool.request(server.node.peerId, bytesOf('warm'), { timeoutMs: 5_000 })), 'warm!');
  const [stream] = streamsOf(node, server.node, defineSessionProtocol(SPEC).id);
  await assert.rejects(
    bounded(pool.request(server.node.peerId, bytesOf('hold:slow'), { timeoutMs: 300 }), 'slow call'),
    (error: unknown) => {
      unreached('timeout', true)(error);
      assert.match((error as Error).message, /within 300 ms/);
      return true;
    },
  );
  // The CANCEL frame reached the server: the handler's signal fired.
  await waitFor(() => server.gate.held.get('hold:slow')?.signal.aborted === true, 'the cancel');
  // The same session answers the next call (and the late answer to the cancelled one, if any, is dropped).
  assert.equal(
    text(await pool.request(server.node.peerId, bytesOf('after'), { timeoutMs: 5_000 })),
    'after!',
  );
  assert.equal(streamsOf(node, server.node, defineSessionProtocol(SPEC).id)[0]?.id, stream?.id);
  // A caller's own abort: rejected with its reason, the session still fine.
  const controller = new AbortController();
  const aborted = pool.request(server.node.peerId, bytesOf('hold:aborted'), {
    timeoutMs: 5_000,
    signal: controller.signal,
  });
  await waitFor(() => server.gate.held.has('hold:aborted'), 'the aborted call running');
  controller.abort(new Error('caller gave up'));
  await assert.rejects(aborted, /caller gave up/);
  assert.equal(
    text(await pool.request(server.node.peerId, bytesOf('again'), { timeoutMs: 5_000 })),
    'again!',
  );
  assert.equal(pool.sessionCount(), 1);
});

void test('a frame over maxRequestBytes ends only that session: CLOSE naming the limit, then reset; other sessions and peers go on', async () => {
  const server = await serving();
  const id = defineSessionProtocol(SPEC).id;
  const honest = await caller(server.node);
  const rogue = await caller(server.node);
  // Calls of the honest peer and the rogue's own pool, running while the rogue misbehaves.
  const honestCall = honest.pool.request(server.node.peerId, bytesOf('hold:honest'), { timeoutMs: 5_000 });
  const rogueOwn = rogue.pool.request(server.node.peerId, bytesOf('hold:rogue-own'), { timeoutMs: 5_000 });
  await waitFor(() => server.gate.held.size === 2, 'both calls running');

  const stream = await rogue.node.libp2p.dialProtocol(server.node.peerId, id);
  const decoder = new FrameDecoder(1024, 'test');
  const frames: Uint8Array[] = [];
  stream.addEventListener('message', (event) => frames.push(...decoder.push(event.data)));
  const closed = new Promise<Error | undefined>((resolve) =>
    stream.addEventListener('close', (event) => resolve(event.error), { once: true }),
  );
  // A prefix one byte over the limit (with the header), and a little of the body: never read.
  stream.send(encodeFrame(FRAME_CALL, 1, new Uint8Array(MAX + 1)).subarray(0, 64));
  await bounded(closed, 'the reset');
  const close = parseFrame(frames[0] as Uint8Array);
  assert.equal(close?.kind, FRAME_CLOSE);
  const reason = JSON.parse(text(close?.payload ?? new Uint8Array())) as { code: string; message: string };
  assert.equal(reason.code, 'bad_request');
  assert.match(reason.message, new RegExp(`maxRequestBytes \\(${MAX + SESSION_HEADER_BYTES} bytes`));

  for (const name of ['hold:honest', 'hold:rogue-own']) server.gate.held.get(name)?.release();
  assert.equal(text(await bounded(honestCall, 'honest call')), 'hold:honest!');
  assert.equal(text(await bounded(rogueOwn, 'the rogue’s other session')), 'hold:rogue-own!');
});

void test('framing faults from a caller — a header cut short, an id not above the last, an unknown kind — end that session', async () => {
  const server = await serving();
  const id = defineSessionProtocol(SPEC).id;
  const { node } = await caller(server.node);
  const send = async (wire: Uint8Array[]): Promise<{ code: string; message: string }> => {
    const stream = await node.libp2p.dialProtocol(server.node.peerId, id);
    const decoder = new FrameDecoder(1024, 'test');
    const frames: Uint8Array[] = [];
    stream.addEventListener('message', (event) => frames.push(...decoder.push(event.data)));
    const closed = new Promise<void>((resolve) =>
      stream.addEventListener('close', () => resolve(), { once: true }),
    );
    for (const bytes of wire) stream.send(bytes);
    await bounded(closed, 'the reset');
    const last = parseFrame(frames.at(-1) as Uint8Array);
    assert.equal(last?.kind, FRAME_CLOSE);
    return JSON.parse(text(last?.payload ?? new Uint8Array())) as { code: string; message: string };
  };
  assert.match((await send([Uint8Array.of(3, FRAME_CALL, 0, 0)])).message, /shorter than its 5-byte header/);
  const twice = await send([
    encodeFrame(FRAME_CALL, 5, bytesOf('a')).subarray(),
    encodeFrame(FRAME_CALL, 5, bytesOf('b')).subarray(),
  ]);
  assert.equal(twice.code, 'bad_request');
  assert.match(twice.message, /call id 5 is not above the previous one \(5\)/);
  assert.match((await send([encodeFrame(0x7f, 1).subarray()])).message, /kind 127/);
  // The server still serves a proper caller.
  const pool = new SessionPool(node.libp2p, defineSessionProtocol(SPEC));
  assert.equal(text(await pool.request(server.node.peerId, bytesOf('fine'), { timeoutMs: 5_000 })), 'fine!');
});

void test('limits: a request of exactly maxRequestBytes is served, one more is refused before sending; a response over maxResponseBytes is output_limit', async () => {
  const gate = new Gate();
  const node = await mesh.node();
  let served = 0;
  await defineSessionProtocol(SPEC).handle(node.libp2p, async (request, context) => {
    served++;
    if (text(request.subarray(0, 4)) === 'big:') return new Uint8Array(MAX + 1);
    if (request.byteLength === MAX) return bytesOf(`got ${request.byteLength}`);
    return gate.handler(request, context);
  });
  const { pool } = await caller(node);
  assert.equal(
    text(await pool.request(node.peerId, new Uint8Array(MAX).fill(0x61), { timeoutMs: 5_000 })),
    `got ${MAX}`,
  );
  await assert.rejects(
    pool.request(node.peerId, new Uint8Array(MAX + 1), { timeoutMs: 5_000 }),
    fails('bad_request', /maxRequestBytes \(65536 bytes\)/),
  );
  assert.equal(served, 1, 'the oversized request never reached the server');
  await assert.rejects(
    pool.request(node.peerId, bytesOf('big:'), { timeoutMs: 5_000 }),
    fails('output_limit', /maxResponseBytes/),
  );
  assert.equal(text(await pool.request(node.peerId, bytesOf('next'), { timeoutMs: 5_000 })), 'next!');
});

void test('a server that calls more than maxCallsPerSession at once gets overloaded for the extra call; at the limit all run', async () => {
  const server = await serving({ ...SPEC, maxCallsPerSession: 2 });
  // A caller configured for more than the server takes (one session).
  const { pool } = await caller(server.node, { maxSessionsPerPeer: 1, maxCallsPerSession: 3 });
  const call = (name: string) => pool.request(server.node.peerId, bytesOf(name), { timeoutMs: 5_000 });
  const first = call('hold:1');
  const second = call('hold:2');
  await waitFor(() => server.gate.held.size === 2, 'two calls running (the limit)');
  await assert.rejects(
    call('hold:3'),
    fails('overloaded', /2 sess-echo calls already run on this session \(maxCallsPerSession\)/),
  );
  for (const held of server.gate.held.values()) held.release();
  assert.deepEqual((await Promise.all([first, second])).map(text), ['hold:1!', 'hold:2!']);
});

void test('lying servers: a reply to an id never sent, or a frame over maxResponseBytes, fails the waiting calls with bad_response and resets', async () => {
  for (const lie of ['unknown id', 'oversized'] as const) {
    const node = await mesh.node();
    const id = defineSessionProtocol(SPEC).id;
    await node.libp2p.handle(id, (stream) => {
      stream.addEventListener(
        'message',
        () => {
          if (lie === 'unknown id') stream.send(encodeFrame(FRAME_REPLY, 99, Uint8Array.of(0)));
          // A length prefix far over the caller's limit; the body never comes.
          else stream.send(Uint8Array.of(0xff, 0xff, 0xff, 0x7f));
        },
        { once: true },
      );
    });
    const { pool } = await caller(node);
    await assert.rejects(
      bounded(pool.request(node.peerId, bytesOf('x'), { timeoutMs: 5_000 }), lie),
      fails('bad_response', lie === 'unknown id' ? /call id 99, which was never sent/ : /over the limit/),
    );
    await waitFor(() => pool.sessionCount() === 0, 'the session dropped');
  }
});

void test('the server dies with calls waiting: they fail at once with requestSent true; the next call is unreachable before sending', async () => {
  const server = await serving();
  const { pool } = await caller(server.node, { maxSessionsPerPeer: 2 });
  const waiting = [1, 2, 3].map((i) =>
    bounded(
      pool.request(server.node.peerId, bytesOf(`hold:${i}`), { timeoutMs: 6_000 }),
      `waiting ${i}`,
    ).then(
      () => assert.fail('the server died'),
      (error: unknown) => error,
    ),
  );
  await waitFor(() => server.gate.held.size === 3, 'three calls running');
  const stopped = performance.now();
  await mesh.stop(server.node);
  for (const error of await Promise.all(waiting)) {
    assert.ok(unreached('peer_unreachable', true)(error));
    assert.match((error as Error).message, /may have run/);
  }
  // Well before the calls' own deadline: the end of the session failed them.
  assert.ok(performance.now() - stopped < 5_000);
  await assert.rejects(
    bounded(pool.request(server.node.peerId, bytesOf('after'), { timeoutMs: 3_000 }), 'after'),
    unreached('peer_unreachable', false),
  );
});

void test('idle sessions close: the caller’s after its idleMs, the server’s after its own; a later call opens a new one', async () => {
  const server = await serving({ ...SPEC, idleMs: 200 });
  const id = defineSessionProtocol(SPEC).id;
  const quick = await caller(server.node, { idleMs: 100 });
  assert.equal(text(await quick.pool.request(server.node.peerId, bytesOf('a'), { timeoutMs: 5_000 })), 'a!');
  assert.equal(quick.pool.sessionCount(), 1);
  await waitFor(() => quick.pool.sessionCount() === 0, 'the caller closing its idle session');
  await waitFor(() => streamsOf(server.node, quick.node, id).length === 0, 'the server side closed too');

  const forgetful = await caller(server.node, { idleMs: 60_000 });
  assert.equal(
    text(await forgetful.pool.request(server.node.peerId, bytesOf('b'), { timeoutMs: 5_000 })),
    'b!',
  );
  await waitFor(() => forgetful.pool.sessionCount() === 0, 'the server closing an idle session');
  assert.equal(
    text(await forgetful.pool.request(server.node.peerId, bytesOf('c'), { timeoutMs: 5_000 })),
    'c!',
  );
  assert.equal(forgetful.pool.sessionCount(), 1);
});

void test('fallback: a peer without the session protocol, and calls beyond a full pool, go to the fallback; without one they fail before sending', async () => {
  const old = await mesh.node();
  await defineProtocol({ ...SPEC, version: '1.0.0' }).handle(old.libp2p, async (request) =>
    bytesOf(`${text(request)} (1.0.0)`),
  );
  const { node, pool } = await caller(old);
  const oneStream = defineProtocol({ ...SPEC, version: '1.0.0' });
  const fallback = (options: { signal?: AbortSignal }) =>
    oneStream.request(node.libp2p, old.peerId, bytesOf('x'), options);
  for (let i = 0; i < 3; i++) {
    assert.equal(
      text(await pool.request(old.peerId, bytesOf('x'), { timeoutMs: 5_000, fallback })),
      'x (1.0.0)',
    );
  }
  assert.equal(pool.sessionCount(), 0);
  await assert.rejects(
    pool.request(old.peerId, bytesOf('x'), { timeoutMs: 5_000 }),
    unreached('peer_unreachable', false),
  );

  const server = await serving();
  const full = await caller(server.node, { maxSessionsPerPeer: 1, maxCallsPerSession: 1 });
  let fellBack = 0;
  const first = full.pool.request(server.node.peerId, bytesOf('hold:only'), { timeoutMs: 5_000 });
  await waitFor(() => server.gate.held.size === 1, 'the one slot taken');
  const overflow = await full.pool.request(server.node.peerId, bytesOf('y'), {
    timeoutMs: 5_000,
    fallback: async () => {
      fellBack++;
      return bytesOf('via fallback');
    },
  });
  assert.equal(text(overflow), 'via fallback');
  await assert.rejects(
    full.pool.request(server.node.peerId, bytesOf('z'), { timeoutMs: 5_000 }),
    fails('overloaded'),
  );
  server.gate.held.get('hold:only')?.release();
  assert.equal(text(await first), 'hold:only!');
  assert.equal(fellBack, 1);
});

void test('maxSessionsPerConnection: a peer may hold exactly that many sessions; one more is reset before it is served, other peers unaffected', async () => {
  const server = await serving({ ...SPEC, maxSessionsPerConnection: 3 });
  const id = defineSessionProtocol(SPEC).id;
  const rogue = await caller(server.node);
  const honest = await caller(server.node);
  const open = async (): Promise<Stream> => rogue.node.libp2p.dialProtocol(server.node.peerId, id);
  const ask = async (stream: Stream, callId: number, body: string): Promise<string> => {
    const decoder = new FrameDecoder(1024, 'test');
    const answer = new Promise<string>((resolve, reject) => {
      stream.addEventListener('message', (event) => {
        const [bytes] = decoder.push(event.data);
        if (bytes !== undefined) resolve(text(parseFrame(bytes)?.payload.subarray(1) ?? new Uint8Array()));
      });
      stream.addEventListener('close', (event) => reject(event.error ?? new Error('closed')), { once: true });
    });
    stream.send(encodeFrame(FRAME_CALL, callId, bytesOf(body)));
    return bounded(answer, `session call ${body}`);
  };
  const streams = [await open(), await open(), await open()];
  for (const [i, stream] of streams.entries()) assert.equal(await ask(stream, 1, `s${i}`), `s${i}!`);
  const extra = await open().catch((error: unknown) => error);
  if (extra instanceof Error) {
    assert.match(extra.message, /Too many|reset|closed/i);
  } else {
    await assert.rejects(ask(extra as Stream, 1, 'fourth'));
  }
  assert.equal(
    text(await honest.pool.request(server.node.peerId, bytesOf('honest'), { timeoutMs: 5_000 })),
    'honest!',
  );
  // The three within the limit still work.
  assert.equal(await ask(streams[0] as Stream, 2, 'again'), 'again!');
});

void test('a server that closes its side before running a call (idle close racing the call): requestSent false, retried once on a fresh session', async () => {
  const node = await mesh.node();
  const id = defineSessionProtocol(SPEC).id;
  let opened = 0;
  await node.libp2p.handle(id, (stream) => {
    const first = ++opened === 1;
    const decoder = new FrameDecoder(1024, 'test');
    stream.addEventListener('message', (event) => {
      for (const bytes of decoder.push(event.data)) {
        const frame = parseFrame(bytes);
        if (frame === null) continue;
        // The first session is closed by the server without running what arrived.
        if (first) void stream.close();
        else stream.send(encodeFrame(FRAME_REPLY, frame.id, Uint8Array.of(0), bytesOf('second session')));
      }
    });
  });
  const { pool } = await caller(node);
  assert.equal(
    text(await bounded(pool.request(node.peerId, bytesOf('x'), { timeoutMs: 5_000 }), 'the retried call')),
    'second session',
  );
  assert.equal(opened, 2);
  // Without a second chance (every session closes early) the call fails, and may go elsewhere.
  const closing = await mesh.node();
  await closing.libp2p.handle(id, (stream) => {
    stream.addEventListener('message', () => void stream.close(), { once: true });
  });
  const other = await caller(closing);
  await assert.rejects(
    bounded(other.pool.request(closing.peerId, bytesOf('y'), { timeoutMs: 5_000 }), 'twice closed'),
    unreached('peer_unreachable', false),
  );
});

void test('a caller that keeps calling but stops reading its replies has its session reset once more than maxCallsPerSession replies wait unsent', async () => {
  const node = await mesh.node();
  const spec = { ...SPEC, maxCallsPerSession: 2 };
  let served = 0;
  await defineSessionProtocol(spec).handle(node.libp2p, async () => {
    served++;
    return new Uint8Array(MAX).fill(0x62);
  });
  const rogue = await caller(node);
  const honest = await caller(node);
  const stream = await rogue.node.libp2p.dialProtocol(node.peerId, defineSessionProtocol(spec).id);
  // Stop reading: the muxer stops granting the server window, so replies pile up at the server.
  stream.pause();
  const reset = new Promise<void>((resolve) =>
    stream.addEventListener('close', () => resolve(), { once: true }),
  );
  const CALLS = 40;
  for (let id = 1; id <= CALLS && stream.writeStatus === 'writable'; id++) {
    stream.send(encodeFrame(FRAME_CALL, id, bytesOf('x')));
    await waitFor(() => served >= id || stream.writeStatus !== 'writable', `call ${id} served`);
  }
  await bounded(reset, 'the reset of a session whose replies are not read');
  assert.ok(served < CALLS, `the server stopped before running all ${CALLS} calls (ran ${served})`);
  // Another peer is served as usual.
  const answer = await honest.pool.request(node.peerId, bytesOf('y'), { timeoutMs: 5_000 });
  assert.equal(answer.byteLength, MAX);
});

void test('a server that stops reading its session: the caller gives the session up once more than maxCallsPerSession calls wait unsent', async () => {
  const node = await mesh.node();
  const id = defineSessionProtocol(SPEC).id;
  const streams: Stream[] = [];
  await node.libp2p.handle(id, (stream) => {
    streams.push(stream);
    stream.pause();
  });
  const { pool } = await caller(node, { maxSessionsPerPeer: 1, maxCallsPerSession: 2 });
  const outcomes: string[] = [];
  for (let i = 0; i < 16; i++) {
    const outcome = await pool.request(node.peerId, new Uint8Array(MAX).fill(0x63), { timeoutMs: 100 }).then(
      () => 'ok',
      (error: unknown) =>
        error instanceof PeerCallError ? `${error.code}/${error.requestSent}` : String(error),
    );
    outcomes.push(outcome);
  }
  assert.ok(!outcomes.includes('ok'));
  assert.ok(
    outcomes.every((o) => o === 'timeout/true' || o === 'peer_unreachable/true'),
    outcomes.join(),
  );
  // The pool gave a full session up and opened another one, instead of queuing 16 × 64 KiB.
  assert.ok(streams.length >= 2, `sessions opened: ${streams.length}`);
});
