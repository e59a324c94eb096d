/**
 * The dispatcher and the worker-side host imports, through the real pool: rights re-checked
 * per call, routing, the reply contract (errors, limits, held results), deadlines,
 * non-determinism, and fuel. A small net.http handler defined here stands in for the capability
 * under test — the dispatcher — not for a real part.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HOST_ERRNO } from '@gojinn/abi';
import { DEFAULT_INVOCATION_LIMITS, HOST_CALL_FUEL } from '@gojinn/sandbox';
import { HostCallFailure, type CallContext, type CapabilityHandler } from '../src/handler.ts';
import {
  HOST_CALL_BASE_FUEL,
  HOST_CALL_BYTE_FUEL,
  HOST_CALL_MAX_REQUEST_BYTES,
  HOST_CALL_MAX_RESPONSE_BYTES,
} from '../src/limits.ts';
import { fixedCallGuest, fixedCallResult } from './support/fixed-call-guest.ts';
import { Harness, moduleIdentity } from './support/harness.ts';
import { kvFixture, type KvFixture } from './support/kv-fixture.ts';
import { DEFAULT_KV_LIMITS } from '../src/kv/kv-limits.ts';
import { decodeReply } from '../src/wire.ts';

const decoder = new TextDecoder();

/** Answers by the request's text: each word exercises one path of the dispatcher. */
class ProbeHandler implements CapabilityHandler<'net.http'> {
  readonly capability = 'net.http';
  calls = 0;

  async handle(method: string, request: Uint8Array, ctx: CallContext<'net.http'>): Promise<Uint8Array> {
    this.calls++;
    const word = request.byteLength > 64 ? 'len' : decoder.decode(request);
    switch (word) {
      case 'nondet':
        ctx.markNondeterministic('test');
        return new Uint8Array([1]);
      case 'wait':
        await new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        );
        return new Uint8Array(0);
      case 'throw':
        throw new Error('backend failed at /var/lib/secret-path');
      case 'big':
        return new Uint8Array(HOST_CALL_MAX_RESPONSE_BYTES + 1);
      case 'max':
        return new Uint8Array(HOST_CALL_MAX_RESPONSE_BYTES);
      case 'deny':
        return ctx.deny('origin not in the allow-list');
      case 'missing':
        throw new HostCallFailure('NOT_FOUND', 'nothing there');
      case 'len': {
        const out = new Uint8Array(4);
        new DataView(out.buffer).setUint32(0, request.byteLength, true);
        return out;
      }
      default:
        return new TextEncoder().encode(`${method}:${ctx.module.name}:${ctx.scope.hosts.join(',')}`);
    }
  }
}

const HTTP = { 'net.http': { hosts: ['https://api.example.com'] } };
let kv: KvFixture;
let probe: ProbeHandler;
let h: Harness;

before(async () => {
  kv = await kvFixture();
  probe = new ProbeHandler();
  h = new Harness({ handlers: [probe, ...kv.handlers] });
});

after(async () => {
  await h.close();
  await kv.close();
});

void test('a call reaches its capability’s handler with the module and that capability’s scope only', async () => {
  const { outcome, results } = await h.run(
    ['http_request'],
    [{ fn: 'http_request', arg: 'hello', cap: 256 }],
    {
      ...HTTP,
      'kv.read': { prefixes: ['x/'] },
    },
  );
  assert.equal(outcome.ok, true);
  assert.equal(decoder.decode(results?.[0]?.out), 'http_request:app:https://api.example.com');
  assert.equal(outcome.deterministic, true);
});

void test('markNondeterministic makes the outcome say deterministic: false', async () => {
  const { outcome, host } = await h.run(
    ['http_request'],
    [{ fn: 'http_request', arg: 'nondet', cap: 8 }],
    HTTP,
  );
  assert.equal(outcome.ok, true);
  assert.equal(outcome.deterministic, false);
  assert.equal(host.deterministic, false);
});

