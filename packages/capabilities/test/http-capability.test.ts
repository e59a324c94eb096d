/**
 * net.http through the real stack: a guest (the scripted driver) calls gojinn.http_request in a
 * pool worker, the HostCallDispatcher routes it to HttpCapability on the main thread, which
 * talks to a loopback server. Loopback is reachable only where a test allows it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HOST_ERRNO } from '@gojinn/abi';
import type { CapabilityRights } from '../src/handler.ts';
import { httpCapability } from '../src/http/http-handler.ts';
import { Harness } from './support/harness.ts';
import { startServer, type TestServer } from './http-helpers.ts';

const FUNCTIONS = ['http_request', 'result_take'];
let harness: Harness;
let server: TestServer;

before(async () => {
  server = await startServer((req, res) => {
    if (req.url === '/big') res.end(Buffer.alloc(40_000, 0x62));
    else if (req.url === '/hang') res.flushHeaders();
    else if (req.url === '/to-loopback') res.writeHead(302, { location: 'http://127.0.0.1:9/' }).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello ${req.method} ${req.url}`);
  }, '127.0.0.2');
  harness = new Harness({
    // 127.0.0.2 is the test's "public" origin; every other loopback address stays refused.
    handlers: [httpCapability({ allowedRanges: ['127.0.0.2/32'], limits: { timeoutMs: 300 } })],
  });
});

after(async () => {
  await harness.close();
  await server.close();
});

function rights(hosts = [server.origin]): CapabilityRights {
  return { 'net.http': { hosts } };
}

function call(request: unknown, cap = 64 * 1024) {
  return { fn: 'http_request', arg: JSON.stringify(request), cap };
}

function decode(out: Uint8Array | undefined): {
  status: number;
  headers: Record<string, string>;
  body: string;
  url: string;
  redirects: number;
} {
  assert.ok(out !== undefined, 'the call wrote a response');
  return JSON.parse(Buffer.from(out).toString()) as never;
}

void test('a granted origin answers the guest, and the invocation is marked non-deterministic', async () => {
  const { outcome, results } = await harness.run(
    FUNCTIONS,
    [call({ url: `${server.origin}/hi?x=1` })],
    rights(),
  );
  assert.ok(outcome.ok, JSON.stringify(outcome.error));
  assert.equal(outcome.deterministic, false);
  const response = decode(results?.[0]?.out);
  assert.equal(response.status, 200);
  assert.equal(Buffer.from(response.body, 'base64').toString(), 'hello GET /hi?x=1');
  assert.equal(response.headers['content-type'], 'text/plain');
  assert.equal(response.url, `${server.origin}/hi?x=1`);
});

void test('an origin outside the scope, loopback and a redirect to loopback are DENIED, logged without the URL', async () => {
  const before = harness.records.length;
  const { outcome, results } = await harness.run(
    FUNCTIONS,
    [
      call({ url: 'http://127.0.0.3:8080/' }),
      call({ url: 'http://127.0.0.1:9/' }),
      call({ url: `${server.origin}/to-loopback` }),
    ],
    rights([server.origin, 'http://127.0.0.1:9']),
  );
  assert.ok(outcome.ok);
  assert.equal(outcome.deterministic, false, 'a denied call is still a call to the network');
  assert.deepEqual(
    results?.map((r) => r.result),
    [-HOST_ERRNO.DENIED, -HOST_ERRNO.DENIED, -HOST_ERRNO.DENIED],
  );
  const security = harness.records.slice(before).filter((record) => record.type === 'security');
  assert.deepEqual(
    security.map((record) => record.reason),
    [
      'origin outside net.http hosts',
      'address is loopback (127.0.0.0/8)',
      'redirect target address is loopback (127.0.0.0/8)',
    ],
  );
  for (const record of security) {
    assert.equal(record.capability, 'net.http');
    assert.equal(record.function, 'http_request');
    assert.doesNotMatch(JSON.stringify(record), /127\.0\.0\.[123]|8080|to-loopback/);
  }
});

void test('a response larger than the guest buffer comes back through result_take', async () => {
  const { outcome, results } = await harness.run(
    FUNCTIONS,
    [
      call({ url: `${server.origin}/big` }, 100),
      { fn: 'result_take', cap: 0 },
      { fn: 'result_take', cap: 200_000 },
    ],
    rights(),
  );
  assert.ok(outcome.ok);
  assert.equal(results?.[0]?.result, -HOST_ERRNO.TOO_SMALL);
  const size = results?.[1]?.result ?? 0;
  assert.ok(size > 40_000);
  assert.equal(results?.[2]?.result, size);
  assert.equal(Buffer.from(decode(results?.[2]?.out).body, 'base64').byteLength, 40_000);
});

void test('the node timeout gives the guest TIMEOUT and the guest runs on; a malformed request is INVALID', async () => {
  const { outcome, results } = await harness.run(
    FUNCTIONS,
    [
      call({ url: `${server.origin}/hang` }),
      call({ url: server.origin, headers: { host: 'evil.test' } }),
      call('not an object'),
    ],
    rights(),
    { timeoutMs: 5000 },
  );
  assert.ok(outcome.ok, JSON.stringify(outcome.error));
  assert.deepEqual(
    results?.map((r) => r.result),
    [-HOST_ERRNO.TIMEOUT, -HOST_ERRNO.INVALID, -HOST_ERRNO.INVALID],
  );
});

void test('the invocation deadline stops a call that outlives it: the guest gets TIMEOUT, the upstream socket is closed', async () => {
  let closed = 0;
  const hanging = await startServer((_req, res) => {
    res.socket?.once('close', () => closed++);
    res.flushHeaders();
  }, '127.0.0.2');
  const patient = new Harness({ handlers: [httpCapability({ allowedRanges: ['127.0.0.2/32'] })] });
  try {
    // A first run starts the pool's worker, so the deadline below is not spent starting it.
    await patient.run(FUNCTIONS, [], rights([hanging.origin]));
    // The node's call timeout (10 s default) is far away: the dispatcher's deadline ends the call.
    const { outcome, results } = await patient.run(
      FUNCTIONS,
      [call({ url: `${hanging.origin}/` })],
      rights([hanging.origin]),
      {
        // Far enough that a loaded machine still reaches the call before it; far below timeoutMs.
        timeoutMs: 10_000,
        deadlineMs: 1000,
      },
    );
    assert.ok(outcome.ok, JSON.stringify(outcome.error));
    assert.equal(results?.[0]?.result, -HOST_ERRNO.TIMEOUT);
    assert.equal(hanging.requests.length, 1, 'the request was under way when the deadline came');
    assert.ok(outcome.durationMs < 10_000, 'the call did not wait for the sandbox timeout');
    for (let waited = 0; closed === 0 && waited < 5000; waited += 10)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(closed, 1, 'the upstream connection was closed');
  } finally {
    await patient.close();
    await hanging.close();
  }
});

void test('a module without net.http in its rights cannot link http_request', async () => {
  const { outcome } = await harness.run(FUNCTIONS, [call({ url: server.origin })], {});
  assert.equal(outcome.ok, false);
  assert.equal(outcome.error?.code, 'capability_denied');
  assert.match(outcome.error?.message ?? '', /http_request needs capability net\.http/);
  assert.equal(server.requests.filter((r) => r.url === '/').length, 0);
});
