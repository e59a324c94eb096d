/**
 * Batch-signed receipts end to end, on real nodes with a real sandbox: calls of one caller that
 * finish together come back under one signature, each receipt verified by the caller on its
 * own; calls of two callers finishing together are signed in separate batches; `maxReceiptsPerBatch`
 * splits a large batch; the server's option is checked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PrivateKey } from '@libp2p/interface';
import { loadOrCreateNodeIdentity } from '../src/identity.ts';
import { createInvokeProtocol, invokeRemote } from '../src/invoke/protocol.ts';
import type { ExecuteCall, ExecuteResult, InvokeExecutor, InvokeServer } from '../src/invoke/protocol.ts';
import type { InvokeAnswer, InvokeCall } from '../src/invoke/messages.ts';
import { PeerPolicyTable } from '../src/invoke/peer-policy.ts';
import { MAX_RECEIPTS_PER_BATCH, verifyReceipt } from '../src/invoke/receipt.ts';
import type { BatchReceipt, Receipt } from '../src/invoke/receipt.ts';
import { VerifiedBatchCache } from '../src/invoke/verified-batches.ts';
import type { MeshNode } from '../src/node.ts';
import { TestMesh } from './support/nodes.ts';
import { TestExecutor, exampleWasm, guestRequest } from './support/invoke-executor.ts';
import { allow, connect } from './support/invoke-nodes.ts';

const mesh = new TestMesh();
let executor: TestExecutor;

before(async () => {
  executor = await TestExecutor.create([{ name: 'hello', version: '1.0.0', bytes: exampleWasm('hello') }]);
});

after(async () => {
  await mesh.close();
  await executor.close();
});

const call = (): InvokeCall => ({
  module: { name: 'hello', range: '1' },
  request: guestRequest('/hello'),
  deadlineMs: 10_000,
});

/**
 * The real executor, whose results are held until `count` calls have run and then released
 * all at once (in one turn), as a worker pool hands back results that finished together.
 */
function finishingTogether(count: number): InvokeExecutor {
  const run = executor.executor();
  const held: (() => void)[] = [];
  return async (remote: ExecuteCall): Promise<ExecuteResult> => {
    const result = await run(remote);
    await new Promise<void>((resolve) => {
      held.push(resolve);
      if (held.length === count) for (const release of held.splice(0)) release();
    });
    return result;
  };
}

async function server(
  execute: InvokeExecutor,
  maxReceiptsPerBatch?: number,
): Promise<{ node: MeshNode; policies: PeerPolicyTable; invoke: InvokeServer; privateKey: PrivateKey }> {
  const dataDir = await mesh.dataDir();
  const { privateKey } = await loadOrCreateNodeIdentity(dataDir);
  const node = await mesh.node({ dataDir });
  const policies = new PeerPolicyTable();
  const invoke = createInvokeProtocol({
    policies,
    execute,
    privateKey,
    ...(maxReceiptsPerBatch === undefined ? {} : { maxReceiptsPerBatch }),
  });
  await invoke.handle(node.libp2p);
  return { node, policies, invoke, privateKey };
}

const batched = (receipt: Receipt): BatchReceipt => {
  assert.equal(receipt.schema, 2);
  return receipt as BatchReceipt;
};

/** Groups receipts by signature and checks each group is a whole batch: sizes agree, every index once. */
function batchesOf(answers: InvokeAnswer[]): Map<string, BatchReceipt[]> {
  const groups = new Map<string, BatchReceipt[]>();
  for (const answer of answers) {
    const receipt = batched(answer.receipt);
    groups.set(receipt.signature, [...(groups.get(receipt.signature) ?? []), receipt]);
  }
  for (const group of groups.values()) {
    const size = group[0]?.batch.size;
    assert.ok(group.every((receipt) => receipt.batch.size === size));
    assert.deepEqual(
      group.map((receipt) => receipt.batch.index).sort((x, y) => x - y),
      Array.from({ length: size ?? 0 }, (_, i) => i),
      'every leaf of the batch is one of these calls',
    );
  }
  return groups;
}

void test('24 calls of one caller finishing together: one signature, every receipt verified alone', async () => {
  const a = await server(finishingTogether(24));
  const c = await mesh.node();
  a.policies.setPolicies([allow(c, ['hello'])]);
  await connect(c, a.node);
  const answers = await Promise.all(
    Array.from({ length: 24 }, () => invokeRemote(c.libp2p, a.node.peerId, call())),
  );
  const groups = batchesOf(answers);
  assert.equal(groups.size, 1);
  assert.equal(a.invoke.receipts.batches, 1);
  assert.equal(a.invoke.receipts.receipts, 24);
  // Anyone holding the peer id (a third party, an audit) verifies each one with no cache.
  for (const answer of answers) {
    assert.equal(answer.response.status, 200);
    assert.deepEqual(
      await verifyReceipt(JSON.parse(JSON.stringify(answer.receipt)), a.node.peerId, {
        cache: new VerifiedBatchCache(),
      }),
      answer.receipt,
    );
  }
});

void test('calls of two callers finishing in the same turn are signed in separate batches', async () => {
  const a = await server(finishingTogether(20));
  const [c1, c2] = [await mesh.node(), await mesh.node()];
  a.policies.setPolicies([allow(c1, ['hello']), allow(c2, ['hello'])]);
  await connect(c1, a.node);
  await connect(c2, a.node);
  const [from1, from2] = await Promise.all(
    [c1, c2].map((c) =>
      Promise.all(Array.from({ length: 10 }, () => invokeRemote(c.libp2p, a.node.peerId, call()))),
    ),
  );
  const [groups1, groups2] = [batchesOf(from1 ?? []), batchesOf(from2 ?? [])];
  // Each caller's batches hold only its own calls (batchesOf: every index of every batch seen),
  // and no signature is common to both.
  assert.equal(groups1.size, 1);
  assert.equal(groups2.size, 1);
  for (const signature of groups1.keys()) assert.equal(groups2.has(signature), false);
  assert.equal(a.invoke.receipts.batches, 2);
});

void test('maxReceiptsPerBatch splits calls finishing together; the option is checked', async () => {
  const a = await server(finishingTogether(10), 4);
  const c = await mesh.node();
  a.policies.setPolicies([allow(c, ['hello'])]);
  await connect(c, a.node);
  const answers = await Promise.all(
    Array.from({ length: 10 }, () => invokeRemote(c.libp2p, a.node.peerId, call())),
  );
  const sizes = [...batchesOf(answers).values()].map((group) => group.length).sort((x, y) => x - y);
  assert.deepEqual(sizes, [2, 4, 4]);
  const { privateKey } = await loadOrCreateNodeIdentity(await mesh.dataDir());
  for (const maxReceiptsPerBatch of [0, MAX_RECEIPTS_PER_BATCH + 1]) {
    assert.throws(
      () =>
        createInvokeProtocol({
          policies: new PeerPolicyTable(),
          execute: executor.executor(),
          privateKey,
          maxReceiptsPerBatch,
        }),
      RangeError,
    );
  }
});
