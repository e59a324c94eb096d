import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import { keyPairFromSeed, moduleDigest, signManifest, encodeManifest } from '@gojinn/manifest';
import { publishBodyBytes } from '../src/admin/index.ts';
import { PUBLISHER, adminCall, codeOf, helloBytes, manifestFor, startAdminNode } from './admin-harness.ts';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** A small valid module whose custom section names `tag` (distinct bytes per tag). */
function tinyModule(tag: string): Uint8Array {
  const payload = new TextEncoder().encode(tag);
  return Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0, 0x00, payload.length + 2, 1, 0x74, ...payload);
}

void test('publish: installs, calls onPublished with the exact manifest bytes, answers 201 then 200 for the same bytes', async () => {
  const node = await startAdminNode();
  try {
    const bytes = helloBytes();
    const manifest = manifestFor(bytes, 'hello', '1.0.0');
    const first = await adminCall(node, 'POST', '/v1/modules', {
      module: b64(bytes),
      manifest: b64(manifest),
    });
    assert.equal(first.status, 201, first.text);
    assert.deepEqual(first.body, {
      ok: true,
      installed: true,
      module: {
        name: 'hello',
        version: '1.0.0',
        publisher: PUBLISHER.publicKey,
        hash: sha256(bytes),
        size: bytes.byteLength,
        active: true,
      },
      announced: { ok: true, recipients: 2 },
    });
    assert.equal(node.published.length, 1);
    assert.deepEqual(Buffer.from(node.published[0]?.manifestBytes ?? []), Buffer.from(manifest));
    assert.equal((await node.registry.resolve('hello')).record.hash, sha256(bytes));
    const again = await adminCall(node, 'POST', '/v1/modules', {
      module: b64(bytes),
      manifest: b64(manifest),
    });
    assert.equal(again.status, 200);
    assert.equal(again.body.installed, false);
    const entries = (await node.audit.list()).items.filter((e) => e.kind === 'admin');
    assert.equal(entries.length, 2);
    assert.deepEqual((entries[0]?.data as { module: { hash: string } }).module.hash, sha256(bytes));
  } finally {
    await node.close({ remove: true });
  }
});

void test('publish: a failing announcement is reported with its code and the install stays', async () => {
  const node = await startAdminNode({
    onPublished: () => Promise.reject(new GojinnError('peer_unreachable', 'no peers subscribed')),
  });
  try {
    const bytes = tinyModule('a');
    const reply = await adminCall(node, 'POST', '/v1/modules', {
      module: b64(bytes),
      manifest: b64(manifestFor(bytes, 'tiny', '1.0.0')),
    });
    assert.equal(reply.status, 201);
    assert.deepEqual(reply.body.announced, {
      ok: false,
      error: { code: 'peer_unreachable', message: 'no peers subscribed' },
    });
    assert.equal((await node.registry.resolve('tiny')).record.version, '1.0.0');
  } finally {
    await node.close({ remove: true });
  }
});

