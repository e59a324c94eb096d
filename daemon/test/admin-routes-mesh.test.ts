import { test } from 'node:test';
import { GojinnError, type ErrorCode } from '@gojinn/errors';
import assert from 'node:assert/strict';
import {
  PEER_A,
  PEER_B,
  PUBLISHER,
  SELF_PEER,
  adminCall,
  codeOf,
  helloBytes,
  startAdminNode,
} from './admin-harness.ts';

void test('GET /v1/peers: id, addresses, latency and whether a policy (config or admin) covers the peer', async () => {
  const node = await startAdminNode({
    peers: [
      { id: PEER_A, addresses: ['/ip4/127.0.0.1/tcp/4001'], latencyMs: 1.5 },
      { id: PEER_B, addresses: [] },
    ],
    configPeers: [{ id: PEER_B, modules: ['*'], capabilities: {}, ratePerSecond: 1, maxConcurrent: 1 }],
  });
  try {
    const before = await adminCall(node, 'GET', '/v1/peers');
    assert.deepEqual(before.body, {
      ok: true,
      peers: [
        { id: PEER_A, addresses: ['/ip4/127.0.0.1/tcp/4001'], latencyMs: 1.5, policy: false },
        { id: PEER_B, addresses: [], latencyMs: null, policy: true },
      ],
    });
    await adminCall(node, 'PUT', `/v1/policies/${PEER_A}`, { modules: ['hello'] });
    const after = await adminCall(node, 'GET', '/v1/peers');
    assert.deepEqual(
      (after.body.peers as Array<{ policy: boolean }>).map((p) => p.policy),
      [true, true],
    );
  } finally {
    await node.close({ remove: true });
  }
});

void test('POST /v1/invoke runs the installed module in the real sandbox and answers the outcome; errors keep their codes', async () => {
  const node = await startAdminNode();
  try {
    await node.install(helloBytes(), 'hello', '1.0.0');
    const reply = await adminCall(node, 'POST', '/v1/invoke', {
      name: 'hello',
      request: { uri: '/?name=admin', headers: { Accept: 'text/plain' } },
    });
    assert.equal(reply.status, 200, reply.text);
    const outcome = reply.body.outcome as {
      ok: boolean;
      response: { status: number; body: string };
      fuelUsed: string;
    };
    assert.equal(outcome.ok, true);
    assert.equal(outcome.response.status, 200);
    assert.match(outcome.response.body, /admin/);
    assert.match(outcome.fuelUsed, /^[1-9]\d*$/);
    assert.equal(reply.body.servedBy, SELF_PEER);
    const audited = (await node.audit.list()).items.at(-1)?.data as Record<string, unknown>;
    assert.deepEqual(
      { name: audited.name, servedBy: audited.servedBy, outcome: audited.outcome },
      { name: 'hello', servedBy: SELF_PEER, outcome: 'ok' },
    );

    const cases: Array<[unknown, number, string]> = [
      [{ name: 'absent' }, 404, 'not_found'],
      [{ name: 'Hello!' }, 400, 'bad_request'],
      [{ name: 'hello', peer: 'nobody' }, 400, 'bad_request'],
      [{ name: 'hello', remote: 'yes' }, 400, 'bad_request'],
      [{ name: 'hello', request: { uri: 'no-slash' } }, 400, 'bad_request'],
      [{ name: 'hello', request: { method: 'get' } }, 400, 'bad_request'],
      [{ name: 'hello', request: { headers: { 'bad header': 'x' } } }, 400, 'bad_request'],
      [
        {
          name: 'hello',
          request: { headers: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`h${i}`, 'v'])) },
        },
        400,
        'bad_request',
      ],
      [{ name: 'hello', request: { cookies: 'x' } }, 400, 'bad_request'],
      [{ name: 'hello', extra: true }, 400, 'bad_request'],
      [{ name: 'hello', request: { trace_id: 'ABC' } }, 400, 'bad_request'],
    ];
    for (const [body, status, code] of cases) {
      const failed = await adminCall(node, 'POST', '/v1/invoke', body);
      assert.equal(failed.status, status, `${JSON.stringify(body).slice(0, 80)}: ${failed.text}`);
      assert.equal(codeOf(failed), code);
    }
    // Exactly MAX_INVOKE_HEADERS headers is accepted.
    const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`h${i}`, 'v']));
    const atLimit = await adminCall(node, 'POST', '/v1/invoke', {
      name: 'hello',
      request: { headers: hundred },
    });
    assert.equal(atLimit.status, 200, atLimit.text);
  } finally {
    await node.close({ remove: true });
  }
});

