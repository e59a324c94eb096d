/**
 * The gateway's request limits, each at the limit and one past it, on a real node: body size
 * (413), slow bodies and slow headers (408), malformed and too many or too large headers
 * (400, 431), URL length (414), invocations in flight (503).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readExample } from '../../test/support/guests.ts';
import { createGateway, createLocalResolver, listen, type GatewayLimits } from '../src/gateway/index.ts';
import { call, errorCode, openNode, rawExchange, serveNode, type Node } from './gateway-fixtures.ts';

let node: Node;
const closers: (() => Promise<void>)[] = [];

const LIMITS: Partial<GatewayLimits> = {
  maxBodyBytes: 1024,
  bodyTimeoutMs: 300,
  headersTimeoutMs: 500,
  maxHeaderCount: 20,
  maxHeaderBytes: 4096,
  maxUrlBytes: 256,
};

async function gatewayUrl(limits: Partial<GatewayLimits> = LIMITS): Promise<string> {
  const { listening } = await serveNode(node, { publicFunctions: ['inspect'], limits });
  closers.push(() => listening.close());
  return listening.url;
}

before(async () => {
  node = await openNode();
  await node.install('inspect', readExample('inspect'));
});
after(async () => {
  for (const close of closers) await close();
  await node.close();
});

/** Status line and JSON error code of a raw HTTP response. */
function parseRaw(raw: string): { status: number; code: string | undefined } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  const code = /"code":"([a-z_]+)"/.exec(raw)?.[1];
  return { status, code };
}

