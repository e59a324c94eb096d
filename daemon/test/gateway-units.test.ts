/**
 * The gateway's pure parts: routes, trace ids, header filtering both ways, the status table,
 * bearer parsing, hashed keys and token buckets at their edges.
 */
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES } from '@gojinn/errors';
import {
  ApiKeyStore,
  DEFAULT_GATEWAY_LIMITS,
  DROPPED_RESPONSE_HEADERS,
  MAX_API_KEYS,
  RateLimiter,
  STATUS_BY_CODE,
  apiKeyHash,
  parseBearer,
  parseRoute,
  resolveGatewayLimits,
  traceIdFromTraceparent,
} from '../src/gateway/index.ts';
import { forwardedResponseHeaders, guestRequestHeaders } from '../src/gateway/headers.ts';

void test('routes: name and guest uri, the name matched literally', () => {
  assert.deepEqual(parseRoute('/fn/hello'), { name: 'hello', uri: '/' });
  assert.deepEqual(parseRoute('/fn/hello/'), { name: 'hello', uri: '/' });
  assert.deepEqual(parseRoute('/fn/hello?name=x'), { name: 'hello', uri: '/?name=x' });
  assert.deepEqual(parseRoute('/fn/hello/a/b?c=d&e'), { name: 'hello', uri: '/a/b?c=d&e' });
  assert.deepEqual(parseRoute('/fn/a.b_c-1/x'), { name: 'a.b_c-1', uri: '/x' });
  for (const bad of [
    '/',
    '/fn',
    '/fn/',
    '/fn//x',
    '/fn/Hello',
    '/fn/%68ello',
    '/fn/-x',
    '/fnhello',
    'http://x/fn/a',
  ]) {
    assert.equal(parseRoute(bad), null, bad);
  }
  assert.notEqual(parseRoute(`/fn/${'a'.repeat(64)}`), null);
  assert.equal(parseRoute(`/fn/${'a'.repeat(65)}`), null);
});

