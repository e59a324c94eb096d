import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GojinnError } from '@gojinn/errors';
import {
  encodeManifest,
  encodeRevocation,
  keyPairFromSeed,
  moduleDigest,
  signManifest,
  signRevocation,
} from '@gojinn/manifest';
import { ModuleRegistry } from '@gojinn/registry';
import type { Store } from '@gojinn/store';
import {
  DEFAULT_ADMIN_LIMITS,
  createAdminServer,
  generateAdminToken,
  readAdminToken,
  type AdminServer,
} from '../src/admin/index.ts';
import { isLoopbackHost } from '../src/config/value-kinds.ts';
import { AuditLog } from '../src/audit/index.ts';
import { openTestStore, tempDir } from './audit-support.ts';

const publisher = keyPairFromSeed(new Uint8Array(32).fill(41));
const nodeKey = keyPairFromSeed(new Uint8Array(32).fill(42));

/** A minimal valid module: the wasm header and a custom section naming `tag`. */
function moduleBytes(tag: string): Uint8Array {
  const payload = new TextEncoder().encode(tag);
  return Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0, 0x00, payload.length + 2, 1, 0x74, ...payload);
}

async function writeToken(dir: string, token = generateAdminToken(), mode = 0o600): Promise<string> {
  const path = join(dir, 'admin.token');
  await writeFile(path, `${token}\n`, { mode });
  await chmod(path, mode);
  return token;
}

interface Node {
  dir: string;
  token: string;
  store: Store;
  registry: ModuleRegistry;
  audit: AuditLog;
  admin: AdminServer;
  stop: () => Promise<void>;
}

/** A node's admin side: data dir with token, store with hello@1.0.0 installed, audit log, admin API. */
async function startNode(): Promise<Node> {
  const temp = await tempDir('admin');
  await writeToken(temp.dir);
  const token = await readAdminToken(temp.dir);
  const store = await openTestStore(temp.dir);
  const registry = new ModuleRegistry({ store, trust: { publishers: [publisher.publicKey] } });
  const bytes = moduleBytes('hello');
  const manifest = signManifest(
    { name: 'hello', version: '1.0.0', ...moduleDigest(bytes), capabilities: {} },
    publisher.secretKey,
  );
  await registry.install(bytes, encodeManifest(manifest));
  const audit = await AuditLog.open(store.extension('audit'), { signingKey: nodeKey, sync: false });
  const admin = await createAdminServer({ token, registry, audit, port: 0 });
  return {
    dir: temp.dir,
    token,
    store,
    registry,
    audit,
    admin,
    stop: async () => {
      await admin.close();
      await store.close();
      await temp.remove();
    },
  };
}

function revocationBytes(): Uint8Array {
  const target = {
    kind: 'version',
    publisher: publisher.publicKey,
    name: 'hello',
    version: '1.0.0',
  } as const;
  return encodeRevocation(signRevocation({ target }, publisher.secretKey));
}

