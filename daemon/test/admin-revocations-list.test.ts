/**
 * GET /v1/revocations: the revocations a node holds, each the signed record as received, paged
 * with `after`/`limit`; an over-long cursor is bad_request; no token is 401.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRevocation, signRevocation } from '@gojinn/manifest';
import { PUBLISHER, adminCall, codeOf, helloBytes, startAdminNode } from './admin-harness.ts';

void test('revocations are listed with their signed records, paged; bad cursors and no token refused', async () => {
  const node = await startAdminNode();
  try {
    await node.install(helloBytes(), 'hello', '1.0.0');
    const empty = await adminCall(node, 'GET', '/v1/revocations');
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.body.revocations, []);

    const records = ['1.0.0', '1.0.1', '1.0.2'].map((version) =>
      signRevocation(
        { target: { kind: 'version', publisher: PUBLISHER.publicKey, name: 'hello', version } },
        PUBLISHER.secretKey,
      ),
    );
    for (const record of records) {
      const applied = await adminCall(
        node,
        'POST',
        '/v1/revocations',
        new TextDecoder().decode(encodeRevocation(record)),
      );
      assert.equal(applied.status, 200, applied.text);
    }
    const first = await adminCall(node, 'GET', '/v1/revocations?limit=2');
    assert.equal(first.status, 200, first.text);
    const page1 = first.body.revocations as {
      target: { version: string };
      revocation: { signature: string };
    }[];
    assert.equal(page1.length, 2);
    assert.equal(typeof first.body.next, 'string');
    const second = await adminCall(
      node,
      'GET',
      `/v1/revocations?limit=2&after=${encodeURIComponent(first.body.next as string)}`,
    );
    const page2 = second.body.revocations as typeof page1;
    assert.equal(page2.length, 1);
    assert.equal(second.body.next, undefined);
    const listed = [...page1, ...page2];
    assert.deepEqual(listed.map((r) => r.target.version).sort(), ['1.0.0', '1.0.1', '1.0.2']);
    // Each is the signed record itself: its signature is the one that was applied.
    assert.deepEqual(
      listed.map((r) => r.revocation.signature).sort(),
      records.map((r) => r.signature).sort(),
    );

    const long = await adminCall(node, 'GET', `/v1/revocations?after=${'x'.repeat(1025)}`);
    assert.equal(long.status, 400);
    assert.equal(codeOf(long), 'bad_request');
    const anonymous = await adminCall(node, 'GET', '/v1/revocations', undefined, null);
    assert.equal(anonymous.status, 401);
  } finally {
    await node.close({ remove: true });
  }
});