const head = (length: number | 'chunked'): string =>
  `POST /fn/inspect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${
    length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`
  }\r\n\r\n`;

void test('a body of exactly maxBodyBytes is served; one byte more is 413, declared or streamed', async () => {
  const base = await gatewayUrl();
  const atLimit = await call(base, '/fn/inspect', { method: 'POST', body: 'a'.repeat(1024) });
  assert.equal(atLimit.status, 200, atLimit.body);
  assert.equal((JSON.parse(atLimit.body) as { body: string }).body.length, 1024);

  const declared = await call(base, '/fn/inspect', { method: 'POST', body: 'a'.repeat(1025) });
  assert.equal(declared.status, 413);
  assert.equal(errorCode(declared), 'bad_request');
  assert.match(declared.body, /maxBodyBytes/);

  const chunk = (text: string): string => `${text.length.toString(16)}\r\n${text}\r\n`;
  const streamedOk = parseRaw(
    await rawExchange(
      base,
      [[head('chunked') + chunk('a'.repeat(1000)) + chunk('b'.repeat(24)) + '0\r\n\r\n', 0]],
      2000,
    ),
  );
  assert.equal(streamedOk.status, 200);
  const streamed = parseRaw(
    await rawExchange(base, [
      [head('chunked') + chunk('a'.repeat(1000)) + chunk('b'.repeat(25)) + '0\r\n\r\n', 0],
    ]),
  );
  assert.deepEqual(streamed, { status: 413, code: 'bad_request' });
});

void test('a body trickled slower than bodyTimeoutMs is 408 and the connection is closed', async () => {
  const base = await gatewayUrl();
  // Half the body, then nothing: the server must answer and hang up on its own.
  const raw = await rawExchange(base, [[`${head(10)}12345`, 0]]);
  assert.deepEqual(parseRaw(raw), { status: 408, code: 'timeout' });
  assert.match(raw, /bodyTimeoutMs/);
  assert.match(raw, /connection: close/i);
});

void test('a slow but complete body within bodyTimeoutMs is served', async () => {
  const base = await gatewayUrl({ ...LIMITS, bodyTimeoutMs: 10_000 });
  const raw = await rawExchange(
    base,
    [
      [`${head(6)}ab`, 0],
      ['cd', 100],
      ['ef', 100],
    ],
    2000,
  );
  assert.equal(parseRaw(raw).status, 200);
  assert.match(raw, /"body":"abcdef"/);
});

void test('headers trickled slower than headersTimeoutMs are 408', async () => {
  const base = await gatewayUrl();
  const raw = await rawExchange(base, [['GET /fn/inspect HTTP/1.1\r\nHost: x\r\n', 0]]);
  assert.deepEqual(parseRaw(raw), { status: 408, code: 'timeout' });
});

void test('malformed requests and header fields are 400 with the JSON error body', async () => {
  const base = await gatewayUrl();
  for (const request of [
    'GET /fn/inspect HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n',
    'GET /fn/inspect HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n',
    'GET /fn/inspect HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n',
    'GET /fn/inspect HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    'GET /fn/inspect HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'NOT A REQUEST\r\n\r\n',
  ]) {
    const raw = await rawExchange(base, [[request, 0]], 2000);
    assert.deepEqual(parseRaw(raw), { status: 400, code: 'bad_request' }, JSON.stringify(request));
  }
});

void test('maxHeaderCount fields are served, one more is 431 (the gateway), many more too (node:http)', async () => {
  const base = await gatewayUrl();
  // node's client sends Host and Connection itself: 18 more make 20 fields.
  const fields = (count: number): Record<string, string> =>
    Object.fromEntries(Array.from({ length: count }, (_, index) => [`x-h${index}`, 'v']));
  const atLimit = await call(base, '/fn/inspect', { headers: fields(18) });
  assert.equal(atLimit.status, 200, atLimit.body);
  const over = await call(base, '/fn/inspect', { headers: fields(19) });
  assert.equal(over.status, 431);
  assert.equal(errorCode(over), 'bad_request');
  assert.match(over.body, /maxHeaderCount/);
  const far = await call(base, '/fn/inspect', { headers: fields(60) });
  assert.equal(far.status, 431);
  assert.equal(errorCode(far), 'bad_request');
});

void test('headers larger than maxHeaderBytes are 431', async () => {
  const base = await gatewayUrl();
  assert.equal((await call(base, '/fn/inspect', { headers: { 'x-big': 'v'.repeat(3000) } })).status, 200);
  const raw = await rawExchange(
    base,
    [[`GET /fn/inspect HTTP/1.1\r\nHost: x\r\nX-Big: ${'v'.repeat(5000)}\r\n\r\n`, 0]],
    2000,
  );
  assert.deepEqual(parseRaw(raw), { status: 431, code: 'bad_request' });
});

void test('a URL of maxUrlBytes is served, one byte longer is 414', async () => {
  const base = await gatewayUrl();
  const path = (length: number): string => `/fn/inspect/${'p'.repeat(length - '/fn/inspect/'.length)}`;
  assert.equal((await call(base, path(256))).status, 200);
  const over = await call(base, path(257));
  assert.equal(over.status, 414);
  assert.match(over.body, /maxUrlBytes/);
});

void test('maxInFlight invocations run; one more is 503 overloaded with Retry-After', async () => {
  const local = createLocalResolver({
    registry: node.registry,
    sandbox: node.sandbox,
    dispatcher: node.dispatcher,
  });
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered = (): void => undefined;
  const started = new Promise<void>((resolve) => {
    entered = resolve;
  });
  // The real resolver, held at the door until the second request has been answered.
  const gateway = createGateway({
    publicFunctions: ['inspect'],
    limits: { maxInFlight: 1 },
    resolver: {
      async resolve(name) {
        entered();
        await gate;
        return local.resolve(name);
      },
    },
  });
  const listening = await listen(gateway);
  closers.push(() => listening.close());
  const first = call(listening.url, '/fn/inspect');
  await started;
  assert.equal(gateway.inFlight, 1);
  const second = await call(listening.url, '/fn/inspect');
  assert.equal(second.status, 503);
  assert.equal(errorCode(second), 'overloaded');
  assert.equal(second.headers['retry-after'], '1');
  release();
  assert.equal((await first).status, 200);
  assert.equal(gateway.inFlight, 0);
  assert.equal((await call(listening.url, '/fn/inspect')).status, 200);
});

void test('close stops accepting, lets an in-flight invocation finish, then resolves', async () => {
  const local = createLocalResolver({
    registry: node.registry,
    sandbox: node.sandbox,
    dispatcher: node.dispatcher,
  });
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered = (): void => undefined;
  const started = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const gateway = createGateway({
    publicFunctions: ['inspect'],
    resolver: {
      async resolve(name) {
        entered();
        await gate;
        return local.resolve(name);
      },
    },
  });
  const listening = await listen(gateway, { drainMs: 10_000 });
  const inFlight = call(listening.url, '/fn/inspect');
  await started;
  let closed = false;
  const closing = listening.close().then(() => {
    closed = true;
  });
  await assert.rejects(call(listening.url, '/fn/inspect'), /ECONNREFUSED/);
  assert.equal(closed, false, 'close waits for the in-flight exchange');
  release();
  assert.equal((await inFlight).status, 200);
  await closing;
  assert.equal(closed, true);
});
