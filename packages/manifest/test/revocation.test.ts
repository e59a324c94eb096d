import { test } from 'node:test';
import assert from 'node:assert/strict';
import nacl from 'tweetnacl';
import {
  MANIFEST_DOMAIN_TAG,
  MAX_REVOCATION_BYTES,
  MAX_REVOCATION_REASON_LENGTH,
  TrustPolicy,
  canonicalJson,
  encodeRevocation,
  parseRevocation,
  revocationCovers,
  revocationSigningBytes,
  signRevocation,
  verifyRevocation,
  type JsonValue,
  type Revocation,
} from '../src/index.ts';
import { FIXED_TIME, copy, operator, otherPublisher, publisher } from './fixtures.ts';

const codeIs = (code: string, message?: RegExp) => (error: unknown) =>
  (error as { code?: string }).code === code &&
  (message === undefined || message.test((error as Error).message));
const operators = new TrustPolicy({ operators: [operator.publicKey] });
const keyRevocation = signRevocation(
  {
    target: { kind: 'publisher', publisher: publisher.publicKey },
    created: FIXED_TIME,
    reason: 'key leaked',
  },
  publisher.secretKey,
);
const versionRevocation = signRevocation(
  {
    target: { kind: 'version', publisher: publisher.publicKey, name: 'hello', version: '1.2.3' },
    created: FIXED_TIME,
  },
  operator.secretKey,
);

void test('a publisher may revoke its own key; nobody need trust it first', () => {
  const verified = verifyRevocation(keyRevocation, new TrustPolicy());
  assert.equal(verified.authority, 'publisher');
  assert.equal(verified.revocation.signer, publisher.publicKey);
  assert.deepEqual(parseRevocation(encodeRevocation(keyRevocation)), keyRevocation);
});

void test('an operator key may revoke a version; without being an operator, the same record is refused', () => {
  assert.equal(verifyRevocation(versionRevocation, operators).authority, 'operator');
  assert.throws(
    () => verifyRevocation(versionRevocation, new TrustPolicy()),
    codeIs('untrusted_publisher', /neither the revoked publisher .* nor an operator key/),
  );
  // Being a trusted *publisher* gives no authority over another publisher's modules.
  const byOther = signRevocation(
    { target: { kind: 'publisher', publisher: publisher.publicKey } },
    otherPublisher.secretKey,
  );
  assert.throws(
    () => verifyRevocation(byOther, new TrustPolicy({ publishers: [otherPublisher.publicKey] })),
    codeIs('untrusted_publisher'),
  );
  // The publisher may also revoke one of its own versions.
  const own = signRevocation(
    { target: { kind: 'version', publisher: publisher.publicKey, name: 'hello', version: '2.0.0' } },
    publisher.secretKey,
  );
  assert.equal(verifyRevocation(own, new TrustPolicy()).authority, 'publisher');
});

void test('every revocation field changed after signing is refused', () => {
  const edits: [Revocation, (r: Record<string, unknown>) => void][] = [
    [keyRevocation, (r) => (r.publisher = otherPublisher.publicKey)],
    [keyRevocation, (r) => (r.created = '2026-01-31T12:00:00.001Z')],
    [keyRevocation, (r) => (r.reason = 'key leakeD')],
    [keyRevocation, (r) => delete r.reason],
    [versionRevocation, (r) => (r.name = 'hellp')],
    [versionRevocation, (r) => (r.version = '1.2.4')],
    [versionRevocation, (r) => (r.reason = 'added later')],
    [versionRevocation, (r) => (r.signer = otherPublisher.publicKey)],
    [
      versionRevocation,
      (r) => {
        r.kind = 'publisher';
        delete r.name;
        delete r.version;
      },
    ],
  ];
  for (const [original, edit] of edits) {
    const tampered = copy(original) as unknown as Record<string, unknown>;
    edit(tampered);
    assert.throws(
      () => verifyRevocation(tampered as unknown as Revocation, operators),
      codeIs('signature_invalid', /does not verify/),
      JSON.stringify(tampered),
    );
  }
});

void test('a signature over the revocation body with the manifest domain tag is refused', () => {
  const { signature: _signature, ...unsigned } = keyRevocation;
  const wrongDomain = nacl.sign.detached(
    new TextEncoder().encode(MANIFEST_DOMAIN_TAG + canonicalJson(unsigned as JsonValue)),
    publisher.secretKey,
  );
  const forged = { ...keyRevocation, signature: Buffer.from(wrongDomain).toString('base64url') };
  assert.throws(() => verifyRevocation(forged, operators), codeIs('signature_invalid'));
  assert.match(
    new TextDecoder().decode(revocationSigningBytes(keyRevocation)),
    /^gojinn\/revocation\/v1\n\{"created":/,
  );
});

void test('revocations are parsed strictly, within MAX_REVOCATION_BYTES', () => {
  const base = copy(keyRevocation) as unknown as Record<string, unknown>;
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ ...base, kind: 'module' }, /'kind' must be 'publisher' or 'version'/],
    [{ ...base, name: 'hello' }, /'name' is not a known field/],
    [{ ...copy(versionRevocation), version: undefined }, /'version' is missing/],
    [{ ...base, reason: '' }, /'reason' must be 1 or more printable ASCII/],
    [{ ...base, reason: 'tab\there' }, /'reason'/],
    [{ ...base, reason: 'r'.repeat(MAX_REVOCATION_REASON_LENGTH + 1) }, /limit is 256/],
    [{ ...base, schema: 2 }, /schema 2; this node reads schema 1/],
    [{ ...base, signer: 'ed25519:x' }, /'signer'/],
  ];
  for (const [value, message] of bad) {
    assert.throws(
      () => parseRevocation(new TextEncoder().encode(JSON.stringify(value))),
      codeIs('signature_invalid', message),
      String(message),
    );
  }
  const reasonAtLimit = signRevocation(
    {
      target: { kind: 'publisher', publisher: publisher.publicKey },
      reason: 'r'.repeat(MAX_REVOCATION_REASON_LENGTH),
    },
    publisher.secretKey,
  );
  const text = new TextDecoder().decode(encodeRevocation(reasonAtLimit));
  const atLimit = new TextEncoder().encode(text.padEnd(MAX_REVOCATION_BYTES, ' '));
  assert.deepEqual(parseRevocation(atLimit), reasonAtLimit);
  assert.throws(
    () => parseRevocation(new TextEncoder().encode(`${text.padEnd(MAX_REVOCATION_BYTES, ' ')} `)),
    /MAX_REVOCATION_BYTES/,
  );
  assert.throws(
    () =>
      signRevocation(
        { target: { kind: 'version', publisher: publisher.publicKey, name: 'Hello', version: '1' } },
        publisher.secretKey,
      ),
    codeIs('bad_request', /'name'/),
  );
});

void test('revocationCovers matches a publisher key, or its exact name and version', () => {
  const manifest = { publisher: publisher.publicKey, name: 'hello', version: '1.2.3' };
  assert.equal(revocationCovers(keyRevocation, manifest), true);
  assert.equal(revocationCovers(keyRevocation, { ...manifest, publisher: otherPublisher.publicKey }), false);
  assert.equal(revocationCovers(versionRevocation, manifest), true);
  assert.equal(revocationCovers(versionRevocation, { ...manifest, version: '1.2.4' }), false);
  assert.equal(revocationCovers(versionRevocation, { ...manifest, name: 'other' }), false);
  assert.equal(
    revocationCovers(versionRevocation, { ...manifest, publisher: otherPublisher.publicKey }),
    false,
  );
});
