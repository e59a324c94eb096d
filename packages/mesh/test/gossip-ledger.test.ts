import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, signManifest } from '@gojinn/manifest';
import type { Manifest } from '@gojinn/manifest';
import { DEFAULT_LEDGER_MAX_MANIFESTS, MemoryGossipLedger } from '../src/gossip/index.ts';

const publisher = generateKeyPair();

function manifest(name: string, version = '1.0.0'): Manifest {
  return signManifest(
    { name, version, sha256: 'e'.repeat(64), size: 100, capabilities: {} },
    publisher.secretKey,
  );
}

void test('maxManifests: at the limit every manifest is kept; beyond it the oldest untrusted one goes first, then the oldest trusted', () => {
  assert.equal(DEFAULT_LEDGER_MAX_MANIFESTS, 65_536);
  const ledger = new MemoryGossipLedger({ maxManifests: 3 });
  const [t1, u1, u2, u3, t2, t3, t4] = ['t1', 'u1', 'u2', 'u3', 't2', 't3', 't4'].map((name) =>
    manifest(name),
  ) as [Manifest, Manifest, Manifest, Manifest, Manifest, Manifest, Manifest];
  const kept = () => ledger.manifests.map((known) => known.manifest.name);
  ledger.addManifest({ manifest: t1, trusted: true });
  ledger.addManifest({ manifest: u1, trusted: false });
  ledger.addManifest({ manifest: u2, trusted: false });
  assert.deepEqual(kept(), ['t1', 'u1', 'u2']);
  ledger.addManifest({ manifest: u3, trusted: false });
  assert.deepEqual(kept(), ['t1', 'u2', 'u3']);
  assert.equal(ledger.hasManifest(u1), false);
  assert.equal(ledger.highestManifest(publisher.publicKey, 'u1'), undefined);
  ledger.addManifest({ manifest: t2, trusted: true });
  ledger.addManifest({ manifest: t3, trusted: true });
  assert.deepEqual(kept(), ['t1', 't2', 't3']);
  ledger.addManifest({ manifest: t4, trusted: true });
  assert.deepEqual(kept(), ['t2', 't3', 't4']);
  assert.equal(ledger.highestManifest(publisher.publicKey, 't1'), undefined);
  assert.equal(ledger.highestManifest(publisher.publicKey, 't4')?.manifest.signature, t4.signature);
});

void test('forgetting an older version keeps the series floor; forgetting the highest drops it', () => {
  const ledger = new MemoryGossipLedger({ maxManifests: 2 });
  ledger.addManifest({ manifest: manifest('s', '1.0.0'), trusted: false });
  ledger.addManifest({ manifest: manifest('s', '2.0.0'), trusted: false });
  ledger.addManifest({ manifest: manifest('other'), trusted: false });
  assert.equal(ledger.highestManifest(publisher.publicKey, 's')?.manifest.version, '2.0.0');
  ledger.addManifest({ manifest: manifest('other', '2.0.0'), trusted: false });
  assert.equal(ledger.highestManifest(publisher.publicKey, 's'), undefined);
});

void test('maxManifests must be a positive integer', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new MemoryGossipLedger({ maxManifests: bad }), { code: 'bad_request' });
  }
  assert.ok(new MemoryGossipLedger({ maxManifests: 1 }));
});
