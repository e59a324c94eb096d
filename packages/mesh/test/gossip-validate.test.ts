import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustPolicy, generateKeyPair, signManifest, signRevocation } from '@gojinn/manifest';
import type { Manifest, PublisherKeyPair, RevocationTarget } from '@gojinn/manifest';
import {
  MAX_GOSSIP_MESSAGE_BYTES,
  MemoryGossipLedger,
  encodeGossipMessage,
  validateGossipMessage,
} from '../src/gossip/index.ts';
import type { GossipVerdict } from '../src/gossip/index.ts';

const SHA = 'a'.repeat(64);
const text = new TextEncoder();

function manifest(key: PublisherKeyPair, name: string, version: string, created?: string): Manifest {
  return signManifest(
    { name, version, sha256: SHA, size: 100, capabilities: {}, ...(created ? { created } : {}) },
    key.secretKey,
  );
}

function manifestMessage(m: Manifest): Uint8Array {
  return encodeGossipMessage({ type: 'manifest', manifest: m });
}

function revocationMessage(target: RevocationTarget, signer: PublisherKeyPair): Uint8Array {
  return encodeGossipMessage({
    type: 'revocation',
    revocation: signRevocation({ target }, signer.secretKey),
  });
}

function rejected(verdict: GossipVerdict, code: string, pattern?: RegExp): void {
  assert.equal(verdict.result, 'reject', JSON.stringify(verdict));
  if (verdict.result !== 'reject') return;
  assert.equal(verdict.code, code, verdict.message);
  if (pattern) assert.match(verdict.message, pattern);
}

/** Validates, and records what is accepted, as ManifestGossip does. */
async function deliver(
  bytes: Uint8Array,
  trust: TrustPolicy,
  ledger: MemoryGossipLedger,
): Promise<GossipVerdict> {
  const verdict = await validateGossipMessage(bytes, trust, ledger);
  if (verdict.result === 'accept-manifest')
    ledger.addManifest({ manifest: verdict.manifest, trusted: verdict.trusted });
  if (verdict.result === 'accept-revocation') ledger.addRevocation(verdict.verified);
  return verdict;
}

/** The same bytes with spaces before the closing brace: same JSON, `size` bytes long. */
function paddedTo(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size).fill(0x20);
  out.set(bytes.subarray(0, bytes.length - 1));
  out[size - 1] = 0x7d; // '}'
  return out;
}

void test('a signed manifest is accepted, trusted or not; trust only sets the flag', async () => {
  const publisher = generateKeyPair();
  const bytes = manifestMessage(manifest(publisher, 'hello', '1.0.0'));
  const trusting = await validateGossipMessage(
    bytes,
    new TrustPolicy({ publishers: [publisher.publicKey] }),
    new MemoryGossipLedger(),
  );
  assert.equal(trusting.result, 'accept-manifest');
  assert.equal(trusting.result === 'accept-manifest' && trusting.trusted, true);
  const stranger = await validateGossipMessage(bytes, new TrustPolicy(), new MemoryGossipLedger());
  assert.equal(stranger.result, 'accept-manifest');
  assert.equal(stranger.result === 'accept-manifest' && stranger.trusted, false);
  assert.equal(stranger.result === 'accept-manifest' && stranger.manifest.name, 'hello');
});

void test('MAX_GOSSIP_MESSAGE_BYTES: a message at the limit is validated, one byte over is rejected before parsing', async () => {
  const publisher = generateKeyPair();
  const bytes = manifestMessage(manifest(publisher, 'hello', '1.0.0'));
  assert.equal(MAX_GOSSIP_MESSAGE_BYTES, 81920);
  const atLimit = await validateGossipMessage(
    paddedTo(bytes, MAX_GOSSIP_MESSAGE_BYTES),
    new TrustPolicy(),
    new MemoryGossipLedger(),
  );
  assert.equal(atLimit.result, 'accept-manifest');
  const over = await validateGossipMessage(
    paddedTo(bytes, MAX_GOSSIP_MESSAGE_BYTES + 1),
    new TrustPolicy(),
    new MemoryGossipLedger(),
  );
  rejected(over, 'signature_invalid', /81921 bytes; limit MAX_GOSSIP_MESSAGE_BYTES is 81920/);
});

void test('a forged signature and a tampered field are rejected as signature_invalid', async () => {
  const publisher = generateKeyPair();
  const forger = generateKeyPair();
  const trust = new TrustPolicy({ publishers: [publisher.publicKey] });
  const forged = { ...manifest(forger, 'hello', '1.0.0'), publisher: publisher.publicKey };
  rejected(
    await validateGossipMessage(manifestMessage(forged), trust, new MemoryGossipLedger()),
    'signature_invalid',
    /does not verify/,
  );
  const tampered = { ...manifest(publisher, 'hello', '1.0.0'), size: 101 };
  rejected(
    await validateGossipMessage(manifestMessage(tampered), trust, new MemoryGossipLedger()),
    'signature_invalid',
    /does not verify/,
  );
  const otherSha = { ...manifest(publisher, 'hello', '1.0.0'), sha256: 'b'.repeat(64) };
  rejected(
    await validateGossipMessage(manifestMessage(otherSha), trust, new MemoryGossipLedger()),
    'signature_invalid',
  );
});

