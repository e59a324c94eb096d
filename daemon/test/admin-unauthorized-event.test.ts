/**
 * A refused admin request (no token, a wrong one) is reported through onUnauthorized — with
 * the caller's address and whether a token was presented, never the token — after the 401;
 * an accepted one is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { keyPairFromSeed } from '@gojinn/manifest';
import { ModuleRegistry } from '@gojinn/registry';
import { AuditLog, createAdminServer } from '../src/index.ts';
import { openTestStore, tempDir } from './audit-support.ts';

const TOKEN = 'a'.repeat(64);

function get(url: string, authorization?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/status`,
      { headers: authorization === undefined ? {} : { authorization } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

void test('refused admin requests are reported without the token; accepted ones are not', async () => {
  const temp = await tempDir('admin-unauth');
  const store = await openTestStore(temp.dir);
  const events: { address: string; presented: boolean }[] = [];
  const admin = await createAdminServer({
    token: TOKEN,
    registry: new ModuleRegistry({ store, trust: {} }),
    audit: await AuditLog.open(store.extension('audit'), {
      signingKey: keyPairFromSeed(new Uint8Array(32).fill(3)),
      sync: false,
    }),
    port: 0,
    onUnauthorized: (event) => events.push(event),
  });
  try {
    assert.equal(await get(admin.url), 401);
    const wrong = `${'b'.repeat(63)}c`;
    assert.equal(await get(admin.url, `Bearer ${wrong}`), 401);
    assert.equal(await get(admin.url, `Bearer ${TOKEN}`), 200);
    assert.deepEqual(events, [
      { address: '127.0.0.1', presented: false },
      { address: '127.0.0.1', presented: true },
    ]);
    assert.ok(!JSON.stringify(events).includes(wrong) && !JSON.stringify(events).includes(TOKEN));
  } finally {
    await admin.close();
    await store.close();
    await temp.remove();
  }
});
