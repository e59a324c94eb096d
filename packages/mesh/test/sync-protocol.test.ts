/**
 * `/gojinn/sync/1.0.0` between real nodes on loopback: a late joiner catches up with the same
 * verdicts gossip gives; a malicious server's forged record is rejected and the rest of its
 * page dropped; a stale record (older than what the caller has) or a revocation by an operator
 * only the server trusts is rejected without blame;
 * paging past MAX_SYNC_PAGE_RECORDS; bad requests and the concurrency bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustPolicy, generateKeyPair, verifyRevocation } from '@gojinn/manifest';
import type { Manifest } from '@gojinn/manifest';
import { multiaddr } from '@multiformats/multiaddr';
import { MemoryGossipLedger, encodeGossipMessage } from '../src/gossip/index.ts';
import type { GossipRecord, LedgerPage } from '../src/gossip/index.ts';
import {
  MAX_SYNC_PAGE_RECORDS,
  SYNC_PROTOCOL,
  SYNC_PROTOCOL_ID,
  encodeSyncResponse,
  syncFromPeer,
} from '../src/sync/index.ts';
import type { SyncMisbehaviour } from '../src/sync/index.ts';
import type { MeshNode } from '../src/node.ts';
import { TestMesh, addrOf, waitFor } from './support/nodes.ts';
import { SyncingNode, gatedLedger } from './support/sync-nodes.ts';
import { manifestOf, revocationOf } from './support/sync-fixtures.ts';

const publisher = generateKeyPair();
const stranger = generateKeyPair();
const trust = new TrustPolicy({ publishers: [publisher.publicKey] });
const text = new TextEncoder();

async function connect(from: MeshNode, to: MeshNode): Promise<void> {
  await from.libp2p.dial(multiaddr(addrOf(to)));
}

void test('a late joiner C syncs from A: revocations and current manifests arrive with the verdicts gossip gives (trusted or not, revoked skipped), and later gossip sees the same floor', async () => {
  const mesh = new TestMesh();
  try {
    const a = await SyncingNode.start(await mesh.node(), trust);
    const app1 = manifestOf(publisher, 'app', '1.0.0');
    const app2 = manifestOf(publisher, 'app', '2.0.0');
    const tool = manifestOf(stranger, 'tool', '1.0.0');
    const gone = manifestOf(stranger, 'gone', '1.0.0');
    for (const m of [app1, app2, tool, gone]) await a.gossip.publishManifest(m);
    const revocation = revocationOf(
      { kind: 'version', publisher: stranger.publicKey, name: 'gone', version: '1.0.0' },
      stranger,
    );
    await a.gossip.publishRevocation(revocation);

    const c = await SyncingNode.start(await mesh.node(), trust);
    await connect(c.node, a.node);
    const result = await syncFromPeer(c.node.libp2p, a.node.peerId, c.gossip);
    assert.deepEqual(
      { ...result, next: typeof result.next },
      { accepted: 3, ignored: 0, rejected: 0, pages: 1, complete: true, next: 'string' },
    );
    assert.deepEqual(
      c.labels(),
      ['app@2.0.0', 'tool@1.0.0'],
      'only the current version; gone is revoked at A',
    );
    assert.deepEqual(
      c.manifests.map((event) => [event.trusted, event.source, event.from.toString()]),
      [
        [true, 'sync', a.node.peerId.toString()],
        [false, 'sync', a.node.peerId.toString()],
      ],
    );
    assert.equal(c.revocations[0]?.verified.revocation.signature, revocation.signature);
    assert.equal(c.revocations[0]?.source, 'sync');
    assert.deepEqual(c.gossip.stats, { accepted: 3, rejected: 0, ignored: 0 });
    // C now judges like A: the older version is a rollback, the revoked one is revoked.
    assert.equal(
      (await c.gossip.ingest(encodeGossipMessage({ type: 'manifest', manifest: app1 }), a.node.peerId))
        .result,
      'reject',
    );
    const revoked = await c.gossip.ingest(
      encodeGossipMessage({ type: 'manifest', manifest: gone }),
      a.node.peerId,
    );
    assert.equal(revoked.result === 'reject' && revoked.code, 'revoked');
    // A second full round finds everything known: ignored, nothing accepted twice.
    const again = await syncFromPeer(c.node.libp2p, a.node.peerId, c.gossip);
    assert.deepEqual([again.accepted, again.ignored, again.rejected], [0, 3, 0]);
    // An incremental round from where the last ended brings only what A stored since.
    const app3 = manifestOf(publisher, 'app', '3.0.0');
    await a.gossip.publishManifest(app3);
    const incremental = await syncFromPeer(c.node.libp2p, a.node.peerId, c.gossip, { cursor: again.next });
    assert.deepEqual([incremental.accepted, incremental.ignored, incremental.pages], [1, 0, 1]);
    assert.equal(c.labels().at(-1), 'app@3.0.0');
  } finally {
    await mesh.close();
  }
});

/** A node that serves sync with canned pages and counts the requests it gets. */
async function maliciousServer(
  mesh: TestMesh,
  pages: GossipRecord[][],
): Promise<{ node: MeshNode; requests: number }> {
  const node = await mesh.node();
  const served = { node, requests: 0 };
  await SYNC_PROTOCOL.handle(node.libp2p, () => {
    const records = pages[served.requests] ?? [];
    served.requests++;
    const page: LedgerPage = {
      records,
      next: `page${served.requests}`,
      more: served.requests < pages.length,
    };
    return Promise.resolve(encodeSyncResponse(page));
  });
  return served;
}

