/**
 * ManifestGossip.ingest, the door sync records come in by: the validator's verdicts, its
 * queue (two records of one series arriving together cannot both pass), and a failing ledger
 * reported without blaming the sender.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustPolicy, generateKeyPair, signManifest } from '@gojinn/manifest';
import type { Manifest } from '@gojinn/manifest';
import {
  LevelGossipLedger,
  ManifestGossip,
  MemoryGossipLedger,
  encodeGossipMessage,
} from '../src/gossip/index.ts';
import type { GossipLedger, RejectEvent } from '../src/gossip/index.ts';
import { TestMesh } from './support/nodes.ts';
import { TempLevel, manifestOf } from './support/sync-fixtures.ts';

const publisher = generateKeyPair();
const trust = new TrustPolicy({ publishers: [publisher.publicKey] });
const message = (manifest: Manifest) => encodeGossipMessage({ type: 'manifest', manifest });

void test('ingest: accept, duplicate ignored, forged rejected with source sync; stats and callbacks as for gossip', async () => {
  const mesh = new TestMesh();
  try {
    const node = await mesh.node();
    const rejects: RejectEvent[] = [];
    const accepted: string[] = [];
    const gossip = new ManifestGossip(node, {
      trust,
      onManifest: (event) => accepted.push(`${event.manifest.name} ${event.source} ${event.trusted}`),
      onReject: (event) => rejects.push(event),
    });
    const app = manifestOf(publisher, 'app');
    const from = node.peerId;
    assert.equal((await gossip.ingest(message(app), from)).result, 'accept-manifest');
    assert.equal((await gossip.ingest(message(app), from)).result, 'ignore');
    const forged = await gossip.ingest(message({ ...manifestOf(publisher, 'evil'), version: '6.6.6' }), from);
    assert.equal(forged.result === 'reject' && forged.code, 'signature_invalid');
    assert.deepEqual(accepted, ['app sync true']);
    assert.deepEqual(
      rejects.map((event) => [event.code, event.source, event.via.toString()]),
      [['signature_invalid', 'sync', from.toString()]],
    );
    assert.deepEqual(gossip.stats, { accepted: 1, rejected: 1, ignored: 1 });
  } finally {
    await mesh.close();
  }
});

void test('ingest: two different documents of one version arriving together on a persistent ledger — exactly one is accepted, the other is a rollback', async () => {
  const mesh = new TestMesh();
  const temp = await TempLevel.create();
  try {
    const node = await mesh.node();
    const gossip = new ManifestGossip(node, {
      trust,
      ledger: await LevelGossipLedger.open(await temp.open(), { trust }),
    });
    // Same name and version, different content: two signed documents.
    const one = manifestOf(publisher, 'twin', '1.0.0');
    const twin = signManifest(
      { name: 'twin', version: '1.0.0', sha256: 'f'.repeat(64), size: 100, capabilities: {} },
      publisher.secretKey,
    );
    const verdicts = await Promise.all([
      gossip.ingest(message(one), node.peerId),
      gossip.ingest(message(twin), node.peerId),
    ]);
    assert.deepEqual(
      verdicts.map((verdict) => (verdict.result === 'reject' ? verdict.code : verdict.result)).sort(),
      ['accept-manifest', 'rollback'],
    );
  } finally {
    await mesh.close();
    await temp.remove();
  }
});

void test('ingest: a failing ledger makes the record ignored (no blame) and is reported to onError', async () => {
  const mesh = new TestMesh();
  try {
    const node = await mesh.node();
    const errors: unknown[] = [];
    const rejects: RejectEvent[] = [];
    const working = new MemoryGossipLedger();
    const broken: GossipLedger = {
      revocationFor: (m) => working.revocationFor(m),
      highestManifest: () => Promise.reject(new Error('disk gone')),
      hasManifest: (m) => working.hasManifest(m),
      hasRevocation: (r) => working.hasRevocation(r),
      addManifest: (known) => working.addManifest(known),
      addRevocation: (verified) => working.addRevocation(verified),
    };
    const gossip = new ManifestGossip(node, {
      trust,
      ledger: broken,
      onError: (error) => errors.push(error),
      onReject: (event) => rejects.push(event),
    });
    const verdict = await gossip.ingest(message(manifestOf(publisher, 'app')), node.peerId);
    assert.equal(verdict.result, 'ignore');
    assert.match(verdict.result === 'ignore' ? verdict.reason : '', /disk gone/);
    assert.equal(errors.length, 1);
    assert.deepEqual(rejects, []);
    assert.deepEqual(gossip.stats, { accepted: 0, rejected: 0, ignored: 1 });
  } finally {
    await mesh.close();
  }
});
