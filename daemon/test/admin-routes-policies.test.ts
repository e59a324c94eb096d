import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GojinnError } from '@gojinn/errors';
import { Level } from 'level';
import type { PeerPolicy } from '../src/config/index.ts';
import { PolicyStore, effectivePolicies, parsePeerPolicy } from '../src/policies/index.ts';
import { PEER_A, PEER_B, adminCall, codeOf, messageOf, startAdminNode } from './admin-harness.ts';

const fromConfig: PeerPolicy = Object.freeze({
  id: PEER_A,
  modules: ['hello'],
  capabilities: {},
  ratePerSecond: 50,
  maxConcurrent: 8,
});

void test('policies: PUT validates like config, stores, overrides the config entry, calls onPoliciesChanged; DELETE restores it', async () => {
  const node = await startAdminNode({ configPeers: [fromConfig] });
  try {
    const initial = await adminCall(node, 'GET', '/v1/policies');
    assert.deepEqual(initial.body, { ok: true, policies: [{ ...fromConfig, source: 'config' }] });

    const put = await adminCall(node, 'PUT', `/v1/policies/${PEER_A}`, {
      modules: ['*'],
      capabilities: { 'kv.read': { prefixes: ['app/'] } },
      ratePerSecond: 5,
    });
    assert.equal(put.status, 200, put.text);
    const stored = {
      id: PEER_A,
      modules: ['*'],
      capabilities: { 'kv.read': { prefixes: ['app/'] } },
      ratePerSecond: 5,
      maxConcurrent: 8, // the config's default for an absent key
    };
    assert.deepEqual(put.body, { ok: true, policy: { ...stored, source: 'admin' } });
    const second = await adminCall(node, 'PUT', `/v1/policies/${PEER_B}`, { id: PEER_B, modules: ['hello'] });
    assert.equal(second.status, 200, second.text);
    const listed = await adminCall(node, 'GET', '/v1/policies');
    assert.deepEqual(
      (listed.body.policies as Array<{ id: string; source: string }>).map((p) => [p.id, p.source]),
      [PEER_A, PEER_B].sort().map((id) => [id, 'admin']),
    );
    assert.equal(node.policyChanges.length, 2);
    assert.deepEqual(
      node.policyChanges[1]?.find((p) => p.id === PEER_A),
      stored,
      'the hook sees the admin policy in place of the config one',
    );

    const removed = await adminCall(node, 'DELETE', `/v1/policies/${PEER_A}`);
    assert.deepEqual(removed.body, { ok: true, removed: PEER_A, now: 'config' });
    assert.deepEqual(
      node.policyChanges[2]?.find((p) => p.id === PEER_A),
      fromConfig,
    );
    const configOnly = await adminCall(node, 'DELETE', `/v1/policies/${PEER_A}`);
    assert.equal(configOnly.status, 404);
    assert.match(configOnly.text, /comes from the config file/);
    assert.equal(node.policyChanges.length, 3, 'a refused change calls no hook');
  } finally {
    await node.close({ remove: true });
  }
});

void test('policies: every config rule refuses with bad_request naming the key; nothing stored, no hook', async () => {
  const node = await startAdminNode();
  try {
    const cases: Array<[string, unknown, RegExp]> = [
      [PEER_A, { modules: ['hello'], burst: 3 }, /policy\."burst": unknown key/],
      [PEER_A, { capabilities: {} }, /policy\.modules: missing/],
      [PEER_A, { modules: ['Hello!'] }, /policy\.modules/],
      [
        PEER_A,
        { modules: ['hello'], ratePerSecond: 0 },
        /policy\.ratePerSecond: expected an integer in \[1, 1[_,]?000[_,]?000\]/,
      ],
      [PEER_A, { modules: ['hello'], ratePerSecond: 1_000_001 }, /policy\.ratePerSecond/],
      [PEER_A, { modules: ['hello'], maxConcurrent: 1025 }, /policy\.maxConcurrent/],
      [PEER_A, { modules: ['hello'], capabilities: { 'kv.read': {} } }, /policy\.capabilities/],
      [PEER_A, { modules: ['hello'], capabilities: { 'fs.write': {} } }, /policy\.capabilities/],
      [PEER_A, { id: PEER_B, modules: ['hello'] }, /not the peer id of the path/],
      [PEER_A, [], /JSON object/],
      ['not-a-peer', { modules: ['hello'] }, /policy\.id: .*peer id/],
    ];
    for (const [peer, body, pattern] of cases) {
      const reply = await adminCall(node, 'PUT', `/v1/policies/${peer}`, body);
      assert.equal(reply.status, 400, `${JSON.stringify(body)}: ${reply.text}`);
      assert.equal(codeOf(reply), 'bad_request');
      assert.match(messageOf(reply), pattern);
    }
    // The edges are accepted.
    const edge = await adminCall(node, 'PUT', `/v1/policies/${PEER_A}`, {
      modules: ['hello'],
      ratePerSecond: 1_000_000,
      maxConcurrent: 1024,
    });
    assert.equal(edge.status, 200, edge.text);
    assert.equal(node.policies.size, 1);
    assert.equal(node.policyChanges.length, 1);
    const unknown = await adminCall(node, 'DELETE', `/v1/policies/${PEER_B}`);
    assert.equal(unknown.status, 404);
  } finally {
    await node.close({ remove: true });
  }
});