void test('handler failures reach the guest as error numbers; unexpected ones are logged for the operator only', async () => {
  const before = h.records.length;
  const { outcome, results } = await h.run(
    ['http_request'],
    [
      { fn: 'http_request', arg: 'missing', cap: 8 },
      { fn: 'http_request', arg: 'throw', cap: 8 },
      { fn: 'http_request', arg: 'deny', cap: 8 },
    ],
    HTTP,
  );
  assert.equal(outcome.ok, true);
  assert.deepEqual(
    results?.map((r) => r.result),
    [-HOST_ERRNO.NOT_FOUND, -HOST_ERRNO.UNAVAILABLE, -HOST_ERRNO.DENIED],
  );
  const records = h.records.slice(before);
  assert.deepEqual(
    records.map((r) => r.type),
    ['host_error', 'security'],
  );
  assert.match(JSON.stringify(records[0]), /backend failed at/);
  assert.equal(
    JSON.stringify([outcome.response, outcome.error]).includes('secret-path'),
    false,
    'nothing of it reaches the guest',
  );
});

void test('the handler’s signal fires at the deadline and the guest gets -TIMEOUT while its invocation goes on; no later call runs', async () => {
  const callsBefore = probe.calls;
  const { outcome, results } = await h.run(
    ['http_request'],
    [
      { fn: 'http_request', arg: 'wait', cap: 8 },
      { fn: 'http_request', arg: 'hello', cap: 256 },
    ],
    HTTP,
    { deadlineMs: 100, timeoutMs: 5000 },
  );
  assert.equal(outcome.ok, true);
  assert.equal(results?.[0]?.result, -HOST_ERRNO.TIMEOUT);
  // 'hello' would answer at once, but the invocation is out of time: it never reaches the handler.
  assert.equal(results?.[1]?.result, -HOST_ERRNO.TIMEOUT);
  assert.equal(probe.calls - callsBefore, 1);
});

void test('a call made once the invocation is past its deadline never reaches the handler', async () => {
  const late = h.dispatcher.forInvocation({
    module: moduleIdentity('late'),
    rights: HTTP,
    traceId: '0'.repeat(32),
    deadline: Date.now() - 1,
  });
  const context = {
    spec: {
      moduleHash: 'e'.repeat(64),
      stdin: new Uint8Array(0),
      limits: DEFAULT_INVOCATION_LIMITS,
      seed: '0'.repeat(64),
      granted: late.granted,
    },
    signal: new AbortController().signal,
  };
  const callsBefore = probe.calls;
  const reply = decodeReply(await late.handler('http_request', new TextEncoder().encode('hello'), context));
  assert.equal(reply.status, -HOST_ERRNO.TIMEOUT);
  assert.equal(probe.calls, callsBefore);
});

void test('responses are accepted up to HOST_CALL_MAX_RESPONSE_BYTES and refused with -LIMIT one byte over', async () => {
  const { results } = await h.run(
    ['http_request', 'result_take'],
    [
      { fn: 'http_request', arg: 'max', cap: 0 },
      { fn: 'result_take', cap: 0 },
      { fn: 'http_request', arg: 'big', cap: 0 },
    ],
    HTTP,
  );
  assert.deepEqual(
    results?.map((r) => r.result),
    [-HOST_ERRNO.TOO_SMALL, HOST_CALL_MAX_RESPONSE_BYTES, -HOST_ERRNO.LIMIT],
  );
});

void test('requests are carried up to HOST_CALL_MAX_REQUEST_BYTES; one byte more is -LIMIT in the worker', async () => {
  const pages = Math.ceil((HOST_CALL_MAX_REQUEST_BYTES + 1 + 64) / 65536);
  const run = async (length: number): Promise<number> => {
    const prepared = h.sandbox.prepare(
      await fixedCallGuest({ fn: 'http_request', args: [64, length, 0, 4], pages }),
    );
    const { outcome } = await h.invoke(prepared, new Uint8Array(0), HTTP);
    assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
    return fixedCallResult(outcome.response?.body ?? '');
  };
  const calls = probe.calls;
  assert.equal(await run(HOST_CALL_MAX_REQUEST_BYTES), 4);
  assert.equal(probe.calls, calls + 1);
  assert.equal(await run(HOST_CALL_MAX_REQUEST_BYTES + 1), -HOST_ERRNO.LIMIT);
  assert.equal(probe.calls, calls + 1, 'the over-limit request never left the worker');
});

