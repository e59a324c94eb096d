/**
 * The gateway in front of a real node (registry + sandbox + dispatcher, the inspect example
 * installed signed): the request the guest sees, access control by API key, rate limits at
 * their edge, CORS, and what happens to functions that do not exist or were revoked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readExample } from '../../test/support/guests.ts';
import { ApiKeyStore, apiKeyHash, TRACE_ID_HEADER } from '../src/gateway/index.ts';
import { call, errorCode, openNode, serveNode, type Node } from './gateway-fixtures.ts';

let node: Node;
const closers: (() => Promise<void>)[] = [];

async function gatewayUrl(options: Parameters<typeof serveNode>[1] = {}): Promise<string> {
  const { listening } = await serveNode(node, options);
  closers.push(() => listening.close());
  return listening.url;
}

/** One token at 0.01/s is 100 s away, less the (small, machine-dependent) time the test took. */
function assertRetryAfter(value: string | string[] | undefined): void {
  const seconds = Number(value);
  assert.ok(seconds >= 90 && seconds <= 100, `Retry-After ${String(value)}`);
}

const KEY_INSPECT = 'k-inspect-9f2c1d';
const KEY_OTHER = 'k-other-77ab03';

before(async () => {
  node = await openNode();
  const inspect = readExample('inspect');
  await node.install('inspect', inspect);
  await node.install('private', inspect);
  await node.install('other', readExample('hello'));
  await node.install('gone', readExample('hello'));
  await node.revoke('gone');
});
after(async () => {
  for (const close of closers) await close();
  await node.close();
});

interface Inspected {
  method: string;
  uri: string;
  headers: Record<string, string>;
  body: string;
  trace_id: string;
}

void test('a public function sees method, uri after its name, lower-cased end-to-end headers, body and trace id', async () => {
  const base = await gatewayUrl({ publicFunctions: ['inspect'] });
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const reply = await call(base, '/fn/inspect/a/b?x=1&y=%20', {
    method: 'POST',
    headers: {
      'X-Custom': 'Value',
      Traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      Connection: 'keep-alive, x-hop',
      'X-Hop': 'dropped',
      Authorization: 'Bearer not-for-the-guest',
      'Content-Type': 'text/plain; charset=utf-8',
    },
    body: 'héllo ✓',
  });
  assert.equal(reply.status, 200, reply.body);
  const seen = JSON.parse(reply.body) as Inspected;
  assert.equal(seen.method, 'POST');
  assert.equal(seen.uri, '/a/b?x=1&y=%20');
  assert.equal(seen.body, 'héllo ✓');
  assert.equal(seen.trace_id, traceId);
  assert.equal(reply.headers[TRACE_ID_HEADER], traceId);
  assert.equal(seen.headers['x-custom'], 'Value');
  assert.equal(seen.headers['content-type'], 'text/plain; charset=utf-8');
  for (const withheld of ['authorization', 'connection', 'x-hop', 'content-length', 'X-Custom']) {
    assert.equal(seen.headers[withheld], undefined, withheld);
  }
});

void test('without a valid traceparent the gateway makes a new trace id per request', async () => {
  const base = await gatewayUrl({ publicFunctions: ['inspect'] });
  const first = await call(base, '/fn/inspect', { headers: { traceparent: 'garbage' } });
  const second = await call(base, '/fn/inspect');
  const ids = [first, second].map((reply) => (JSON.parse(reply.body) as Inspected).trace_id);
  for (const [index, id] of ids.entries()) {
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal([first, second][index]?.headers[TRACE_ID_HEADER], id);
  }
  assert.notEqual(ids[0], ids[1]);
});

void test('a body that is not UTF-8 is refused with 400 before anything runs', async () => {
  const base = await gatewayUrl({ publicFunctions: ['inspect'] });
  const reply = await call(base, '/fn/inspect', { method: 'POST', body: Uint8Array.of(0x68, 0xff, 0x69) });
  assert.equal(reply.status, 400);
  assert.equal(errorCode(reply), 'bad_request');
});