void test('malformed envelopes are rejected with signature_invalid naming the problem', async () => {
  const publisher = generateKeyPair();
  const m = JSON.stringify(manifest(publisher, 'hello', '1.0.0'));
  const cases: [string, RegExp][] = [
    ['not json', /not valid JSON/],
    ['[]', /must be a JSON object/],
    [`{"type":"module","manifest":${m}}`, /'type' must be/],
    [`{"type":"manifest"}`, /exactly the fields/],
    [`{"type":"manifest","manifest":${m},"extra":1}`, /exactly the fields.*"extra"/],
    [`{"type":"manifest","revocation":${m}}`, /exactly the fields.*"revocation"/],
    [`{"type":"manifest","manifest":"x"}`, /'manifest' must be a JSON object/],
    [`{"type":"manifest","type":"manifest","manifest":${m}}`, /duplicate/i],
    [`{"type":"revocation","revocation":${m}}`, /revocation/],
    [`{"type":"manifest","manifest":${m.replace('"hello"', '"\\ud800"')}}`, /lone surrogate/],
    [`{"type":"manifest","manifest":${m.replace('"size":100', '"size":1e400')}}`, /number out of range/],
  ];
  for (const [body, pattern] of cases) {
    rejected(
      await validateGossipMessage(text.encode(body), new TrustPolicy(), new MemoryGossipLedger()),
      'signature_invalid',
      pattern,
    );
  }
});

void test('rollback: an older version, or another document at the accepted version, is rejected; the same bytes are ignored', async () => {
  const publisher = generateKeyPair();
  const trust = new TrustPolicy({ publishers: [publisher.publicKey] });
  const ledger = new MemoryGossipLedger();
  const v110 = manifest(publisher, 'hello', '1.1.0', '2026-01-01T00:00:00.000Z');
  assert.equal((await deliver(manifestMessage(v110), trust, ledger)).result, 'accept-manifest');
  rejected(
    await deliver(manifestMessage(manifest(publisher, 'hello', '1.0.0')), trust, ledger),
    'rollback',
    /older than the accepted version 1\.1\.0/,
  );
  rejected(
    await deliver(manifestMessage(manifest(publisher, 'hello', '1.1.0-rc.1')), trust, ledger),
    'rollback',
  );
  const sameVersion = manifest(publisher, 'hello', '1.1.0', '2026-01-02T00:00:00.000Z');
  rejected(await deliver(manifestMessage(sameVersion), trust, ledger), 'rollback', /differs/);
  assert.equal((await deliver(manifestMessage(v110), trust, ledger)).result, 'ignore');
  assert.equal(
    (await deliver(manifestMessage(manifest(publisher, 'hello', '1.2.0')), trust, ledger)).result,
    'accept-manifest',
  );
  // An older version already accepted (re-announced by an honest peer) is a duplicate, not a rollback.
  assert.equal((await deliver(manifestMessage(v110), trust, ledger)).result, 'ignore');
  // Another name, or the same name by another publisher, is another series.
  assert.equal(
    (await deliver(manifestMessage(manifest(publisher, 'other', '0.1.0')), trust, ledger)).result,
    'accept-manifest',
  );
  assert.equal(
    (await deliver(manifestMessage(manifest(generateKeyPair(), 'hello', '0.1.0')), trust, ledger)).result,
    'accept-manifest',
  );
});

void test('revocations: a version revocation rejects that version only; a publisher revocation rejects every manifest of the key', async () => {
  const publisher = generateKeyPair();
  const trust = new TrustPolicy();
  const ledger = new MemoryGossipLedger();
  const versionRevocation = revocationMessage(
    { kind: 'version', publisher: publisher.publicKey, name: 'hello', version: '2.0.0' },
    publisher,
  );
  assert.equal((await deliver(versionRevocation, trust, ledger)).result, 'accept-revocation');
  assert.equal((await deliver(versionRevocation, trust, ledger)).result, 'ignore');
  rejected(
    await deliver(manifestMessage(manifest(publisher, 'hello', '2.0.0')), trust, ledger),
    'revoked',
    /this version is revoked/,
  );
  assert.equal(
    (await deliver(manifestMessage(manifest(publisher, 'hello', '2.0.1')), trust, ledger)).result,
    'accept-manifest',
  );
  const known = manifest(publisher, 'world', '1.0.0');
  assert.equal((await deliver(manifestMessage(known), trust, ledger)).result, 'accept-manifest');
  assert.equal(
    (
      await deliver(
        revocationMessage({ kind: 'publisher', publisher: publisher.publicKey }, publisher),
        trust,
        ledger,
      )
    ).result,
    'accept-revocation',
  );
  rejected(
    await deliver(manifestMessage(manifest(publisher, 'world', '9.0.0')), trust, ledger),
    'revoked',
    /publisher key is revoked/,
  );
  // Even a manifest accepted before the revocation is rejected from then on, not ignored.
  rejected(await deliver(manifestMessage(known), trust, ledger), 'revoked');
});

void test('a revocation signed by neither the publisher nor an operator is rejected; an operator key may revoke', async () => {
  const publisher = generateKeyPair();
  const operator = generateKeyPair();
  const target: RevocationTarget = { kind: 'publisher', publisher: publisher.publicKey };
  const byOperator = revocationMessage(target, operator);
  rejected(
    await validateGossipMessage(byOperator, new TrustPolicy(), new MemoryGossipLedger()),
    'untrusted_publisher',
  );
  const verdict = await validateGossipMessage(
    byOperator,
    new TrustPolicy({ operators: [operator.publicKey] }),
    new MemoryGossipLedger(),
  );
  assert.equal(verdict.result, 'accept-revocation');
  assert.equal(verdict.result === 'accept-revocation' && verdict.verified.authority, 'operator');
  const forged = JSON.parse(new TextDecoder().decode(revocationMessage(target, publisher))) as {
    revocation: { created: string };
  };
  forged.revocation.created = '2020-01-01T00:00:00.000Z';
  rejected(
    await validateGossipMessage(
      text.encode(JSON.stringify(forged)),
      new TrustPolicy(),
      new MemoryGossipLedger(),
    ),
    'signature_invalid',
  );
});