void test('an output buffer outside memory traps before the host does anything', async () => {
  const calls = probe.calls;
  const prepared = h.sandbox.prepare(await fixedCallGuest({ fn: 'http_request', args: [64, 5, 65530, 16] }));
  const { outcome } = await h.invoke(prepared, new Uint8Array(0), HTTP);
  assert.equal(outcome.error?.code, 'trap');
  assert.match(outcome.error?.message ?? '', /out of bounds/);
  assert.equal(probe.calls, calls);
});

void test('the dispatcher re-checks rights on every call: linking alone is not trusted', async () => {
  const before = h.records.length;
  const { outcome, results, host } = await h.run(
    ['http_request'],
    [{ fn: 'http_request', arg: 'hello', cap: 256 }],
    {},
    { granted: ['net.http'] },
  );
  assert.equal(outcome.ok, true);
  assert.equal(results?.[0]?.result, -HOST_ERRNO.DENIED);
  assert.equal(host.denials, 1);
  const security = h.records.slice(before).filter((r) => r.type === 'security');
  assert.equal(security.length, 1);
  assert.match(JSON.stringify(security[0]), /capability net\.http is not among the invocation's rights/);
});

void test('a capability without a registered handler is not granted, so importing it fails at link time', async () => {
  const host = h.dispatcher.forInvocation({
    module: moduleIdentity(),
    rights: { 'db.query': {}, ...HTTP },
    traceId: '0'.repeat(32),
    deadline: Date.now() + 1000,
  });
  assert.deepEqual(host.granted, ['net.http']);
  const { outcome } = await h.run(['db_query'], [], { 'db.query': {} });
  assert.equal(outcome.error?.code, 'capability_denied');
  assert.match(
    outcome.error?.message ?? '',
    /gojinn\.db_query needs capability db\.query, which is not granted/,
  );
});

void test('host calls charge fuel: HOST_CALL_BASE_FUEL per call plus HOST_CALL_BYTE_FUEL per request and response byte', async () => {
  const module = moduleIdentity('fuel');
  const rights = { 'kv.read': { prefixes: [''] }, 'kv.write': { prefixes: [''] } };
  const keyAt = 256;
  const getGuest = async (keyLength: number): Promise<ReturnType<Harness['sandbox']['prepare']>> =>
    h.sandbox.prepare(
      await fixedCallGuest({
        fn: 'kv_get',
        args: [keyAt, keyLength, 1024, 4096],
        data: { offset: keyAt, bytes: new TextEncoder().encode('key-0123456789') },
      }),
    );
  const fuelOf = async (
    prepared: Awaited<ReturnType<typeof getGuest>>,
  ): Promise<{ fuel: bigint; result: number }> => {
    const { outcome } = await h.invoke(prepared, new Uint8Array(0), rights, { module });
    assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
    return { fuel: outcome.fuelUsed, result: fixedCallResult(outcome.response?.body ?? '') };
  };
  const short = await getGuest(5); // "key-0"
  const long = await getGuest(9); // "key-01234"

  // Request bytes: the same instructions, 4 more key bytes.
  const absentShort = await fuelOf(short);
  const absentLong = await fuelOf(long);
  assert.equal(absentShort.result, -HOST_ERRNO.NOT_FOUND);
  assert.equal(absentLong.fuel - absentShort.fuel, 4n * HOST_CALL_BYTE_FUEL);

  // Response bytes: the same guest, once the key holds 1000 bytes.
  await kv.kv.set(module, new TextEncoder().encode('key-0'), new Uint8Array(1000), DEFAULT_KV_LIMITS);
  const present = await fuelOf(short);
  assert.equal(present.result, 1000);
  assert.equal(present.fuel - absentShort.fuel, 1000n * HOST_CALL_BYTE_FUEL);

  // The base charge: the same module run in-thread with a kv_get that charges nothing.
  const bare = h.sandbox.invokeInThread(short, new Uint8Array(0), {
    granted: ['kv.read'],
    host: { kv_get: () => -HOST_ERRNO.NOT_FOUND },
  });
  assert.equal(bare.ok, true);
  assert.equal(absentShort.fuel - bare.fuelUsed, HOST_CALL_BASE_FUEL + 5n * HOST_CALL_BYTE_FUEL);
  assert.ok(HOST_CALL_FUEL > 0n, 'the sandbox’s own per-call charge is paid in both runs');
});
