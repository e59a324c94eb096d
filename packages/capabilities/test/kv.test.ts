/**
 * kv.read / kv.write through the real pool: a WAT driver guest makes the calls, the workers
 * load the capabilities' host imports, the dispatcher routes to the kv handlers over a real
 * store in a temp directory.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HOST_ERRNO } from '@gojinn/abi';
import type { CapabilityRights, ModuleIdentity } from '../src/handler.ts';
import {
  Harness,
  PUBLISHER_A,
  PUBLISHER_B,
  TRACE_ID,
  handlerContext,
  moduleIdentity,
} from './support/harness.ts';
import {
  bytes,
  decodeList,
  kvFixture,
  listRequest,
  setRequest,
  type KvFixture,
} from './support/kv-fixture.ts';

const KV = ['kv_get', 'kv_set', 'kv_delete', 'kv_list', 'result_take'] as const;
const ALL: CapabilityRights = { 'kv.read': { prefixes: [''] }, 'kv.write': { prefixes: [''] } };

let kv: KvFixture;
let h: Harness;

before(async () => {
  kv = await kvFixture();
  h = new Harness({ handlers: kv.handlers });
});

after(async () => {
  await h.close();
  await kv.close();
});

function hex(data: Uint8Array | undefined): string {
  return Buffer.from(data ?? []).toString('hex');
}

void test('get, set, delete and list work on the module’s own keys', async () => {
  const module = moduleIdentity('basic');
  const { outcome, results } = await h.run(
    KV,
    [
      { fn: 'kv_get', arg: 'greeting', cap: 64 },
      { fn: 'kv_set', arg: setRequest('greeting', 'hello'), cap: 0 },
      { fn: 'kv_set', arg: setRequest('name', 'ada'), cap: 0 },
      { fn: 'kv_get', arg: 'greeting', cap: 64 },
      { fn: 'kv_list', arg: listRequest(0, ''), cap: 4096 },
      { fn: 'kv_delete', arg: 'greeting', cap: 0 },
      { fn: 'kv_delete', arg: 'greeting', cap: 0 },
      { fn: 'kv_get', arg: 'greeting', cap: 64 },
    ],
    ALL,
    { module },
  );
  assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
  assert.deepEqual(
    results?.map((r) => r.result),
    [-HOST_ERRNO.NOT_FOUND, 0, 0, 5, results?.[4]?.result, 0, -HOST_ERRNO.NOT_FOUND, -HOST_ERRNO.NOT_FOUND],
  );
  assert.equal(Buffer.from(results?.[3]?.out ?? []).toString(), 'hello');
  const listed = decodeList(results?.[4]?.out ?? new Uint8Array());
  assert.deepEqual(
    listed.keys.map((k) => Buffer.from(k).toString()),
    ['greeting', 'name'],
  );
  assert.equal(listed.cursor.byteLength, 0);
  assert.equal(outcome.deterministic, true);
  assert.deepEqual(await kv.kv.usage(module), { keys: 1, bytes: 'name'.length + 'ada'.length });
});

void test('a module never sees another module’s keys, whatever bytes the keys hold', async () => {
  const hostile = [
    bytes('shared'),
    bytes('a/b'),
    bytes('../other/shared'),
    bytes('%2F'),
    bytes('e/x/y/00'),
    new Uint8Array([0]),
    new Uint8Array([0xff, 0xff, 0xff]),
    new Uint8Array([0x2f, 0, 0x2f, 0xff]),
    new Uint8Array(1024).fill(0x2f),
    new Uint8Array(1024).fill(0xff),
  ];
  const owners: ModuleIdentity[] = [
    moduleIdentity('tenant', PUBLISHER_A),
    moduleIdentity('tenant', PUBLISHER_B),
    moduleIdentity('tenant2', PUBLISHER_A),
    moduleIdentity('tenant.2', PUBLISHER_A),
  ];
  for (const [i, module] of owners.entries()) {
    const { outcome } = await h.run(
      KV,
      hostile.map((key, j) => ({ fn: 'kv_set', arg: setRequest(key, `owner${i}-key${j}`), cap: 0 })),
      ALL,
      { module },
    );
    assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
  }
  for (const [i, module] of owners.entries()) {
    const { results } = await h.run(
      KV,
      [
        ...hostile.map((key) => ({ fn: 'kv_get', arg: key, cap: 64 })),
        { fn: 'kv_list', arg: listRequest(0, ''), cap: 64 * 1024 },
      ],
      ALL,
      { module },
    );
    hostile.forEach((_, j) =>
      assert.equal(Buffer.from(results?.[j]?.out ?? []).toString(), `owner${i}-key${j}`),
    );
    const listed = decodeList(results?.[hostile.length]?.out ?? new Uint8Array());
    assert.deepEqual(
      listed.keys.map(hex),
      hostile.map(hex).sort((a, b) => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'))),
      'exactly its own keys, in bytewise order',
    );
    assert.deepEqual(await kv.kv.usage(module), {
      keys: hostile.length,
      bytes: hostile.reduce((sum, key, j) => sum + key.byteLength + `owner${i}-key${j}`.length, 0),
    });
  }
});

void test('a key outside the scope’s prefixes is denied at call time, counted, and logged without the key or value', async () => {
  const module = moduleIdentity('scoped');
  const rights: CapabilityRights = {
    'kv.read': { prefixes: ['public/'] },
    'kv.write': { prefixes: ['mine/'] },
  };
  const secretKey = 'private/SECRETKEY-7f3a';
  const secretValue = 'VALUE-da7a-99';
  const before = h.records.length;
  const { outcome, results, host } = await h.run(
    KV,
    [
      { fn: 'kv_set', arg: setRequest(secretKey, secretValue), cap: 0 },
      { fn: 'kv_get', arg: secretKey, cap: 64 },
      { fn: 'kv_set', arg: setRequest('public/x', secretValue), cap: 0 },
      { fn: 'kv_get', arg: 'mine/x', cap: 64 },
      { fn: 'kv_list', arg: listRequest(0, ''), cap: 1024 },
      { fn: 'kv_delete', arg: secretKey, cap: 0 },
      { fn: 'kv_set', arg: setRequest('mine/x', 'ok'), cap: 0 },
      { fn: 'kv_list', arg: listRequest(0, 'public/'), cap: 1024 },
    ],
    rights,
    { module },
  );
  assert.equal(outcome.ok, true, 'a denial is an error code for the guest, not a failed invocation');
  const denied = -HOST_ERRNO.DENIED;
  assert.deepEqual(
    results?.map((r) => r.result),
    [denied, denied, denied, denied, denied, denied, 0, 8],
  );
  assert.equal(host.denials, 6);
  const records = h.records.slice(before);
  const security = records.filter((r) => r.type === 'security');
  assert.equal(security.length, 6);
  assert.deepEqual(security[0], {
    type: 'security',
    event: 'host_call_denied',
    module,
    traceId: '0123456789abcdef0123456789abcdef',
    capability: 'kv.write',
    function: 'kv_set',
    reason: 'key outside the kv.write prefixes',
  });
  const text = JSON.stringify(records);
  for (const data of [secretKey, secretValue, 'SECRETKEY', hex(bytes(secretKey)), hex(bytes(secretValue))]) {
    assert.ok(!text.includes(data), `log records do not contain ${data}`);
  }
  const counted = h.counted.filter(
    (c) => c.name === 'host_calls_denied_total' && c.labels.module === 'scoped',
  );
  assert.equal(counted.length, 6);
  assert.equal(await kv.kv.get(module, bytes(secretKey)), undefined, 'nothing was written');
});

void test('declared but not granted: a guest importing kv_set fails to instantiate with capability_denied', async () => {
  const { outcome } = await h.run(KV, [], { 'kv.read': { prefixes: [''] } });
  assert.equal(outcome.ok, false);
  assert.equal(outcome.error?.code, 'capability_denied');
  assert.match(
    outcome.error?.message ?? '',
    /gojinn\.kv_set needs capability kv\.write, which is not granted/,
  );
  assert.equal(outcome.fuelUsed, 0n);
});

void test('keys and values are accepted exactly at their size limits and refused one byte over', async () => {
  h.newDispatcher({ handlers: kv.handlersWith({ maxKeyBytes: 16, maxValueBytes: 100 }) });
  try {
    const { results } = await h.run(
      KV,
      [
        { fn: 'kv_set', arg: setRequest('k'.repeat(16), 'v'.repeat(100)), cap: 0 },
        { fn: 'kv_set', arg: setRequest('k'.repeat(17), 'v'), cap: 0 },
        { fn: 'kv_set', arg: setRequest('k', 'v'.repeat(101)), cap: 0 },
        { fn: 'kv_get', arg: 'k'.repeat(16), cap: 100 },
        { fn: 'kv_get', arg: 'k'.repeat(17), cap: 100 },
        { fn: 'kv_get', arg: '', cap: 100 },
        { fn: 'kv_set', arg: new Uint8Array([200, 0, 0, 0, 1]), cap: 0 },
        { fn: 'kv_set', arg: setRequest('', 'v'), cap: 0 },
      ],
      ALL,
      { module: moduleIdentity('sizes') },
    );
    const { LIMIT, INVALID } = HOST_ERRNO;
    assert.deepEqual(
      results?.map((r) => r.result),
      [0, -LIMIT, -LIMIT, 100, -LIMIT, -INVALID, -INVALID, -INVALID],
    );
  } finally {
    h.newDispatcher({ handlers: kv.handlers });
  }
});

void test('quotas: exactly at the key and byte quotas is fine, one over is refused and writes nothing', async () => {
  h.newDispatcher({ handlers: kv.handlersWith({ quotaKeys: 3, quotaBytes: 40 }) });
  try {
    const keys = moduleIdentity('quota-keys');
    const { results } = await h.run(
      KV,
      [
        { fn: 'kv_set', arg: setRequest('a', '1'), cap: 0 },
        { fn: 'kv_set', arg: setRequest('b', '2'), cap: 0 },
        { fn: 'kv_set', arg: setRequest('c', '3'), cap: 0 },
        { fn: 'kv_set', arg: setRequest('d', '4'), cap: 0 },
        { fn: 'kv_set', arg: setRequest('c', 'overwrite'), cap: 0 },
        { fn: 'kv_delete', arg: 'a', cap: 0 },
        { fn: 'kv_set', arg: setRequest('d', '4'), cap: 0 },
      ],
      ALL,
      { module: keys },
    );
    assert.deepEqual(
      results?.map((r) => r.result),
      [0, 0, 0, -HOST_ERRNO.QUOTA, 0, 0, 0],
    );
    assert.deepEqual(await kv.kv.usage(keys), { keys: 3, bytes: 2 + 10 + 2 });

    const size = moduleIdentity('quota-bytes');
    const { results: byBytes } = await h.run(
      KV,
      [
        { fn: 'kv_set', arg: setRequest('x', 'v'.repeat(38)), cap: 0 }, // 39 bytes
        { fn: 'kv_set', arg: setRequest('y', ''), cap: 0 }, // 40: exactly at the quota
        { fn: 'kv_set', arg: setRequest('z', ''), cap: 0 }, // 41
        { fn: 'kv_set', arg: setRequest('x', 'v'.repeat(39)), cap: 0 }, // 41 by growing a value
        { fn: 'kv_set', arg: setRequest('x', 'v'.repeat(30)), cap: 0 }, // shrinking is fine
      ],
      ALL,
      { module: size },
    );
    assert.deepEqual(
      byBytes?.map((r) => r.result),
      [0, 0, -HOST_ERRNO.QUOTA, -HOST_ERRNO.QUOTA, 0],
    );
    assert.equal(await kv.kv.get(size, bytes('z')), undefined);
    assert.deepEqual(await kv.kv.usage(size), { keys: 2, bytes: 31 + 1 });
  } finally {
    h.newDispatcher({ handlers: kv.handlers });
  }
});

void test('concurrent invocations of one module cannot exceed its quota together', async () => {
  const pool = new Harness({ handlers: kv.handlersWith({ quotaKeys: 5 }) }, 2);
  try {
    const module = moduleIdentity('quota-race');
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        pool.run(
          KV,
          [0, 1, 2].map((j) => ({ fn: 'kv_set', arg: setRequest(`k${i}-${j}`, 'v'), cap: 0 })),
          ALL,
          { module },
        ),
      ),
    );
    const accepted = runs.flatMap((run) => run.results ?? []).filter((r) => r.result === 0).length;
    const refused = runs
      .flatMap((run) => run.results ?? [])
      .filter((r) => r.result === -HOST_ERRNO.QUOTA).length;
    assert.equal(accepted, 5);
    assert.equal(refused, 19);
    const listed = await kv.kv.list(module, new Uint8Array(0), undefined, 100);
    assert.equal(listed.keys.length, 5);
    assert.deepEqual(await kv.kv.usage(module), { keys: 5, bytes: 5 * ('k0-0'.length + 1) });

    // Many more calls in flight at once than two workers can make: the handlers of 40
    // invocations called together, as the pool would with 40 workers.
    const burst = moduleIdentity('quota-burst');
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const host = pool.dispatcher.forInvocation({
          module: burst,
          rights: ALL,
          traceId: TRACE_ID,
          deadline: Date.now() + 5000,
        });
        return host.handler('kv_set', setRequest(`key-${i}`, 'value'), handlerContext());
      }),
    );
    const statuses = replies.map((reply) => new DataView(reply.buffer, reply.byteOffset).getInt32(0, true));
    assert.equal(statuses.filter((status) => status === 0).length, 5);
    assert.equal(statuses.filter((status) => status === -HOST_ERRNO.QUOTA).length, 35);
    assert.deepEqual(await kv.kv.usage(burst), { keys: 5, bytes: 5 * ('key-0'.length + 'value'.length) });
    assert.equal((await kv.kv.list(burst, new Uint8Array(0), undefined, 100)).keys.length, 5);
  } finally {
    await pool.close();
  }
});

void test('kv_list pages: never more than maxListPage keys per call, a cursor to continue, every key once', async () => {
  h.newDispatcher({ handlers: kv.handlersWith({ maxListPage: 10 }) });
  try {
    const module = moduleIdentity('paging');
    const names = Array.from({ length: 25 }, (_, i) => `item/${String(i).padStart(2, '0')}`);
    await h.run(
      KV,
      [
        ...names.map((n) => ({ fn: 'kv_set', arg: setRequest(n, '1'), cap: 0 })),
        { fn: 'kv_set', arg: setRequest('other', '1'), cap: 0 },
      ],
      ALL,
      { module },
    );
    const seen: string[] = [];
    let cursor = '';
    const pageSizes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const wanted = i === 0 ? 1000 : 0; // more than the limit is clamped; 0 asks for a full page
      const { results } = await h.run(
        KV,
        [{ fn: 'kv_list', arg: listRequest(wanted, 'item/', cursor), cap: 4096 }],
        ALL,
        { module },
      );
      const page = decodeList(results?.[0]?.out ?? new Uint8Array());
      pageSizes.push(page.keys.length);
      seen.push(...page.keys.map((k) => Buffer.from(k).toString()));
      cursor = Buffer.from(page.cursor).toString();
      if (cursor === '') break;
    }
    assert.deepEqual(pageSizes, [10, 10, 5]);
    assert.deepEqual(seen, names);
    const { results: small } = await h.run(
      KV,
      [{ fn: 'kv_list', arg: listRequest(3, 'item/', 'item/20'), cap: 4096 }],
      ALL,
      { module },
    );
    const page = decodeList(small?.[0]?.out ?? new Uint8Array());
    assert.deepEqual(
      page.keys.map((k) => Buffer.from(k).toString()),
      ['item/21', 'item/22', 'item/23'],
    );
    assert.equal(Buffer.from(page.cursor).toString(), 'item/23');
  } finally {
    h.newDispatcher({ handlers: kv.handlers });
  }
});

void test('a value larger than the output buffer is held for result_take, never fetched twice', async () => {
  const module = moduleIdentity('held');
  const big = 'x'.repeat(5000);
  const { results } = await h.run(
    KV,
    [
      { fn: 'kv_set', arg: setRequest('big', big), cap: 0 },
      { fn: 'result_take', cap: 100 },
      { fn: 'kv_get', arg: 'big', cap: 10 },
      { fn: 'result_take', cap: 0 },
      { fn: 'result_take', cap: 4999 },
      { fn: 'result_take', cap: 5000 },
      { fn: 'result_take', cap: 5000 },
      { fn: 'kv_get', arg: 'big', cap: 10 },
      { fn: 'kv_get', arg: 'missing', cap: 10 },
      { fn: 'result_take', cap: 5000 },
    ],
    ALL,
    { module },
  );
  const { TOO_SMALL, NO_RESULT, NOT_FOUND } = HOST_ERRNO;
  assert.deepEqual(
    results?.map((r) => r.result),
    [0, -NO_RESULT, -TOO_SMALL, 5000, 5000, 5000, -NO_RESULT, -TOO_SMALL, -NOT_FOUND, -NO_RESULT],
  );
  assert.equal(Buffer.from(results?.[5]?.out ?? []).toString(), big);
});

void test('a guest that cannot pay for a kv_set fails with fuel_exhausted before anything is written', async () => {
  const module = moduleIdentity('fuel');
  const empty = await h.run(KV, [], ALL, { module });
  assert.equal(empty.outcome.ok, true);
  // Enough for the driver's own work around one call, not for the host call's base charge.
  const fuel = empty.outcome.fuelUsed + 5_000n;
  const cheap = await h.run(KV, [{ fn: 'result_take', cap: 0 }], ALL, { module, fuel });
  assert.equal(cheap.outcome.ok, true, 'the same budget covers the guest’s side of a call');
  const costly = await h.run(KV, [{ fn: 'kv_set', arg: setRequest('paid', 'no'), cap: 0 }], ALL, {
    module,
    fuel,
  });
  assert.equal(costly.outcome.error?.code, 'fuel_exhausted');
  assert.equal(await kv.kv.get(module, bytes('paid')), undefined);
});