void test('publish refusals keep their codes and install nothing', async () => {
  const node = await startAdminNode();
  try {
    const bytes = tinyModule('b');
    const manifest = manifestFor(bytes, 'tiny', '1.0.0');
    const stranger = keyPairFromSeed(new Uint8Array(32).fill(99));
    const untrusted = encodeManifest(
      signManifest(
        {
          name: 'tiny',
          version: '1.0.0',
          ...moduleDigest(bytes),
          capabilities: {},
          created: '2026-01-31T12:00:00.000Z',
        },
        stranger.secretKey,
      ),
    );
    const tampered = Buffer.from(manifest).toString('utf8').replace('"1.0.0"', '"1.0.1"');
    const cases: Array<[string, unknown, number, string]> = [
      ['not JSON', '{"module":', 400, 'bad_request'],
      ['an array', '[]', 400, 'bad_request'],
      ['unknown field', { module: b64(bytes), manifest: b64(manifest), extra: 1 }, 400, 'bad_request'],
      ['missing manifest', { module: b64(bytes) }, 400, 'bad_request'],
      ['loose base64', { module: `${b64(bytes)}!`, manifest: b64(manifest) }, 400, 'bad_request'],
      [
        'unpadded base64',
        { module: b64(bytes).replace(/=+$/, ''), manifest: b64(manifest) },
        400,
        'bad_request',
      ],
      ['non-canonical base64', { module: b64(bytes), manifest: 'QR==' }, 400, 'bad_request'],
      ['untrusted publisher', { module: b64(bytes), manifest: b64(untrusted) }, 403, 'untrusted_publisher'],
      [
        'tampered manifest',
        { module: b64(bytes), manifest: b64(Buffer.from(tampered)) },
        400,
        'signature_invalid',
      ],
      ['other bytes', { module: b64(tinyModule('c')), manifest: b64(manifest) }, 400, 'signature_invalid'],
      [
        'not wasm',
        { module: b64(new Uint8Array(8)), manifest: b64(manifestFor(new Uint8Array(8), 'tiny', '1.0.0')) },
        400,
        'invalid_module',
      ],
    ];
    for (const [what, body, status, code] of cases) {
      const reply = await adminCall(node, 'POST', '/v1/modules', body);
      assert.equal(reply.status, status, `${what}: ${reply.text}`);
      assert.equal(codeOf(reply), code, what);
    }
    assert.deepEqual((await node.registry.list()).items, []);
    assert.equal(node.published.length, 0);
    // A rollback: 2.0.0 then 1.5.0.
    const two = tinyModule('two');
    await node.install(two, 'tiny', '2.0.0');
    const older = tinyModule('older');
    const rollback = await adminCall(node, 'POST', '/v1/modules', {
      module: b64(older),
      manifest: b64(manifestFor(older, 'tiny', '1.5.0')),
    });
    assert.equal(rollback.status, 409);
    assert.equal(codeOf(rollback), 'rollback');
  } finally {
    await node.close({ remove: true });
  }
});

