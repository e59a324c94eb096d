import { GojinnError, type ErrorCode } from '@gojinn/errors';
import nacl from 'tweetnacl';
import { decodeBase64url, encodeBase64url } from './base64url.ts';

/**
 * Publisher keys are ed25519 (tweetnacl). The public key text form — what config files, CLI
 * flags, manifests and revocations carry — is `ed25519:` followed by the 32 key bytes in
 * unpadded base64url (43 characters). docs/keys.md documents it.
 */
export const PUBLIC_KEY_PREFIX = 'ed25519:';
export const PUBLIC_KEY_BYTES = 32;
/** tweetnacl's secret key: the 32-byte seed followed by the 32-byte public key. */
export const SECRET_KEY_BYTES = 64;
export const SEED_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** A publisher key pair. `secretKey` is tweetnacl's 64-byte form; `publicKey` is the text form. */
export interface PublisherKeyPair {
  publicKey: string;
  publicKeyBytes: Uint8Array;
  secretKey: Uint8Array;
}

/** A fresh key pair from the operating system's randomness (tweetnacl uses crypto.randomBytes). */
export function generateKeyPair(): PublisherKeyPair {
  return keyPairFromSeed(nacl.randomBytes(SEED_BYTES));
}

/** The key pair a 32-byte seed determines (the private key file stores the seed). */
export function keyPairFromSeed(seed: Uint8Array): PublisherKeyPair {
  if (seed.length !== SEED_BYTES)
    throw new GojinnError('bad_request', `an ed25519 seed is ${SEED_BYTES} bytes, got ${seed.length}`);
  const pair = nacl.sign.keyPair.fromSeed(seed);
  return {
    publicKey: formatPublicKey(pair.publicKey),
    publicKeyBytes: pair.publicKey,
    secretKey: pair.secretKey,
  };
}

/**
 * The key pair of a 64-byte tweetnacl secret key, re-derived from its seed half: a secret key
 * whose second half is not the seed's public key (corrupt, or spliced) is refused instead of
 * producing signatures that name the wrong publisher.
 */
export function keyPairFromSecretKey(secretKey: Uint8Array): PublisherKeyPair {
  if (secretKey.length !== SECRET_KEY_BYTES) {
    throw new GojinnError(
      'bad_request',
      `an ed25519 secret key is ${SECRET_KEY_BYTES} bytes, got ${secretKey.length}`,
    );
  }
  const pair = keyPairFromSeed(secretKey.subarray(0, SEED_BYTES));
  if (!bytesEqual(pair.publicKeyBytes, secretKey.subarray(SEED_BYTES))) {
    throw new GojinnError(
      'bad_request',
      'secret key is inconsistent: its public half does not match its seed',
    );
  }
  return pair;
}

export function formatPublicKey(bytes: Uint8Array): string {
  if (bytes.length !== PUBLIC_KEY_BYTES) {
    throw new GojinnError(
      'bad_request',
      `an ed25519 public key is ${PUBLIC_KEY_BYTES} bytes, got ${bytes.length}`,
    );
  }
  return PUBLIC_KEY_PREFIX + encodeBase64url(bytes);
}

/**
 * Parses the public key text form strictly: exact lowercase prefix, canonical base64url of 32
 * bytes, and not a weak key (see isWeakPublicKey). `code` is the error code for a bad key:
 * `bad_request` for operator input (flags, config), `signature_invalid` inside untrusted records.
 */
export function parsePublicKey(text: string, code: ErrorCode = 'bad_request'): Uint8Array {
  if (typeof text !== 'string' || !text.startsWith(PUBLIC_KEY_PREFIX)) {
    throw new GojinnError(code, `public key must look like '${PUBLIC_KEY_PREFIX}<43 base64url characters>'`);
  }
  const bytes = decodeBase64url(text.slice(PUBLIC_KEY_PREFIX.length), PUBLIC_KEY_BYTES, 'public key', code);
  if (isWeakPublicKey(bytes)) {
    throw new GojinnError(
      code,
      'public key is a small-order or non-canonical ed25519 point: anyone could forge its signatures',
    );
  }
  return bytes;
}

/** True when `text` is a valid public key text form (see parsePublicKey). */
export function isPublicKeyText(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  try {
    parsePublicKey(text);
    return true;
  } catch {
    return false;
  }
}

const FIELD_PRIME = 2n ** 255n - 19n;
/** y coordinate of the order-8 points of edwards25519 (the other two have -y). */
const ORDER_8_Y = 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n;

/**
 * Keys tweetnacl would accept but that must never be trusted: a point of small order makes
 * `[k]A` vanish for a share of all messages, so a signature `(R=[a]B, S=a)` verifies without
 * the private key (test/keys.test.ts forges one); a y coordinate ≥ p is a second spelling of
 * another point. Small-order points have y ∈ {0, 1, -1, ±ORDER_8_Y}, whatever the sign bit.
 */
export function isWeakPublicKey(bytes: Uint8Array): boolean {
  let y = 0n;
  for (let i = PUBLIC_KEY_BYTES - 1; i >= 0; i--) y = (y << 8n) | BigInt(bytes[i] ?? 0);
  y &= (1n << 255n) - 1n; // drop the sign bit of x
  if (y >= FIELD_PRIME) return true;
  return y === 0n || y === 1n || y === FIELD_PRIME - 1n || y === ORDER_8_Y || y === FIELD_PRIME - ORDER_8_Y;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
