import { test } from 'node:test';
import assert from 'node:assert/strict';
import { multiaddr } from '@multiformats/multiaddr';
import { GojinnError } from '@gojinn/errors';
import type { ErrorCode } from '@gojinn/errors';
import {
  createFetchProtocol,
  encodeFetchRequest,
  fetchProtocol,
  parseFetchRequest,
  FETCH_MAX_REQUEST_BYTES,
  FETCH_MAX_INBOUND_STREAMS,
  FETCH_PROTOCOL_ID,
  MAX_FETCH_CHUNK_BYTES,
} from '../src/fetch/index.ts';
import type { MeshNode } from '../src/node.ts';
import { TestMesh, addrOf, waitFor } from './support/nodes.ts';
import { MemoryModuleSource, ReadGate, assertBytes, randomModule } from './support/fetch-sources.ts';

const HASH = 'ab'.repeat(32);

function fails(code: ErrorCode, pattern?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof GojinnError, `expected a GojinnError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  };
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** A node serving `source` and a client node connected to it. */
async function pair(mesh: TestMesh, source: MemoryModuleSource, maxConcurrent?: number) {
  const server = await mesh.node();
  const fetch = createFetchProtocol({ source, ...(maxConcurrent === undefined ? {} : { maxConcurrent }) });
  await fetch.handle(server.libp2p);
  const client = await mesh.node();
  await client.libp2p.dial(multiaddr(addrOf(server)));
  return { server, client, fetch };
}

function ask(client: MeshNode, server: MeshNode, body: Uint8Array): Promise<Uint8Array> {
  return fetchProtocol.request(client.libp2p, server.peerId, body);
}

void test('the protocol is /gojinn/fetch/1.0.0 with the limits of protocols/fetch.md', () => {
  assert.equal(FETCH_PROTOCOL_ID, '/gojinn/fetch/1.0.0');
  assert.equal(fetchProtocol.spec.maxRequestBytes, 256);
  assert.equal(fetchProtocol.spec.maxResponseBytes, 1_048_576);
  assert.equal(fetchProtocol.spec.timeoutMs, 10_000);
  assert.equal(fetchProtocol.spec.maxInboundStreams, 8);
});

void test('requests are parsed strictly: every malformed one is bad_request naming the field', () => {
  const ok = { sha256: HASH, offset: 0, length: 1 };
  assert.deepEqual(parseFetchRequest(encodeFetchRequest(ok)), ok);
  assert.deepEqual(
    parseFetchRequest(json({ ...ok, length: MAX_FETCH_CHUNK_BYTES })).length,
    MAX_FETCH_CHUNK_BYTES,
  );
  const cases: [unknown, RegExp][] = [
    [{ ...ok, length: MAX_FETCH_CHUNK_BYTES + 1 }, /length 1048577 exceeds MAX_FETCH_CHUNK_BYTES/],
    [{ ...ok, length: 0 }, /length/],
    [{ ...ok, length: 1.5 }, /length/],
    [{ ...ok, offset: -1 }, /offset/],
    [{ ...ok, offset: '0' }, /offset/],
    [{ ...ok, offset: 2 ** 53 }, /offset/],
    [{ ...ok, sha256: HASH.toUpperCase() }, /sha256/],
    [{ ...ok, sha256: HASH.slice(2) }, /sha256/],
    [{ ...ok, extra: 1 }, /unknown field "extra"/],
    [{ sha256: HASH, offset: 0 }, /length/],
    [[ok], /JSON object/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(() => parseFetchRequest(json(value)), fails('bad_request', pattern), JSON.stringify(value));
  }
  const duplicate = new TextEncoder().encode(`{"sha256":"${HASH}","offset":0,"offset":1,"length":1}`);
  assert.throws(() => parseFetchRequest(duplicate), fails('bad_request'));
  assert.throws(() => parseFetchRequest(new TextEncoder().encode('{')), fails('bad_request'));
  assert.throws(
    () => parseFetchRequest(new Uint8Array(FETCH_MAX_REQUEST_BYTES + 1).fill(0x20)),
    fails('bad_request', /maxRequestBytes \(256 bytes\)/),
  );
});

void test('serves exact ranges; a chunk at MAX_FETCH_CHUNK_BYTES is served, one byte over is bad_request; offset ≥ size is bad_request', async () => {
  const mesh = new TestMesh();
  try {
    const module = randomModule(MAX_FETCH_CHUNK_BYTES + 10);
    const source = new MemoryModuleSource().add(module.sha256, module.bytes);
    const { server, client } = await pair(mesh, source);
    const sha256 = module.sha256;

    const full = await ask(
      client,
      server,
      encodeFetchRequest({ sha256, offset: 0, length: MAX_FETCH_CHUNK_BYTES }),
    );
    assertBytes(full, module.bytes.subarray(0, MAX_FETCH_CHUNK_BYTES));
    // The tail: min(length, size − offset) bytes, and the server reads only that range.
    const tail = await ask(
      client,
      server,
      encodeFetchRequest({ sha256, offset: MAX_FETCH_CHUNK_BYTES, length: 100 }),
    );
    assertBytes(tail, module.bytes.subarray(MAX_FETCH_CHUNK_BYTES));
    const lastRead = source.reads.at(-1);
    assert.deepEqual(
      [lastRead?.sha256, lastRead?.offset, lastRead?.length],
      [sha256, MAX_FETCH_CHUNK_BYTES, 10],
    );
    const last = await ask(
      client,
      server,
      encodeFetchRequest({ sha256, offset: module.bytes.byteLength - 1, length: 5 }),
    );
    assertBytes(last, module.bytes.subarray(-1));

    const readsBefore = source.reads.length;
    await assert.rejects(
      ask(client, server, json({ sha256, offset: 0, length: MAX_FETCH_CHUNK_BYTES + 1 })),
      fails('bad_request', /exceeds MAX_FETCH_CHUNK_BYTES \(1048576\)/),
    );
    await assert.rejects(
      ask(client, server, encodeFetchRequest({ sha256, offset: module.bytes.byteLength, length: 1 })),
      fails('bad_request', /offset 1048586 is not below the module's size 1048586/),
    );
    await assert.rejects(
      ask(client, server, encodeFetchRequest({ sha256, offset: module.bytes.byteLength + 5, length: 1 })),
      fails('bad_request', /not below the module's size/),
    );
    await assert.rejects(ask(client, server, json({ sha256, offset: 0 })), fails('bad_request', /length/));
    assert.equal(source.reads.length, readsBefore, 'no refused request read the source');
  } finally {
    await mesh.close();
  }
});

void test('unknown modules are not_found and revoked ones revoked, with the code reaching the caller', async () => {
  const mesh = new TestMesh();
  try {
    const module = randomModule(1000);
    const source = new MemoryModuleSource().add(module.sha256, module.bytes);
    const { server, client } = await pair(mesh, source);
    await assert.rejects(
      ask(client, server, encodeFetchRequest({ sha256: HASH, offset: 0, length: 10 })),
      fails('not_found', /not served by this node/),
    );
    source.revoked.add(module.sha256);
    await assert.rejects(
      ask(client, server, encodeFetchRequest({ sha256: module.sha256, offset: 0, length: 10 })),
      fails('revoked'),
    );
  } finally {
    await mesh.close();
  }
});

void test('a source that returns the wrong length is an internal error, its text kept on the server', async () => {
  const mesh = new TestMesh();
  try {
    const module = randomModule(1000);
    const source = new MemoryModuleSource().add(module.sha256, module.bytes);
    source.size = () => Promise.resolve(2000); // claims more than it has
    const { server, client } = await pair(mesh, source);
    await assert.rejects(
      ask(client, server, encodeFetchRequest({ sha256: module.sha256, offset: 500, length: 1000 })),
      fails('internal', /^internal error$/),
    );
  } finally {
    await mesh.close();
  }
});

void test('maxConcurrent fetches in progress are served; the next one is overloaded; after they finish it is served', async () => {
  const mesh = new TestMesh();
  try {
    const module = randomModule(5000);
    const source = new MemoryModuleSource().add(module.sha256, module.bytes);
    const gate = new ReadGate();
    source.beforeRead = gate.hold;
    const { server, client, fetch } = await pair(mesh, source, 3);
    assert.equal(fetch.maxConcurrent, 3);
    const body = encodeFetchRequest({ sha256: module.sha256, offset: 0, length: 5000 });
    // A second client: the limit is the node's, not one connection's.
    const other = await mesh.node();
    await other.libp2p.dial(multiaddr(addrOf(server)));
    const held = [ask(client, server, body), ask(client, server, body), ask(other, server, body)];
    await waitFor(() => gate.waiting === 3, 'three reads held');
    assert.equal(fetch.inProgress, 3);
    await assert.rejects(ask(other, server, body), fails('overloaded', /maxConcurrent 3/));
    await assert.rejects(ask(client, server, body), fails('overloaded'));
    gate.open();
    for (const reply of await Promise.all(held)) assertBytes(reply, module.bytes);
    assert.equal(fetch.inProgress, 0);
    assertBytes(await ask(other, server, body), module.bytes);
  } finally {
    await mesh.close();
  }
});

void test(`a peer's streams beyond ${FETCH_MAX_INBOUND_STREAMS} on one connection are reset; the first ${FETCH_MAX_INBOUND_STREAMS} are served and the connection stays usable`, async () => {
  const mesh = new TestMesh();
  try {
    const module = randomModule(100);
    const source = new MemoryModuleSource().add(module.sha256, module.bytes);
    const gate = new ReadGate();
    source.beforeRead = gate.hold;
    const { server, client } = await pair(mesh, source, 64);
    const body = encodeFetchRequest({ sha256: module.sha256, offset: 0, length: 100 });
    const held = Array.from({ length: FETCH_MAX_INBOUND_STREAMS }, () => ask(client, server, body));
    await waitFor(() => gate.waiting === FETCH_MAX_INBOUND_STREAMS, 'eight reads held');
    // The ninth: multistream-select lets the caller write optimistically, then the server's
    // libp2p resets the stream before any handler runs.
    await assert.rejects(ask(client, server, body), (error: unknown) => {
      assert.ok(error instanceof GojinnError);
      assert.equal(error.code, 'peer_unreachable', error.message);
      return true;
    });
    assert.equal(gate.waiting, FETCH_MAX_INBOUND_STREAMS, 'no ninth read reached the source');
    gate.open();
    for (const reply of await Promise.all(held)) assertBytes(reply, module.bytes);
    // The connection is still good: the next call is served.
    assertBytes(await ask(client, server, body), module.bytes);
  } finally {
    await mesh.close();
  }
});

void test('a caller that goes away aborts the signal of the source read it caused; its slot frees when the read settles', async () => {
  const mesh = new TestMesh();
  try {
    const module = randomModule(1000);
    const source = new MemoryModuleSource().add(module.sha256, module.bytes);
    const gate = new ReadGate();
    source.beforeRead = gate.hold;
    const { server, client, fetch } = await pair(mesh, source, 1);
    const body = encodeFetchRequest({ sha256: module.sha256, offset: 0, length: 1000 });
    const caller = new AbortController();
    const call = fetchProtocol.request(client.libp2p, server.peerId, body, { signal: caller.signal });
    await waitFor(() => gate.waiting === 1, 'the read held');
    const signal = source.reads[0]?.signal;
    assert.ok(signal !== undefined && !signal.aborted);
    caller.abort(new Error('caller left'));
    await assert.rejects(call, /caller left/);
    await waitFor(() => signal.aborted, 'the read signal aborted');
    // The held read still counts: the one slot is taken until the source lets go.
    await assert.rejects(ask(client, server, body), fails('overloaded'));
    gate.open();
    await waitFor(() => fetch.inProgress === 0, 'the slot freed');
    assertBytes(await ask(client, server, body), module.bytes);
  } finally {
    await mesh.close();
  }
});
