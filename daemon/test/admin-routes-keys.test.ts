import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY_PREFIX } from '../src/api-keys/index.ts';
import { adminCall, codeOf, messageOf, startAdminNode } from './admin-harness.ts';

void test('api keys: POST returns the key once; the gateway store accepts it at once; lists, audit and disk never hold it', async () => {
  const node = await startAdminNode();
  try {
    const created = await adminCall(node, 'POST', '/v1/api-keys', {
      id: 'ci',
      functions: ['hello', 'echo', 'hello'],
      rateLimit: { perSecond: 5, burst: 10 },
    });
    assert.equal(created.status, 201, created.text);
    const key = created.body.key as string;
    assert.ok(key.startsWith(API_KEY_PREFIX) && key.length > 40, key);
    assert.deepEqual(created.body.functions, ['echo', 'hello']);
    assert.equal(created.body.id, 'ci');
    const grant = node.gatewayKeys.authenticate(key);
    assert.equal(grant?.id, 'ci');
    assert.deepEqual([...(grant?.functions ?? [])], ['echo', 'hello']);
    assert.deepEqual(grant?.rateLimit, { perSecond: 5, burst: 10 });

    const generated = await adminCall(node, 'POST', '/v1/api-keys', { functions: ['hello'] });
    assert.equal(generated.status, 201);
    assert.match(generated.body.id as string, /^key-[0-9a-f]{12}$/);
    assert.notEqual(generated.body.key, key);

    const listed = await adminCall(node, 'GET', '/v1/api-keys');
    assert.equal(listed.status, 200);
    const keys = listed.body.keys as Array<Record<string, unknown>>;
    assert.deepEqual(keys.map((k) => k.id).sort(), ['ci', generated.body.id].sort());
    assert.ok(!listed.text.includes(key), 'the list never carries the key');
    assert.ok(keys.every((k) => !('sha256' in k) && !('key' in k)));
    const auditText = JSON.stringify((await node.audit.list()).items);
    assert.ok(
      !auditText.includes(key) && !auditText.includes(generated.body.key as string),
      'the audit log never holds a key',
    );
    assert.match(auditText, /"created":"ci"/);
  } finally {
    await node.close({ remove: true });
  }
});

void test('api keys: DELETE revokes at once; a restart keeps the others; refusals have codes', async () => {
  const node = await startAdminNode();
  const dir = node.dir;
  const a = await adminCall(node, 'POST', '/v1/api-keys', { id: 'a', functions: ['hello'] });
  const b = await adminCall(node, 'POST', '/v1/api-keys', { id: 'b', functions: ['hello'] });
  const removed = await adminCall(node, 'DELETE', '/v1/api-keys/a');
  assert.deepEqual(removed.body, { ok: true, removed: 'a' });
  assert.equal(node.gatewayKeys.authenticate(a.body.key as string), null);
  assert.equal((await adminCall(node, 'DELETE', '/v1/api-keys/a')).status, 404);

  const cases: Array<[unknown, RegExp]> = [
    [{ id: 'b', functions: ['hello'] }, /already present/],
    [{ functions: [] }, /functions: expected a list of 1\.\./],
    [{ functions: ['Hello!'] }, /functions\[0\]: expected a module name/],
    [{ functions: 'hello' }, /functions/],
    [{ id: 'has space', functions: ['hello'] }, /request\.id/],
    [{ functions: ['hello'], rateLimit: { perSecond: 0, burst: 1 } }, /perSecond must be a positive number/],
    [{ functions: ['hello'], rateLimit: { perSecond: 1, burst: 1, extra: 1 } }, /rateLimit: expected/],
    [{ functions: ['hello'], key: 'chosen' }, /unknown key/],
  ];
  for (const [body, pattern] of cases) {
    const reply = await adminCall(node, 'POST', '/v1/api-keys', body);
    assert.equal(reply.status, 400, reply.text);
    assert.equal(codeOf(reply), 'bad_request');
    assert.match(messageOf(reply), pattern);
  }
  assert.equal(node.gatewayKeys.size, 1);
  await node.close();

  const restarted = await startAdminNode({ dir });
  try {
    assert.equal(restarted.gatewayKeys.authenticate(b.body.key as string)?.id, 'b');
    assert.equal(restarted.gatewayKeys.authenticate(a.body.key as string), null);
    const listed = await adminCall(restarted, 'GET', '/v1/api-keys');
    assert.deepEqual(
      (listed.body.keys as Array<{ id: string }>).map((k) => k.id),
      ['b'],
    );
  } finally {
    await restarted.close({ remove: true });
  }
});
