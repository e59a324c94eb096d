import nacl from 'tweetnacl';
import { canonicalJson } from './canonical-json.ts';
import { SIGNATURE_BYTES } from './keys.ts';
import type { JsonValue } from './strict-json.ts';

/**
 * Domain tags: every signed Gojinn document starts with its own ASCII tag, so a signature
 * over one kind of document (or one schema version) can never verify as another. The tag
 * ends in a newline so no tag is a prefix of a longer one's body.
 */
export const MANIFEST_DOMAIN_TAG = 'gojinn/manifest/v1\n';
export const REVOCATION_DOMAIN_TAG = 'gojinn/revocation/v1\n';

const encoder = new TextEncoder();

/** The exact bytes signed: the domain tag, then the canonical JSON of the unsigned document, as UTF-8. */
export function signedBytes(domainTag: string, unsigned: JsonValue): Uint8Array {
  return encoder.encode(domainTag + canonicalJson(unsigned));
}

export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return nacl.sign.detached(message, secretKey);
}

// The order of the ed25519 base point, L = 2^252 + 27742317777372353535851937790883648493.
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

/**
 * ed25519 verification (tweetnacl) plus the check tweetnacl leaves out: the scalar half S of
 * the signature must be reduced (S < L, RFC 8032 §5.1.7). Without it, (R, S + L) verifies too,
 * so one signed manifest would have several signature spellings, defeating caches and
 * de-duplication keyed by signature. test/signing.test.ts shows tweetnacl accepting S + L.
 */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  let s = 0n;
  for (let i = SIGNATURE_BYTES - 1; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] ?? 0);
  if (s >= GROUP_ORDER) return false;
  return nacl.sign.detached.verify(message, signature, publicKey);
}
