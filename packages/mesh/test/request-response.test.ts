import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { GojinnError } from '@gojinn/errors';
import type { ErrorCode } from '@gojinn/errors';
import {
  defineProtocol,
  protocolId,
  MAX_ERROR_MESSAGE_CHARS,
  PeerCallError,
} from '../src/request-response.ts';
import type { ProtocolSpec } from '../src/request-response.ts';
import { multiaddr } from '@multiformats/multiaddr';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { MeshNode } from '../src/node.ts';
import { TestMesh, addrOf } from './support/nodes.ts';

function at(node: MeshNode): Multiaddr {
  return multiaddr(addrOf(node));
}

const MAX = 64 * 1024;
const SPEC: ProtocolSpec = {
  name: 'echo-hash',
  maxRequestBytes: MAX,
  maxResponseBytes: MAX,
  timeoutMs: 5000,
};

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

function sha256(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}

/** Serves `spec` on a fresh node with a handler that answers the request's SHA-256 and counts calls. */
async function server(mesh: TestMesh, spec: ProtocolSpec = SPEC) {
  const node = await mesh.node();
  const seen: number[] = [];
  await defineProtocol(spec).handle(node.libp2p, async (request) => {
    seen.push(request.byteLength);
    return sha256(request);
  });
  return { node, seen };
}

void test('protocol ids are /gojinn/<name>/<version>; bad names and versions are refused', () => {
  assert.equal(protocolId('fetch'), '/gojinn/fetch/1.0.0');
  assert.equal(defineProtocol({ ...SPEC, version: '2.1.0' }).id, '/gojinn/echo-hash/2.1.0');
  assert.throws(() => protocolId('Fetch'), fails('bad_request', /protocol name/));
  assert.throws(() => protocolId('a/b'), fails('bad_request', /protocol name/));
  assert.throws(() => protocolId('fetch', '1'), fails('bad_request', /MAJOR.MINOR.PATCH/));
  assert.throws(
    () => defineProtocol({ ...SPEC, maxRequestBytes: 0 }),
    fails('bad_request', /maxRequestBytes/),
  );
});

void test('a request frame at maxRequestBytes is served; one byte over resets that stream and the peer’s other calls still work', async () => {
  const mesh = new TestMesh();
  try {
    const { node: a, seen } = await server(mesh);
    const b = await mesh.node();
    const honest = defineProtocol(SPEC);
    // The same protocol as a misbehaving peer would speak it: it believes in a larger limit.
    const greedy = defineProtocol({ ...SPEC, maxRequestBytes: MAX + 100 });

    const atLimit = new Uint8Array(MAX).fill(7);
    assert.deepEqual(await honest.request(b.libp2p, at(a), atLimit), sha256(atLimit));
    assert.deepEqual(seen, [MAX]);

    // A slow honest call in flight on the same connection while the oversized one is refused.
    const inFlight = honest.request(b.libp2p, at(a), new Uint8Array(1000).fill(1));
    const over = new Uint8Array(MAX + 1).fill(9);
    await assert.rejects(greedy.request(b.libp2p, at(a), over), (error: unknown) => {
      assert.ok(error instanceof GojinnError);
      // The server names the limit when its reply gets through before the reset; otherwise the
      // caller sees the reset itself.
      assert.ok(
        (error.code === 'bad_request' && /maxRequestBytes \(65536 bytes\)/.test(error.message)) ||
          error.code === 'peer_unreachable',
        `${error.code}: ${error.message}`,
      );
      return true;
    });
    assert.deepEqual(await inFlight, sha256(new Uint8Array(1000).fill(1)));
    assert.ok(!seen.includes(MAX + 1), 'the handler never saw the oversized request');
    // The connection survives: the same peer's next calls work.
    for (let i = 0; i < 3; i++) {
      const small = new Uint8Array([i]);
      assert.deepEqual(await honest.request(b.libp2p, at(a), small), sha256(small));
    }
    assert.equal(b.libp2p.getConnections(a.peerId).length, 1);
  } finally {
    await mesh.close();
  }
});