void test('API keys: missing ⇒ 401, wrong ⇒ 401, malformed ⇒ 401, another function ⇒ 403, revoked ⇒ 401', async () => {
  const keys = new ApiKeyStore([
    { id: 'inspector', sha256: apiKeyHash(KEY_INSPECT), functions: ['private'] },
    { id: 'other-caller', sha256: apiKeyHash(KEY_OTHER), functions: ['other'] },
  ]);
  const base = await gatewayUrl({ apiKeys: keys });
  const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

  const missing = await call(base, '/fn/private');
  assert.equal(missing.status, 401);
  assert.equal(errorCode(missing), 'unauthorized');
  assert.match(String(missing.headers['www-authenticate']), /^Bearer/);

  const wrong = await call(base, '/fn/private', { headers: bearer(`${KEY_INSPECT}x`) });
  assert.equal(wrong.status, 401);
  const hashAsKey = await call(base, '/fn/private', { headers: bearer(apiKeyHash(KEY_INSPECT)) });
  assert.equal(hashAsKey.status, 401);
  const basic = await call(base, '/fn/private', { headers: { authorization: `Basic ${KEY_INSPECT}` } });
  assert.equal(basic.status, 401);
  const tooLong = await call(base, '/fn/private', { headers: bearer('k'.repeat(257)) });
  assert.equal(tooLong.status, 401);

  const notAllowed = await call(base, '/fn/private', { headers: bearer(KEY_OTHER) });
  assert.equal(notAllowed.status, 403);
  assert.equal(errorCode(notAllowed), 'peer_denied');
  assert.match(notAllowed.body, /other-caller may not call function private/);
  // A key cannot be used to learn which functions exist: an unknown name is 403 too.
  assert.equal((await call(base, '/fn/nothing-here', { headers: bearer(KEY_OTHER) })).status, 403);
  assert.equal((await call(base, '/fn/nothing-here')).status, 401);

  const allowed = await call(base, '/fn/private/x', { headers: bearer(KEY_INSPECT) });
  assert.equal(allowed.status, 200, allowed.body);
  assert.equal((JSON.parse(allowed.body) as Inspected).headers.authorization, undefined);
  assert.equal((await call(base, '/fn/other', { headers: bearer(KEY_OTHER) })).status, 200);

  assert.equal(keys.revoke('inspector'), true);
  const revoked = await call(base, '/fn/private', { headers: bearer(KEY_INSPECT) });
  assert.equal(revoked.status, 401);
  assert.equal(errorCode(revoked), 'unauthorized');
});

void test('per-IP rate limit: burst requests pass, the next is 429 with Retry-After, on public functions too', async () => {
  const base = await gatewayUrl({ publicFunctions: ['inspect'], ipRateLimit: { perSecond: 0.01, burst: 3 } });
  for (let index = 0; index < 3; index += 1) {
    assert.equal((await call(base, '/fn/inspect')).status, 200, `request ${index + 1} of the burst`);
  }
  const limited = await call(base, '/fn/inspect');
  assert.equal(limited.status, 429);
  assert.equal(errorCode(limited), 'overloaded');
  assertRetryAfter(limited.headers['retry-after']);
  // Unauthenticated attempts spend the IP's tokens too: key guessing is rate limited.
  assert.equal((await call(base, '/fn/private', { headers: { authorization: 'Bearer guess' } })).status, 429);
});

void test('per-key rate limit: the key limit (default or its own) at its edge, independent per key', async () => {
  const keys = [
    {
      id: 'slow',
      sha256: apiKeyHash(KEY_INSPECT),
      functions: ['private'],
      rateLimit: { perSecond: 0.01, burst: 1 },
    },
    { id: 'fast', sha256: apiKeyHash(KEY_OTHER), functions: ['private'] },
  ];
  const base = await gatewayUrl({ apiKeys: keys, keyRateLimit: { perSecond: 0.01, burst: 2 } });
  const as = (key: string): Promise<Awaited<ReturnType<typeof call>>> =>
    call(base, '/fn/private', { headers: { authorization: `Bearer ${key}` } });
  assert.equal((await as(KEY_INSPECT)).status, 200);
  const slowLimited = await as(KEY_INSPECT);
  assert.equal(slowLimited.status, 429);
  assert.match(slowLimited.body, /API key slow rate limit/);
  assertRetryAfter(slowLimited.headers['retry-after']);
  assert.equal((await as(KEY_OTHER)).status, 200);
  assert.equal((await as(KEY_OTHER)).status, 200);
  assert.equal((await as(KEY_OTHER)).status, 429);
});

void test('unknown routes and functions are 404 not_found, a revoked function 410 revoked', async () => {
  const base = await gatewayUrl({ publicFunctions: ['inspect', 'ghost', 'gone'] });
  for (const path of ['/', '/fn/', '/fn/Bad', '/other/inspect']) {
    const reply = await call(base, path);
    assert.equal(reply.status, 404, path);
    assert.equal(errorCode(reply), 'not_found');
  }
  const ghost = await call(base, '/fn/ghost');
  assert.equal(ghost.status, 404);
  assert.equal(errorCode(ghost), 'not_found');
  const gone = await call(base, '/fn/gone');
  assert.equal(gone.status, 410);
  assert.equal(errorCode(gone), 'revoked');
});

void test('CORS is off by default and answers only configured origins', async () => {
  const closed = await gatewayUrl({ publicFunctions: ['inspect'] });
  const noCors = await call(closed, '/fn/inspect', { headers: { origin: 'https://app.example' } });
  assert.equal(noCors.status, 200);
  assert.equal(noCors.headers['access-control-allow-origin'], undefined);

  const open = await gatewayUrl({ publicFunctions: ['inspect'], cors: { origins: ['https://app.example'] } });
  const listed = await call(open, '/fn/inspect', { headers: { origin: 'https://app.example' } });
  assert.equal(listed.headers['access-control-allow-origin'], 'https://app.example');
  const unlisted = await call(open, '/fn/inspect', { headers: { origin: 'https://evil.example' } });
  assert.equal(unlisted.headers['access-control-allow-origin'], undefined);
  const preflight = await call(open, '/fn/private', {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');
  assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);
  const badPreflight = await call(open, '/fn/private', {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(badPreflight.headers['access-control-allow-origin'], undefined);
  assert.equal(badPreflight.headers['access-control-allow-methods'], undefined);
});