void test('traceparent: valid ones give their trace id, anything else none', () => {
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';
  assert.equal(traceIdFromTraceparent(`00-${id}-00f067aa0ba902b7-01`), id);
  assert.equal(traceIdFromTraceparent(`01-${id}-00f067aa0ba902b7-01-extra`), id);
  for (const bad of [
    undefined,
    '',
    `00-${id}-00f067aa0ba902b7-01-extra`,
    `ff-${id}-00f067aa0ba902b7-01`,
    `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
    `00-${id}-${'0'.repeat(16)}-01`,
    `00-${id.toUpperCase()}-00f067aa0ba902b7-01`,
    `00-${id.slice(1)}-00f067aa0ba902b7-01`,
  ]) {
    assert.equal(traceIdFromTraceparent(bad), null, String(bad));
  }
});

void test('request headers: hop-by-hop, Connection-named and credential fields never reach the guest', () => {
  const headers = guestRequestHeaders({
    host: 'x',
    connection: 'keep-alive, x-secret-hop',
    'keep-alive': 'timeout=5',
    'x-secret-hop': 'v',
    'transfer-encoding': 'chunked',
    te: 'trailers',
    upgrade: 'h2c',
    'proxy-authorization': 'Basic x',
    authorization: 'Bearer key',
    'content-length': '3',
    'content-type': 'text/plain',
    accept: 'a',
  });
  assert.deepEqual(headers, { host: 'x', 'content-type': 'text/plain', accept: 'a' });
});

void test('response headers: dangerous and framing fields dropped, the rest lower-cased', () => {
  const out = forwardedResponseHeaders({
    'Content-Type': 'text/plain',
    'X-Custom': '1',
    'Set-Cookie': 'session=stolen',
    'Strict-Transport-Security': 'max-age=1',
    'Access-Control-Allow-Origin': '*',
    'Content-Length': '999',
    'Transfer-Encoding': 'chunked',
    Connection: 'close',
    'X-Gojinn-Trace-Id': 'forged',
  });
  assert.deepEqual(out, { 'content-type': 'text/plain', 'x-custom': '1' });
  assert.ok(DROPPED_RESPONSE_HEADERS.has('set-cookie'));
});

void test('every error code has a status, and the documented ones are as documented', () => {
  for (const code of ERROR_CODES) assert.equal(typeof STATUS_BY_CODE[code], 'number', code);
  assert.equal(STATUS_BY_CODE.bad_request, 400);
  assert.equal(STATUS_BY_CODE.capability_denied, 403);
  assert.equal(STATUS_BY_CODE.peer_denied, 403);
  assert.equal(STATUS_BY_CODE.not_found, 404);
  assert.equal(STATUS_BY_CODE.revoked, 410);
  assert.equal(STATUS_BY_CODE.overloaded, 503);
  assert.equal(STATUS_BY_CODE.timeout, 504);
  for (const code of [
    'trap',
    'guest_exit',
    'bad_response',
    'output_limit',
    'fuel_exhausted',
    'memory_limit',
    'stack_overflow',
  ] as const) {
    assert.equal(STATUS_BY_CODE[code], 502, code);
  }
  assert.equal(STATUS_BY_CODE.internal, 500);
});

void test('bearer tokens: absent, malformed, too long (at the limit), well formed', () => {
  assert.deepEqual(parseBearer(undefined, 8), { kind: 'absent' });
  assert.deepEqual(parseBearer('Bearer abc', 8), { kind: 'token', token: 'abc' });
  assert.deepEqual(parseBearer('bearer abc', 8), { kind: 'token', token: 'abc' });
  assert.deepEqual(parseBearer(`Bearer ${'k'.repeat(8)}`, 8), { kind: 'token', token: 'k'.repeat(8) });
  for (const bad of [`Bearer ${'k'.repeat(9)}`, 'Basic abc', 'Bearer', 'Bearer a b', 'abc', 'Bearer é']) {
    assert.deepEqual(parseBearer(bad, 8), { kind: 'malformed' }, bad);
  }
});

void test('API keys: stored as sha-256 only, matched exactly, revocable', () => {
  const store = new ApiKeyStore([
    { id: 'one', sha256: apiKeyHash('secret-one'), functions: ['a'] },
    { id: 'two', sha256: apiKeyHash('secret-two'), functions: ['b', 'c'] },
  ]);
  assert.equal(store.authenticate('secret-one')?.id, 'one');
  assert.deepEqual([...(store.authenticate('secret-two')?.functions ?? [])], ['b', 'c']);
  assert.equal(store.authenticate('secret-on'), null);
  assert.equal(store.authenticate(apiKeyHash('secret-one')), null, 'the hash is not the key');
  assert.equal(store.revoke('one'), true);
  assert.equal(store.authenticate('secret-one'), null);
  assert.equal(store.revoke('one'), false);
  assert.throws(() => store.add({ id: 'two', sha256: apiKeyHash('x'), functions: [] }), /already present/);
  assert.throws(() => store.add({ id: 'bad', sha256: 'ABC', functions: [] }), /sha256/);
  assert.throws(() => store.add({ id: 'bad id', sha256: apiKeyHash('x'), functions: [] }), /id/);
});

void test(`API keys: at most MAX_API_KEYS (${MAX_API_KEYS})`, () => {
  const store = new ApiKeyStore();
  const hash = apiKeyHash('same');
  for (let index = 0; index < MAX_API_KEYS; index += 1)
    store.add({ id: `k${index}`, sha256: hash, functions: [] });
  assert.equal(store.size, MAX_API_KEYS);
  assert.throws(() => store.add({ id: 'over', sha256: hash, functions: [] }), /MAX_API_KEYS/);
});

void test('token bucket: burst at once, the next refused with Retry-After, refilled at the rate', () => {
  let now = 0;
  const limiter = new RateLimiter(() => now);
  const limit = { perSecond: 2, burst: 3 };
  for (let index = 0; index < 3; index += 1) assert.deepEqual(limiter.take('ip', limit), { ok: true });
  assert.deepEqual(limiter.take('ip', limit), { ok: false, retryAfterSeconds: 1 });
  assert.deepEqual(limiter.take('other', limit), { ok: true }, 'buckets are per client');
  now = 499;
  assert.equal(limiter.take('ip', limit).ok, false, 'one token needs 500 ms at 2/s');
  now = 500;
  assert.deepEqual(limiter.take('ip', limit), { ok: true });
  assert.equal(limiter.take('ip', limit).ok, false);
  now = 100_000;
  for (let index = 0; index < 3; index += 1) assert.equal(limiter.take('ip', limit).ok, true);
  assert.equal(limiter.take('ip', limit).ok, false, 'refill stops at burst');
  const slow = { perSecond: 0.1, burst: 1 };
  assert.equal(limiter.take('slow', slow).ok, true);
  assert.deepEqual(limiter.take('slow', slow), { ok: false, retryAfterSeconds: 10 });
});

void test('token bucket: remembers at most maxClients, forgetting the idlest', () => {
  let now = 0;
  const limiter = new RateLimiter(() => now, 2);
  const limit = { perSecond: 1, burst: 1 };
  assert.equal(limiter.take('a', limit).ok, true);
  assert.equal(limiter.take('b', limit).ok, true);
  now = 1;
  assert.equal(limiter.take('a', limit).ok, false, 'a is now the most recent');
  assert.equal(limiter.take('c', limit).ok, true);
  assert.equal(limiter.trackedClients, 2);
  assert.equal(limiter.take('a', limit).ok, false, 'a was kept');
  assert.equal(limiter.take('b', limit).ok, true, 'b, the idlest, was forgotten');
});

void test('limits: defaults are positive integers; a bad override names the limit', () => {
  assert.deepEqual(resolveGatewayLimits(), DEFAULT_GATEWAY_LIMITS);
  assert.throws(() => resolveGatewayLimits({ maxBodyBytes: 0 }), /maxBodyBytes/);
  assert.throws(() => resolveGatewayLimits({ bodyTimeoutMs: 1.5 }), /bodyTimeoutMs/);
});

void test('docs/gateway.md lists every gateway limit with its default', () => {
  const doc = readFileSync(new URL('../../docs/gateway.md', import.meta.url), 'utf8');
  for (const [name, value] of Object.entries(DEFAULT_GATEWAY_LIMITS)) {
    const row = doc.split('\n').find((line) => new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`).test(line));
    assert.ok(row, `docs/gateway.md has no row for ${name}`);
    assert.equal(row.split('|')[2]?.trim(), String(value), name);
  }
});