void test('a client refuses to send a request over maxRequestBytes before opening a stream', async () => {
  const mesh = new TestMesh();
  try {
    const { node: a, seen } = await server(mesh);
    const b = await mesh.node();
    await assert.rejects(
      defineProtocol(SPEC).request(b.libp2p, at(a), new Uint8Array(MAX + 1)),
      fails('bad_request', /request of 65537 bytes exceeds maxRequestBytes/),
    );
    assert.deepEqual(seen, []);
  } finally {
    await mesh.close();
  }
});

void test('a response body at maxResponseBytes is delivered; a handler returning one byte more gets output_limit', async () => {
  const mesh = new TestMesh();
  try {
    const a = await mesh.node();
    const b = await mesh.node();
    const proto = defineProtocol(SPEC);
    await proto.handle(
      a.libp2p,
      async (request) => new Uint8Array(new DataView(request.buffer, request.byteOffset).getUint32(0)),
    );
    const ask = (n: number) => {
      const req = new Uint8Array(4);
      new DataView(req.buffer).setUint32(0, n);
      return proto.request(b.libp2p, at(a), req);
    };
    assert.equal((await ask(MAX)).byteLength, MAX);
    await assert.rejects(
      ask(MAX + 1),
      fails('output_limit', /response of 65537 bytes exceeds maxResponseBytes/),
    );
    assert.equal((await ask(0)).byteLength, 0);
  } finally {
    await mesh.close();
  }
});

void test('a peer sending a response over the caller’s maxResponseBytes gets bad_response, and the caller stays usable', async () => {
  const mesh = new TestMesh();
  try {
    const a = await mesh.node();
    const b = await mesh.node();
    // The server believes in a much larger limit than the caller.
    await defineProtocol({ ...SPEC, maxResponseBytes: MAX * 4 }).handle(
      a.libp2p,
      async () => new Uint8Array(MAX * 2),
    );
    const caller = defineProtocol(SPEC);
    await assert.rejects(caller.request(b.libp2p, at(a), new Uint8Array(1)), fails('bad_response', /limit/));
    await assert.rejects(caller.request(b.libp2p, at(a), new Uint8Array(1)), fails('bad_response'));
  } finally {
    await mesh.close();
  }
});

void test('error codes cross the wire; other errors become internal without their text', async () => {
  const mesh = new TestMesh();
  try {
    const a = await mesh.node();
    const b = await mesh.node();
    const proto = defineProtocol(SPEC);
    await proto.handle(a.libp2p, async (request) => {
      const what = new TextDecoder().decode(request);
      if (what === 'deny') throw new GojinnError('peer_denied', `peer is not admitted`);
      if (what === 'long') throw new GojinnError('not_found', 'x'.repeat(MAX_ERROR_MESSAGE_CHARS + 50));
      throw new Error('/secret/path/on/the/server');
    });
    const send = (s: string) => proto.request(b.libp2p, at(a), new TextEncoder().encode(s));
    await assert.rejects(send('deny'), fails('peer_denied', /^peer is not admitted$/));
    await assert.rejects(send('long'), (error: unknown) => {
      assert.ok(error instanceof GojinnError && error.code === 'not_found');
      assert.equal(error.message.length, MAX_ERROR_MESSAGE_CHARS);
      return true;
    });
    await assert.rejects(send('boom'), fails('internal', /^internal error$/));
  } finally {
    await mesh.close();
  }
});

void test('the per-stream deadline: the caller gets timeout and the handler’s signal is aborted', async () => {
  const mesh = new TestMesh();
  try {
    const a = await mesh.node();
    const b = await mesh.node();
    const spec = { ...SPEC, timeoutMs: 300 };
    let handlerAborted: Promise<void> | undefined;
    await defineProtocol(spec).handle(a.libp2p, async (_request, { signal }) => {
      handlerAborted = new Promise((resolve) =>
        signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      await handlerAborted;
      return new Uint8Array(1);
    });
    await assert.rejects(
      defineProtocol(spec).request(b.libp2p, at(a), new Uint8Array(1)),
      unreached('timeout', true),
    );
    assert.ok(handlerAborted);
    await handlerAborted; // resolves: the server's deadline fired too (the test would hang otherwise)
  } finally {
    await mesh.close();
  }
});

void test(
  'a caller’s own abort signal cancels the call with its reason, and aborts the handler’s signal',
  { timeout: 30_000 },
  async () => {
    const mesh = new TestMesh();
    try {
      const a = await mesh.node();
      const b = await mesh.node();
      // The server's own deadline is far away: only the caller going away can abort the handler.
      const spec = { ...SPEC, timeoutMs: 600_000 };
      let entered!: () => void;
      const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
      let sawAbort!: () => void;
      const handlerAborted = new Promise<void>((resolve) => (sawAbort = resolve));
      await defineProtocol(spec).handle(
        a.libp2p,
        (_request, { signal }) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener(
              'abort',
              () => {
                sawAbort();
                reject(new Error('stopped'));
              },
              { once: true },
            );
            entered();
          }),
      );
      const controller = new AbortController();
      const call = assert.rejects(
        defineProtocol(spec).request(b.libp2p, at(a), new Uint8Array(1), { signal: controller.signal }),
        /caller gave up/,
      );
      await handlerEntered;
      controller.abort(new Error('caller gave up'));
      await call;
      await handlerAborted; // the test times out (fails) if the server never notices
    } finally {
      await mesh.close();
    }
  },
);