void test('a malicious server: its forged record is rejected, the rest of its page dropped, no further page asked, and the peer reported; no honest peer is blamed for a stale record or a difference in trust', async () => {
  const mesh = new TestMesh();
  try {
    const good = manifestOf(publisher, 'good', '1.0.0');
    const after = manifestOf(publisher, 'after', '1.0.0');
    const forged: Manifest = { ...manifestOf(publisher, 'evil', '1.0.0'), version: '1.0.1' };
    const m = await maliciousServer(mesh, [
      [
        { type: 'manifest', manifest: good },
        { type: 'manifest', manifest: forged },
        { type: 'manifest', manifest: after },
      ],
      [{ type: 'manifest', manifest: after }],
    ]);
    const c = await SyncingNode.start(await mesh.node(), trust);
    await connect(c.node, m.node);
    const blamed: SyncMisbehaviour[] = [];
    const result = await syncFromPeer(c.node.libp2p, m.node.peerId, c.gossip, {
      onMisbehaviour: (event) => blamed.push(event),
    });
    assert.deepEqual(result, {
      accepted: 1,
      ignored: 0,
      rejected: 1,
      pages: 1,
      complete: false,
      next: undefined,
    });
    assert.equal(m.requests, 1, 'no second page from a misbehaving peer');
    assert.deepEqual(c.labels(), ['good@1.0.0']);
    assert.equal(await c.ledger.hasManifest(after), false, 'the rest of the page was dropped');
    assert.deepEqual(
      blamed.map((event) => [event.code, event.peer.toString()]),
      [['signature_invalid', m.node.peerId.toString()]],
    );
    assert.deepEqual(
      c.rejects.map((event) => [event.code, event.source]),
      [['signature_invalid', 'sync']],
    );

    // Records an honest peer may hold that C still rejects: a revocation by an operator key
    // the peer trusts and C does not (untrusted_publisher), and a rolled-back manifest (C
    // already has app 2.0.0; the peer offers a validly signed 1.5.0). Rejected and never
    // stored, but nobody is blamed, so the page goes on.
    await c.gossip.ingest(
      encodeGossipMessage({ type: 'manifest', manifest: manifestOf(publisher, 'app', '2.0.0') }),
      m.node.peerId,
    );
    const foreignOperator = generateKeyPair();
    const stale = await maliciousServer(mesh, [
      [
        {
          type: 'revocation',
          revocation: revocationOf({ kind: 'publisher', publisher: publisher.publicKey }, foreignOperator),
        },
        { type: 'manifest', manifest: manifestOf(publisher, 'app', '1.5.0') },
        { type: 'manifest', manifest: after },
      ],
    ]);
    await connect(c.node, stale.node);
    const staleResult = await syncFromPeer(c.node.libp2p, stale.node.peerId, c.gossip, {
      onMisbehaviour: (event) => blamed.push(event),
    });
    assert.deepEqual([staleResult.accepted, staleResult.rejected, staleResult.complete], [1, 2, true]);
    assert.equal(
      await c.ledger.revocationFor(after),
      undefined,
      'the foreign operator revocation is not stored',
    );
    assert.equal((await c.ledger.highestManifest(publisher.publicKey, 'app'))?.manifest.version, '2.0.0');
    assert.equal(await c.ledger.hasManifest(after), true);
    assert.equal(blamed.length, 1, 'these records blame nobody');
    assert.deepEqual(
      c.rejects.slice(-2).map((event) => event.code),
      ['untrusted_publisher', 'rollback'],
    );

    // A response that is not the protocol's JSON is bad_response, reported and thrown.
    const garbled = await mesh.node();
    await SYNC_PROTOCOL.handle(garbled.libp2p, () =>
      Promise.resolve(text.encode('{"records":[],"next":"x"}')),
    );
    await connect(c.node, garbled);
    await assert.rejects(
      syncFromPeer(c.node.libp2p, garbled.peerId, c.gossip, {
        onMisbehaviour: (event) => blamed.push(event),
      }),
      { code: 'bad_response' },
    );
    assert.equal(blamed.at(-1)?.code, 'bad_response');
  } finally {
    await mesh.close();
  }
});