void test('GET /v1/secrets lists names only: a secret value never appears', async () => {
  const node = await startAdminNode();
  try {
    const value = 'sup3r-s3cret-v4lue';
    await node.secrets.set(
      { name: 'hello', publisher: PUBLISHER.publicKey },
      'API_TOKEN',
      new TextEncoder().encode(value),
    );
    await node.secrets.set(
      { name: 'other', publisher: PUBLISHER.publicKey },
      'DB_PASSWORD',
      new TextEncoder().encode(value),
    );
    const all = await adminCall(node, 'GET', '/v1/secrets');
    assert.deepEqual(all.body, {
      ok: true,
      secrets: [
        { module: 'hello', publisher: PUBLISHER.publicKey, name: 'API_TOKEN' },
        { module: 'other', publisher: PUBLISHER.publicKey, name: 'DB_PASSWORD' },
      ],
    });
    const one = await adminCall(node, 'GET', '/v1/secrets?module=other');
    assert.deepEqual(
      (one.body.secrets as Array<{ name: string }>).map((s) => s.name),
      ['DB_PASSWORD'],
    );
    assert.ok(!all.text.includes(value) && !one.text.includes(value));
    const bad = await adminCall(node, 'GET', '/v1/secrets?module=..%2F');
    assert.equal(bad.status, 400);
    assert.ok(!JSON.stringify((await node.audit.list()).items).includes(value));
  } finally {
    await node.close({ remove: true });
  }
});

void test('GET /v1/receipts pages through receipt entries only, reading at most maxReceiptScan entries a request', async () => {
  const node = await startAdminNode({ limits: { maxReceiptScan: 4 } });
  try {
    // seq 0..9: receipts at 1, 3, 4, 8; the rest other kinds.
    for (let seq = 0; seq < 10; seq += 1) {
      const kind = [1, 3, 4, 8].includes(seq) ? 'receipt' : 'node';
      await node.audit.append(kind, { n: seq });
    }
    const seqs = (body: Record<string, unknown>): number[] =>
      (body.receipts as Array<{ seq: number; kind: string }>).map((r) => {
        assert.equal(r.kind, 'receipt');
        return r.seq;
      });
    const first = await adminCall(node, 'GET', '/v1/receipts?limit=2');
    assert.deepEqual([seqs(first.body), first.body.next], [[1, 3], 3]);
    // Entries 4..7 are scanned (the scan bound, 4): one receipt, and a cursor to resume after 7.
    const second = await adminCall(node, 'GET', '/v1/receipts?after=3&limit=10');
    assert.deepEqual([seqs(second.body), second.body.next], [[4], 7]);
    // 8, 9 and the admin entries of the first two requests (seq 10, 11): the end, no cursor.
    const third = await adminCall(node, 'GET', '/v1/receipts?after=7&limit=10');
    assert.deepEqual([seqs(third.body), third.body.next], [[8], undefined]);
    const fourth = await adminCall(node, 'GET', '/v1/receipts?after=11');
    assert.deepEqual([seqs(fourth.body), fourth.body.next], [[], undefined]);
    const bad = await adminCall(node, 'GET', '/v1/receipts?after=-1');
    assert.equal(bad.status, 400);
  } finally {
    await node.close({ remove: true });
  }
});

void test("POST /v1/invoke: the router's failures keep their codes and statuses; a plain exception is a 500 that says nothing more", async () => {
  let next: unknown;
  const node = await startAdminNode({ invoke: () => Promise.reject(next) });
  try {
    const cases: Array<[ErrorCode, number]> = [
      ['peer_denied', 403],
      ['peer_unreachable', 502],
      ['overloaded', 503],
      ['timeout', 504],
      ['capability_denied', 403],
      ['not_found', 404],
    ];
    for (const [code, status] of cases) {
      next = new GojinnError(code, `router says ${code}`);
      const reply = await adminCall(node, 'POST', '/v1/invoke', {
        name: 'hello',
        remote: true,
        peer: PEER_A,
      });
      assert.equal(reply.status, status, code);
      assert.deepEqual(reply.body, { ok: false, error: { code, message: `router says ${code}` } });
    }
    next = new Error('/home/secret/path exploded');
    const plain = await adminCall(node, 'POST', '/v1/invoke', { name: 'hello' });
    assert.equal(plain.status, 500);
    assert.deepEqual(plain.body, { ok: false, error: { code: 'internal', message: 'internal error' } });
  } finally {
    await node.close({ remove: true });
  }
});