async function call(
  node: Node,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Uint8Array,
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${node.admin.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: Buffer.from(body) }),
  });
  return {
    status: response.status,
    json: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

void test('with the token: status, modules, a revocation, the audit log — each request audited', async () => {
  const node = await startNode();
  try {
    assert.match(node.admin.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const status = await call(node, 'GET', '/v1/status', bearer(node.token));
    assert.equal(status.status, 200);
    assert.equal(status.json.node, nodeKey.publicKey);
    const modules = await call(node, 'GET', '/v1/modules', bearer(node.token));
    assert.equal(modules.status, 200);
    const listed = modules.json.modules as { name: string; revoked: boolean }[];
    assert.deepEqual(
      listed.map((m) => [m.name, m.revoked]),
      [['hello', false]],
    );
    const revoked = await call(node, 'POST', '/v1/revocations', bearer(node.token), revocationBytes());
    assert.equal(revoked.status, 200);
    assert.equal(revoked.json.authority, 'publisher');
    assert.equal((await node.registry.list()).items[0]?.revoked, true);
    const log = await call(node, 'GET', '/v1/audit', bearer(node.token));
    assert.equal(log.status, 200);
    const entries = log.json.entries as { seq: number; kind: string; data: Record<string, unknown> }[];
    assert.deepEqual(
      entries.map((e) => [e.seq, e.kind, e.data.route, e.data.status]),
      [
        [0, 'admin', 'GET /v1/status', 200],
        [1, 'admin', 'GET /v1/modules', 200],
        [2, 'admin', 'POST /v1/revocations', 200],
      ],
    );
    assert.deepEqual(entries[2]?.data.revoked, {
      kind: 'version',
      publisher: publisher.publicKey,
      name: 'hello',
      version: '1.0.0',
    });
    const verified = await call(node, 'GET', '/v1/audit/verify', bearer(node.token));
    // Seals: one per append batch (the admin appends may share batches).
    const seals = (verified.json as { sealsVerified?: unknown }).sealsVerified;
    assert.ok(typeof seals === 'number' && seals >= 1 && seals <= 4, `sealsVerified ${String(seals)}`);
    assert.deepEqual(verified.json, {
      ok: true,
      entriesVerified: 4,
      sealsVerified: seals,
      signer: nodeKey.publicKey,
    });
  } finally {
    await node.stop();
  }
});

void test('no token, a wrong token, the token of another node, a malformed header: 401 and nothing changed', async () => {
  const node = await startNode();
  const other = await startNode();
  try {
    const wrong = generateAdminToken();
    const attempts: Record<string, string>[] = [
      {},
      bearer(wrong),
      bearer(other.token),
      bearer(node.token.toUpperCase()),
      bearer(`${node.token}0`),
      bearer(node.token.slice(0, 63)),
      { authorization: `bearer ${node.token}` },
      { authorization: `Basic ${Buffer.from(`admin:${node.token}`).toString('base64')}` },
      { authorization: node.token },
    ];
    for (const headers of attempts) {
      for (const [method, path, body] of [
        ['POST', '/v1/revocations', revocationBytes()],
        ['GET', '/v1/status', undefined],
        ['GET', '/v1/nowhere', undefined],
      ] as const) {
        const result = await call(node, method, path, headers, body);
        assert.equal(result.status, 401, `${method} ${path} with ${JSON.stringify(headers)}`);
        assert.equal((result.json.error as { code: string }).code, 'unauthorized');
        assert.match(result.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
    }
    assert.equal(node.audit.length, 0, 'a refused request writes no audit entry');
    assert.equal((await node.registry.list()).items[0]?.revoked, false, 'the revocation was not applied');
    assert.equal(
      (await node.store.revocations.find({
        name: 'hello',
        publisher: publisher.publicKey,
        version: '1.0.0',
      })) === undefined,
      true,
    );
    // The other node's token works on the other node only.
    assert.equal((await call(other, 'GET', '/v1/status', bearer(other.token))).status, 200);
  } finally {
    await node.stop();
    await other.stop();
  }
});

void test('a non-loopback bind is refused without the opt-in, before anything listens', async () => {
  const temp = await tempDir('admin');
  const store = await openTestStore(temp.dir);
  try {
    const registry = new ModuleRegistry({ store });
    const audit = await AuditLog.open(store.extension('audit'), { signingKey: nodeKey, sync: false });
    const token = generateAdminToken();
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '::ffff:10.0.0.1']) {
      await assert.rejects(
        createAdminServer({ token, registry, audit, host, port: 0 }),
        (error: unknown) =>
          error instanceof GojinnError &&
          error.code === 'bad_request' &&
          error.message.includes(`refusing to bind ${host}`) &&
          error.message.includes('allowNonLoopback'),
        host,
      );
    }
    // With the opt-in, the wildcard address binds (and answers on loopback, where the test can reach it).
    const open = await createAdminServer({
      token,
      registry,
      audit,
      host: '0.0.0.0',
      port: 0,
      allowNonLoopback: true,
    });
    try {
      const response = await fetch(`http://127.0.0.1:${open.port}/v1/status`, { headers: bearer(token) });
      assert.equal(response.status, 200);
    } finally {
      await open.close();
    }
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
  } finally {
    await store.close();
    await temp.remove();
  }
});

void test('maxBodyBytes: a body at the limit reaches the route, one byte over is 413', async () => {
  const node = await startNode();
  try {
    const limit = DEFAULT_ADMIN_LIMITS.maxBodyBytes;
    const atLimit = await call(
      node,
      'POST',
      '/v1/revocations',
      bearer(node.token),
      new Uint8Array(limit).fill(0x20),
    );
    // The route saw it: the revocation parser refuses it (its own 4 KiB limit), not the body reader.
    assert.equal(atLimit.status, 400);
    assert.notEqual((atLimit.json.error as { message: string }).message.includes('maxBodyBytes'), true);
    const over = await call(
      node,
      'POST',
      '/v1/revocations',
      bearer(node.token),
      new Uint8Array(limit + 1).fill(0x20),
    );
    assert.equal(over.status, 413);
    assert.match((over.json.error as { message: string }).message, /maxBodyBytes \(65536\)/);
    const entries = (await node.audit.list()).items.map((e) => e.data as Record<string, unknown>);
    assert.deepEqual(
      entries.map((d) => [d.status, d.error]),
      [
        [400, (atLimit.json.error as { code: string }).code],
        [413, 'bad_request'],
      ],
    );
  } finally {
    await node.stop();
  }
});

void test('authenticated bad requests are answered with their code and audited; unknown routes are 404', async () => {
  const node = await startNode();
  try {
    const missing = await call(node, 'GET', '/v1/nowhere', bearer(node.token));
    assert.equal(missing.status, 404);
    assert.equal((missing.json.error as { code: string }).code, 'not_found');
    const badLimit = await call(node, 'GET', '/v1/audit?limit=-1', bearer(node.token));
    assert.equal(badLimit.status, 400);
    const forged = revocationBytes();
    const flip = forged.length - 5;
    forged[flip] = (forged[flip] ?? 0) ^ 1;
    const refused = await call(node, 'POST', '/v1/revocations', bearer(node.token), forged);
    assert.equal(refused.status, 400);
    assert.equal((await node.registry.list()).items[0]?.revoked, false);
    const page = await call(node, 'GET', '/v1/audit?after=0&limit=1', bearer(node.token));
    assert.deepEqual(
      (page.json.entries as { seq: number }[]).map((e) => e.seq),
      [1],
    );
    assert.equal(page.json.next, 1);
    assert.equal(node.audit.length, 4);
  } finally {
    await node.stop();
  }
});

void test('readAdminToken: the file init writes is read; missing, malformed or group/world-accessible files are refused', async () => {
  const temp = await tempDir('admin-token');
  try {
    await assert.rejects(readAdminToken(temp.dir), /cannot read the admin token .*ENOENT/);
    const token = await writeToken(temp.dir);
    assert.equal(await readAdminToken(temp.dir), token);
    await writeToken(temp.dir, token, 0o640);
    await assert.rejects(readAdminToken(temp.dir), /accessible to other users \(mode 640\)/);
    await writeToken(temp.dir, token.toUpperCase());
    await assert.rejects(readAdminToken(temp.dir), /not 64 lowercase hex digits/);
    await writeToken(temp.dir, `${token}0`);
    await assert.rejects(readAdminToken(temp.dir), /not 64 lowercase hex digits/);
  } finally {
    await temp.remove();
  }
});

void test('the admin token never reaches the audit log or a response body', async () => {
  const node = await startNode();
  try {
    const texts: string[] = [];
    for (const path of ['/v1/status', `/v1/nowhere?token=x`, '/v1/audit', '/v1/audit/verify']) {
      const response = await fetch(`${node.admin.url}${path}`, { headers: bearer(node.token) });
      texts.push(await response.text());
    }
    const unauthenticated = await fetch(`${node.admin.url}/v1/status`, { headers: bearer(`${node.token}0`) });
    texts.push(await unauthenticated.text());
    for (const entry of (await node.audit.list()).items) texts.push(JSON.stringify(entry));
    assert.equal(texts.length, 9);
    for (const text of texts) assert.equal(text.includes(node.token), false, text);
    // The audit records the path, never the query string.
    assert.equal((await node.audit.list()).items[1]?.data !== undefined, true);
    assert.deepEqual(
      (await node.audit.list()).items.map((e) => (e.data as { route: string }).route)[1],
      'GET /v1/nowhere',
    );
  } finally {
    await node.stop();
  }
});