void test('maxPublishBytes: a body at the limit reaches the route, one byte over is 413; other routes keep maxBodyBytes', async () => {
  const bytes = tinyModule('limit');
  const body = JSON.stringify({ module: b64(bytes), manifest: b64(manifestFor(bytes, 'tiny', '1.0.0')) });
  const node = await startAdminNode({ limits: { maxPublishBytes: body.length + 3, maxBodyBytes: 1024 } });
  try {
    const over = await adminCall(node, 'POST', '/v1/modules', `${body}    `);
    assert.equal(over.status, 413);
    assert.match(over.text, /maxPublishBytes \(/);
    const at = await adminCall(node, 'POST', '/v1/modules', `${body}   `);
    assert.equal(at.status, 201, at.text);
    // The publish limit is not every route's: a pin body over maxBodyBytes is 413.
    const pin = await adminCall(node, 'POST', '/v1/pins', ' '.repeat(1025));
    assert.equal(pin.status, 413);
    assert.match(pin.text, /maxBodyBytes \(1024\)/);
  } finally {
    await node.close({ remove: true });
  }
  // The default fits the store's largest module and manifest.
  assert.equal(publishBodyBytes(3, 3), 4 + 4 + 1024);
  assert.ok(publishBodyBytes(16 * 1024 * 1024, 64 * 1024) > (16 * 1024 * 1024 * 4) / 3);
});

void test('DELETE /v1/modules/<sha256>: inactive goes, active needs ?force=true, pinned never; codes for the rest', async () => {
  const node = await startAdminNode();
  try {
    const one = tinyModule('one');
    const two = tinyModule('two');
    await node.install(one, 'tiny', '1.0.0');
    await node.install(two, 'tiny', '2.0.0');
    const active = await adminCall(node, 'DELETE', `/v1/modules/${sha256(two)}`);
    assert.equal(active.status, 400);
    assert.match(active.text, /active version; removing it needs force/);
    assert.equal((await node.registry.list()).items.length, 2, 'nothing removed');

    const pin = await adminCall(node, 'POST', '/v1/pins', {
      publisher: PUBLISHER.publicKey,
      name: 'tiny',
      version: '1.0.0',
    });
    assert.equal(pin.status, 200, pin.text);
    assert.equal(pin.body.active, '1.0.0');
    const pinned = await adminCall(node, 'DELETE', `/v1/modules/${sha256(one)}?force=true`);
    assert.equal(pinned.status, 400);
    assert.match(pinned.text, /is pinned; unpin it/);

    const unpin = await adminCall(node, 'DELETE', '/v1/pins', {
      publisher: PUBLISHER.publicKey,
      name: 'tiny',
    });
    assert.equal(unpin.status, 200, unpin.text);
    assert.equal(unpin.body.active, '2.0.0');
    const forced = await adminCall(node, 'DELETE', `/v1/modules/${sha256(two)}?force=true`);
    assert.equal(forced.status, 200, forced.text);
    assert.deepEqual(forced.body.removed, [
      { name: 'tiny', publisher: PUBLISHER.publicKey, version: '2.0.0' },
    ]);
    assert.deepEqual(forced.body.states, [{ name: 'tiny', publisher: PUBLISHER.publicKey, active: '1.0.0' }]);
    assert.equal((await node.registry.resolve('tiny')).record.version, '1.0.0');

    const missing = await adminCall(node, 'DELETE', `/v1/modules/${sha256(two)}`);
    assert.equal(missing.status, 404);
    for (const path of [
      `/v1/modules/${'A'.repeat(64)}`,
      '/v1/modules/abc',
      `/v1/modules/${sha256(one)}?force=yes`,
    ]) {
      const bad = await adminCall(node, 'DELETE', path);
      assert.equal(bad.status, 400, path);
      assert.equal(codeOf(bad), 'bad_request');
    }
    const badPin = await adminCall(node, 'POST', '/v1/pins', {
      publisher: 'nope',
      name: 'tiny',
      version: '1.0.0',
    });
    assert.equal(badPin.status, 400);
    const badVersion = await adminCall(node, 'POST', '/v1/pins', {
      publisher: PUBLISHER.publicKey,
      name: 'tiny',
      version: 'v1',
    });
    assert.equal(badVersion.status, 400);
    const extra = await adminCall(node, 'DELETE', '/v1/pins', {
      publisher: PUBLISHER.publicKey,
      name: 'tiny',
      version: '1',
    });
    assert.equal(extra.status, 400);
    const audited = (await node.audit.list()).items.map(
      (e) => (e.data as { route: string; status: number }).status,
    );
    assert.deepEqual(audited, [400, 200, 400, 200, 200, 404, 400, 400, 400, 400, 400, 400]);
  } finally {
    await node.close({ remove: true });
  }
});

void test('publish of a multi-MiB module: the base64 check is linear (a regex with a repeated group overflowed the stack past ~3 MiB)', async () => {
  const node = await startAdminNode();
  try {
    const name = new TextEncoder().encode('pad');
    const size = 6 * 1024 * 1024;
    const content = 1 + name.byteLength + size;
    const leb: number[] = [];
    for (let rest = content; ;) {
      const byte = rest & 0x7f;
      rest >>>= 7;
      leb.push(rest === 0 ? byte : byte | 0x80);
      if (rest === 0) break;
    }
    const big = new Uint8Array(
      Buffer.concat([
        tinyModule('big'),
        Uint8Array.of(0, ...leb, name.byteLength),
        name,
        new Uint8Array(size).fill(1),
      ]),
    );
    const reply = await adminCall(node, 'POST', '/v1/modules', {
      module: b64(big),
      manifest: b64(manifestFor(big, 'big', '1.0.0')),
    });
    assert.equal(reply.status, 201, reply.text);
    assert.equal((await node.registry.resolve('big')).record.size, big.byteLength);
  } finally {
    await node.close({ remove: true });
  }
});
