import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateAdminToken } from '../src/admin/index.ts';
import {
  PEER_A,
  PUBLISHER,
  adminCall,
  codeOf,
  helloBytes,
  manifestFor,
  startAdminNode,
} from './admin-harness.ts';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

void test("every route: no token, a wrong token or another node's token is 401 and changes nothing", async () => {
  const node = await startAdminNode();
  const other = await startAdminNode();
  try {
    const hello = helloBytes();
    await node.install(hello, 'hello', '1.0.0');
    const created = await adminCall(node, 'POST', '/v1/api-keys', { id: 'keep', functions: ['hello'] });
    assert.equal(created.status, 201);
    const put = await adminCall(node, 'PUT', `/v1/policies/${PEER_A}`, { modules: ['hello'] });
    assert.equal(put.status, 200);
    const hash = createHash('sha256').update(hello).digest('hex');
    const routes: Array<[string, string, unknown]> = [
      ['GET', '/v1/status', undefined],
      ['GET', '/v1/peers', undefined],
      ['GET', '/v1/modules', undefined],
      ['POST', '/v1/modules', { module: b64(hello), manifest: b64(manifestFor(hello, 'hello', '2.0.0')) }],
      ['DELETE', `/v1/modules/${hash}?force=true`, undefined],
      ['POST', '/v1/pins', { publisher: PUBLISHER.publicKey, name: 'hello', version: '1.0.0' }],
      ['DELETE', '/v1/pins', { publisher: PUBLISHER.publicKey, name: 'hello' }],
      ['GET', '/v1/policies', undefined],
      ['PUT', `/v1/policies/${PEER_A}`, { modules: ['*'] }],
      ['DELETE', `/v1/policies/${PEER_A}`, undefined],
      ['GET', '/v1/secrets', undefined],
      ['GET', '/v1/api-keys', undefined],
      ['POST', '/v1/api-keys', { functions: ['hello'] }],
      ['DELETE', '/v1/api-keys/keep', undefined],
      ['GET', '/v1/receipts', undefined],
      ['POST', '/v1/invoke', { name: 'hello' }],
      ['GET', '/v1/audit', undefined],
      ['GET', '/v1/no-such-route', undefined],
    ];
    const snapshot = async (): Promise<string> =>
      JSON.stringify({
        audit: node.audit.length,
        modules: (await node.registry.list()).items,
        policies: node.policies.list(),
        keys: node.apiKeys.list(),
        gatewayKeys: node.gatewayKeys.size,
        published: node.published.length,
        changes: node.policyChanges.length,
      });
    const before = await snapshot();
    const tokens: Array<[string, string | null]> = [
      ['no token', null],
      ['wrong token', generateAdminToken()],
      ["other node's token", other.token],
      ['token with a suffix', `${node.token}0`],
    ];
    for (const [method, path, body] of routes) {
      for (const [what, token] of tokens) {
        const reply = await adminCall(node, method, path, body, token);
        assert.equal(reply.status, 401, `${method} ${path} with ${what}`);
        assert.equal(codeOf(reply), 'unauthorized');
      }
    }
    assert.equal(await snapshot(), before, 'nothing changed, not even the audit log');
    // The same requests with the node's own token do change things (the test can fail).
    const publish = await adminCall(node, 'POST', '/v1/modules', routes[3]?.[2]);
    assert.equal(publish.status, 201, publish.text);
    assert.notEqual(await snapshot(), before);
  } finally {
    await other.close({ remove: true });
    await node.close({ remove: true });
  }
});