void test('policies survive a restart; a stored record that no longer validates stops the open', async () => {
  const node = await startAdminNode();
  const dir = node.dir;
  await adminCall(node, 'PUT', `/v1/policies/${PEER_B}`, { modules: ['hello'], maxConcurrent: 2 });
  await node.close();
  const restarted = await startAdminNode({ dir });
  try {
    const listed = await adminCall(restarted, 'GET', '/v1/policies');
    assert.deepEqual(listed.body.policies, [
      {
        id: PEER_B,
        modules: ['hello'],
        capabilities: {},
        ratePerSecond: 50,
        maxConcurrent: 2,
        source: 'admin',
      },
    ]);
  } finally {
    await restarted.close({ remove: true });
  }

  const temp = await mkdtemp(join(tmpdir(), 'gojinn-policies-'));
  const db = new Level<string, Uint8Array>(temp, { keyEncoding: 'utf8', valueEncoding: 'view' });
  try {
    const sublevel = db.sublevel<string, Uint8Array>('policies', {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    await sublevel.put(
      PEER_A,
      new TextEncoder().encode(JSON.stringify({ id: PEER_A, modules: ['x'], maxConcurrent: 0 })),
    );
    await assert.rejects(PolicyStore.open(sublevel), (error: unknown) => {
      assert.ok(error instanceof GojinnError);
      assert.equal(error.code, 'internal');
      assert.match(error.message, /stored policy for peer .* is unreadable: stored\.maxConcurrent/);
      return true;
    });
    await sublevel.put(PEER_A, new TextEncoder().encode(JSON.stringify({ id: PEER_B, modules: ['x'] })));
    await assert.rejects(PolicyStore.open(sublevel), /filed under another peer id/);
  } finally {
    await db.close();
    await rm(temp, { recursive: true, force: true });
  }
});

void test('PolicyStore: at most maxPolicies; replacing one at the limit is allowed', async () => {
  const temp = await mkdtemp(join(tmpdir(), 'gojinn-policies-'));
  const db = new Level<string, Uint8Array>(temp, { keyEncoding: 'utf8', valueEncoding: 'view' });
  try {
    const sublevel = db.sublevel<string, Uint8Array>('policies', {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    const store = await PolicyStore.open(sublevel, { maxPolicies: 1 });
    await store.put({ id: PEER_A, modules: ['a'] });
    await store.put({ id: PEER_A, modules: ['b'] });
    await assert.rejects(store.put({ id: PEER_B, modules: ['a'] }), /at most 1 peer policies/);
    assert.deepEqual(
      store.list().map((p) => p.modules),
      [['b']],
    );
    await assert.rejects(PolicyStore.open(sublevel, { maxPolicies: 0 }), /more than 0 policies/);
  } finally {
    await db.close();
    await rm(temp, { recursive: true, force: true });
  }
  // The merge: admin replaces config by id, sorted by id.
  const merged = effectivePolicies([fromConfig], [parsePeerPolicy({ id: PEER_A, modules: ['*'] })]);
  assert.deepEqual(
    merged.map((e) => [e.policy.modules, e.source]),
    [[['*'], 'admin']],
  );
});