void test('calling a peer that does not serve the protocol, or a stopped peer, is peer_unreachable', async () => {
  const mesh = new TestMesh();
  try {
    const a = await mesh.node();
    const b = await mesh.node();
    await assert.rejects(
      defineProtocol(SPEC).request(b.libp2p, at(a), new Uint8Array(1)),
      unreached('peer_unreachable', false),
    );
    const { node: c } = await server(mesh);
    const addr = c.libp2p.getMultiaddrs()[0];
    assert.ok(addr);
    await mesh.stop(c);
    await assert.rejects(
      defineProtocol(SPEC).request(b.libp2p, addr, new Uint8Array(1)),
      unreached('peer_unreachable', false),
    );
  } finally {
    await mesh.close();
  }
});

void test('a server that stops while handling a call: peer_unreachable with requestSent, and nothing hangs', async () => {
  const mesh = new TestMesh();
  try {
    const a = await mesh.node();
    const b = await mesh.node();
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    await defineProtocol(SPEC).handle(
      a.libp2p,
      (_request, { signal }) =>
        new Promise((_resolve, reject) => {
          entered();
          signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true });
        }),
    );
    const call = assert.rejects(
      defineProtocol(SPEC).request(b.libp2p, at(a), new Uint8Array(1)),
      unreached('peer_unreachable', true),
    );
    await handlerEntered;
    await mesh.stop(a);
    await call;
  } finally {
    await mesh.close();
  }
});

void test('maxInboundStreams per connection: calls at the limit run, one more is refused, and another peer’s calls are unaffected', async () => {
  const mesh = new TestMesh();
  try {
    const LIMIT = 4;
    const spec = { ...SPEC, maxInboundStreams: LIMIT };
    const a = await mesh.node();
    const flooder = await mesh.node();
    const other = await mesh.node();
    const running: Array<() => void> = [];
    let allRunning!: () => void;
    const limitReached = new Promise<void>((resolve) => (allRunning = resolve));
    const proto = defineProtocol(spec);
    await proto.handle(a.libp2p, async (request) => {
      if (request[0] === 1) {
        // A held call: it waits until the test releases it.
        await new Promise<void>((resolve) => {
          running.push(resolve);
          if (running.length === LIMIT) allRunning();
        });
      }
      return sha256(request);
    });
    const held = Array.from({ length: LIMIT }, () =>
      proto.request(flooder.libp2p, at(a), new Uint8Array([1])),
    );
    await limitReached;
    assert.equal(running.length, LIMIT);
    await assert.rejects(
      proto.request(flooder.libp2p, at(a), new Uint8Array([2])),
      unreached('peer_unreachable', false),
    );
    assert.equal(running.length, LIMIT, 'the refused call never reached the handler');
    // Another peer has its own connection and its own stream budget.
    assert.deepEqual(
      await proto.request(other.libp2p, at(a), new Uint8Array([3])),
      sha256(new Uint8Array([3])),
    );
    for (const release of running) release();
    for (const call of held) assert.deepEqual(await call, sha256(new Uint8Array([1])));
    // Once the held calls end, the flooder may call again.
    assert.deepEqual(
      await proto.request(flooder.libp2p, at(a), new Uint8Array([4])),
      sha256(new Uint8Array([4])),
    );
  } finally {
    await mesh.close();
  }
});