void test(`paging over more than MAX_SYNC_PAGE_RECORDS (${MAX_SYNC_PAGE_RECORDS}) records: two pages, every record judged once; maxPages stops a round with a cursor to resume`, async () => {
  const mesh = new TestMesh();
  try {
    const ledger = new MemoryGossipLedger({ trust });
    const total = MAX_SYNC_PAGE_RECORDS + 6;
    const keys = [generateKeyPair(), generateKeyPair()];
    for (const key of keys) {
      ledger.addRevocation(
        verifyRevocation(revocationOf({ kind: 'publisher', publisher: key.publicKey }, key), trust),
      );
    }
    for (let i = 0; i < total - keys.length; i++) {
      ledger.addManifest({ manifest: manifestOf(publisher, `m${i}`), trusted: true });
    }
    const a = await SyncingNode.start(await mesh.node(), trust, { ledger });
    const c = await SyncingNode.start(await mesh.node(), trust);
    await connect(c.node, a.node);
    const first = await syncFromPeer(c.node.libp2p, a.node.peerId, c.gossip, { maxPages: 1 });
    assert.deepEqual([first.accepted, first.pages, first.complete], [MAX_SYNC_PAGE_RECORDS, 1, false]);
    const rest = await syncFromPeer(c.node.libp2p, a.node.peerId, c.gossip, { cursor: first.next });
    assert.deepEqual(
      [rest.accepted, rest.ignored, rest.pages, rest.complete],
      [total - MAX_SYNC_PAGE_RECORDS, 0, 1, true],
    );
    assert.equal(c.revocations.length, keys.length);
    assert.equal(c.manifests.length, total - keys.length);
    assert.equal(new Set(c.labels()).size, total - keys.length, 'no record twice');
  } finally {
    await mesh.close();
  }
});

void test('malformed requests are bad_request: cursor garbage, limit out of 1..64, unknown or missing field, not JSON', async () => {
  const mesh = new TestMesh();
  try {
    const a = await SyncingNode.start(await mesh.node(), trust);
    const c = await mesh.node();
    await connect(c, a.node);
    // identify announces the protocol (what catch-up looks for).
    await waitFor(
      async () => (await c.libp2p.peerStore.get(a.node.peerId)).protocols.includes(SYNC_PROTOCOL_ID),
      'identify to announce the sync protocol',
    );
    const call = (body: string) => SYNC_PROTOCOL.request(c.libp2p, a.node.peerId, text.encode(body));
    for (const [body, pattern] of [
      ['{"cursor":"garbage","limit":64}', /cursor/],
      [`{"cursor":"${'f'.repeat(32)}","limit":64}`, /cursor/],
      [`{"cursor":"${'0'.repeat(129)}","limit":64}`, /cursor/],
      ['{"cursor":"","limit":64}', /cursor/],
      ['{"cursor":7,"limit":64}', /cursor/],
      ['{"cursor":null,"limit":0}', /limit/],
      [`{"cursor":null,"limit":${MAX_SYNC_PAGE_RECORDS + 1}}`, /limit/],
      ['{"cursor":null,"limit":1.5}', /limit/],
      ['{"cursor":null,"limit":64,"extra":1}', /exactly the fields/],
      ['{"cursor":null}', /exactly the fields/],
      ['not json', /sync request/],
    ] as const) {
      await assert.rejects(call(body), { code: 'bad_request', message: pattern }, body);
    }
    // At the limits: a cursor of the right form, limit 1 and 64.
    for (const body of [
      `{"cursor":"${'0'.repeat(32)}","limit":1}`,
      `{"cursor":null,"limit":${MAX_SYNC_PAGE_RECORDS}}`,
    ]) {
      assert.deepEqual(JSON.parse(new TextDecoder().decode(await call(body))), {
        records: [],
        next: '0'.repeat(32),
        more: false,
      });
    }
  } finally {
    await mesh.close();
  }
});

void test('maxConcurrentSyncs: at the limit a page is served; one more at once is overloaded; then served again', async () => {
  const mesh = new TestMesh();
  try {
    // The first request holds the only slot until the gate opens.
    const { ledger: gated, open } = gatedLedger({ trust });
    const a = await SyncingNode.start(await mesh.node(), trust, {
      ledger: gated,
      maxConcurrentSyncs: 1,
    });
    const c = await SyncingNode.start(await mesh.node(), trust);
    await connect(c.node, a.node);
    const held = syncFromPeer(c.node.libp2p, a.node.peerId, c.gossip);
    await waitFor(() => a.server.active === 1, 'the first sync to reach the ledger');
    await assert.rejects(syncFromPeer(c.node.libp2p, a.node.peerId, c.gossip), {
      code: 'overloaded',
      message: /maxConcurrentSyncs 1/,
    });
    open();
    assert.equal((await held).complete, true);
    assert.equal(a.server.active, 0);
    assert.equal((await syncFromPeer(c.node.libp2p, a.node.peerId, c.gossip)).complete, true);
  } finally {
    await mesh.close();
  }
});
