/**
 * Signed execution receipts (protocols/invoke.md, "Receipt"): the executing node attests, with
 * its libp2p node key, which module ran on which request, what it answered, with how much fuel,
 * whether the run was deterministic and from which seed. The signature covers
 * `RECEIPT_DOMAIN_TAG` + the canonical JSON of every other field, so a receipt can never verify
 * as a manifest or revocation (their tags differ) nor after any field changed.
 *
 * The public key is the one embedded in the `peer` id (Ed25519 peer ids are identity
 * multihashes of the key): a verifier needs nothing but the receipt and the peer it called.
 * Receipts come from peers, so parsing is strict and every problem is `signature_invalid`.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import { canonicalJson } from '@gojinn/manifest';
import type { JsonObject } from '@gojinn/manifest';

/** Prefix of the signed bytes; ends in a newline like the manifest's and revocation's tags. */
export const RECEIPT_DOMAIN_TAG = 'gojinn/receipt/v1\n';

export const RECEIPT_SCHEMA_VERSION = 1;

/** Longest `peer` text accepted (an Ed25519 peer id is 52 characters in base58btc). */
export const MAX_RECEIPT_PEER_CHARS = 128;

/** Longest `time` text accepted (ISO 8601 UTC, e.g. 2026-11-29T11:18:50.123Z, is 24). */
export const MAX_RECEIPT_TIME_CHARS = 32;

/**
 * Peers whose verifying key is kept ready (parsed from the peer id, imported into OpenSSL):
 * importing costs more than the verification itself. Least recently added forgotten first.
 */
export const MAX_CACHED_RECEIPT_KEYS = 1024;

/** An Ed25519 signature is 64 bytes: 86 characters of unpadded base64url. */
const SIGNATURE_BYTES = 64;
const SIGNATURE_CHARS = 86;

const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/** What the executing node attests, before it adds `schema`, `peer` and the signature. */
export interface ReceiptClaims {
  /** SHA-256 (hex) of the module bytes that ran. */
  moduleSha256: string;
  /** SHA-256 (hex) of the exact stdin bytes the guest read (`encodeRequest`). */
  requestSha256: string;
  /** SHA-256 (hex) of the canonical JSON of the guest's response object (`responseSha256`). */
  responseSha256: string;
  /** Fuel the run used; a safe integer. */
  fuelUsed: number;
  /** The run used only deterministic inputs (seeded clock and randomness, no non-deterministic host call). */
  deterministic: boolean;
  /** The invocation seed, 64 lowercase hex characters (the sandbox's form). */
  seed: string;
  /** The request's trace id, 32 lowercase hex characters. */
  traceId: string;
  /** ISO 8601 UTC time of completion; informational (the signer's clock). */
  time: string;
}

export interface Receipt extends ReceiptClaims {
  schema: typeof RECEIPT_SCHEMA_VERSION;
  /** Peer id of the executing node; its key signed the receipt. */
  peer: string;
  /** Ed25519 signature, unpadded base64url, over RECEIPT_DOMAIN_TAG + canonical JSON of the other fields. */
  signature: string;
}

const RECEIPT_FIELDS: ReadonlySet<string> = new Set([
  'schema',
  'peer',
  'moduleSha256',
  'requestSha256',
  'responseSha256',
  'fuelUsed',
  'deterministic',
  'seed',
  'traceId',
  'time',
  'signature',
]);

const encoder = new TextEncoder();

/** The exact bytes a receipt's signature covers. */
export function receiptSigningBytes(receipt: Omit<Receipt, 'signature'>): Uint8Array {
  const unsigned: JsonObject = {
    schema: receipt.schema,
    peer: receipt.peer,
    moduleSha256: receipt.moduleSha256,
    requestSha256: receipt.requestSha256,
    responseSha256: receipt.responseSha256,
    fuelUsed: receipt.fuelUsed,
    deterministic: receipt.deterministic,
    seed: receipt.seed,
    traceId: receipt.traceId,
    time: receipt.time,
  };
  return encoder.encode(RECEIPT_DOMAIN_TAG + canonicalJson(unsigned));
}

/**
 * Signs `claims` with the node's libp2p key (Ed25519). The claims are checked with the same
 * rules a verifier applies (a node never signs what its peers would refuse): a bad field is
 * `internal`, since claims come from this node's own executor.
 */
export async function signReceipt(claims: ReceiptClaims, privateKey: PrivateKey): Promise<Receipt> {
  if (privateKey.type !== 'Ed25519') {
    throw new GojinnError('internal', `receipts are signed with an Ed25519 node key, not ${privateKey.type}`);
  }
  const unsigned: Omit<Receipt, 'signature'> = {
    schema: RECEIPT_SCHEMA_VERSION,
    peer: signingKeyOf(privateKey).peer,
    moduleSha256: claims.moduleSha256,
    requestSha256: claims.requestSha256,
    responseSha256: claims.responseSha256,
    fuelUsed: claims.fuelUsed,
    deterministic: claims.deterministic,
    seed: claims.seed,
    traceId: claims.traceId,
    time: claims.time,
  };
  const problem = claimsProblem(unsigned);
  if (problem !== undefined) throw new GojinnError('internal', `cannot sign a receipt: ${problem}`);
  // Inline on purpose: node:crypto's callback form (libuv's thread pool) was measured in
  // bench/invoke-remote.ts to cost more process CPU per call and lower calls/s on 2 busy cores
  // (the hand-off outweighs the ≈ 70 µs signature and ≈ 120 µs verification it moves).
  const signature = sign(null, receiptSigningBytes(unsigned), signingKeyOf(privateKey).keyObject);
  return { ...unsigned, signature: signature.toString('base64url') };
}

// The node key imported into OpenSSL once: libp2p's own sign() re-imports it on every call.
const signingKeys = new WeakMap<PrivateKey, { keyObject: KeyObject; peer: string }>();

function signingKeyOf(privateKey: PrivateKey): { keyObject: KeyObject; peer: string } {
  let cached = signingKeys.get(privateKey);
  if (cached === undefined) {
    // An Ed25519 libp2p private key's raw form is the 32-byte seed then the 32-byte public key.
    const raw = privateKey.raw;
    const keyObject = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        d: Buffer.from(raw.subarray(0, 32)).toString('base64url'),
        x: Buffer.from(raw.subarray(32, 64)).toString('base64url'),
      },
    });
    cached = { keyObject, peer: peerIdFromPrivateKey(privateKey).toString() };
    signingKeys.set(privateKey, cached);
  }
  return cached;
}

/**
 * Checks an untrusted receipt (a parsed JSON value): exactly the receipt's fields, each well
 * formed, `peer` equal to `expectedPeer` (the peer the caller called, proven by the Noise
 * handshake), and the signature by that peer's key. Returns the typed receipt; anything else
 * is `signature_invalid` naming the field.
 */
export async function verifyReceipt(value: unknown, expectedPeer: PeerId | string): Promise<Receipt> {
  const receipt = parseReceipt(value);
  const expected = expectedPeer.toString();
  if (receipt.peer !== expected) {
    throw new GojinnError(
      'signature_invalid',
      `receipt is from peer ${receipt.peer}, not from the peer called (${expected})`,
    );
  }
  const publicKey = verifyingKeyOf(receipt.peer);
  const signature = Buffer.from(receipt.signature, 'base64url');
  const { signature: _omitted, ...unsigned } = receipt;
  let valid: boolean;
  try {
    // OpenSSL's Ed25519 refuses a non-reduced S (RFC 8032 §5.1.7): one signature, one spelling.
    valid = verify(null, receiptSigningBytes(unsigned), publicKey, signature);
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new GojinnError(
      'signature_invalid',
      `receipt signature does not verify with the key of ${receipt.peer}`,
    );
  }
  return receipt;
}

/** Shape checks only (no signature): exactly the receipt's fields, each well formed. */
export function parseReceipt(value: unknown): Receipt {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GojinnError('signature_invalid', 'receipt must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!RECEIPT_FIELDS.has(key)) {
      throw new GojinnError(
        'signature_invalid',
        `receipt has an unknown field ${JSON.stringify(key.slice(0, 64))}`,
      );
    }
  }
  if (record.schema !== RECEIPT_SCHEMA_VERSION) {
    throw new GojinnError('signature_invalid', `receipt.schema must be ${RECEIPT_SCHEMA_VERSION}`);
  }
  const signature = record.signature;
  if (
    typeof signature !== 'string' ||
    signature.length !== SIGNATURE_CHARS ||
    !BASE64URL.test(signature) ||
    Buffer.from(signature, 'base64url').length !== SIGNATURE_BYTES ||
    Buffer.from(signature, 'base64url').toString('base64url') !== signature
  ) {
    throw new GojinnError(
      'signature_invalid',
      `receipt.signature must be ${SIGNATURE_CHARS} canonical base64url characters (${SIGNATURE_BYTES} bytes)`,
    );
  }
  const problem = claimsProblem(record);
  if (problem !== undefined) throw new GojinnError('signature_invalid', problem);
  // Checked above: every field has its type.
  const receipt = record as unknown as Receipt;
  verifyingKeyOf(receipt.peer);
  return {
    schema: RECEIPT_SCHEMA_VERSION,
    peer: receipt.peer,
    moduleSha256: receipt.moduleSha256,
    requestSha256: receipt.requestSha256,
    responseSha256: receipt.responseSha256,
    fuelUsed: receipt.fuelUsed,
    deterministic: receipt.deterministic,
    seed: receipt.seed,
    traceId: receipt.traceId,
    time: receipt.time,
    signature: receipt.signature,
  };
}

/** The first malformed field of an unsigned receipt, described; undefined when all are fine. */
function claimsProblem(record: Record<string, unknown>): string | undefined {
  const { peer, fuelUsed, deterministic, time } = record;
  if (typeof peer !== 'string' || peer.length === 0 || peer.length > MAX_RECEIPT_PEER_CHARS) {
    return `receipt.peer must be a peer id of at most ${MAX_RECEIPT_PEER_CHARS} characters`;
  }
  for (const field of ['moduleSha256', 'requestSha256', 'responseSha256', 'seed'] as const) {
    const text = record[field];
    if (typeof text !== 'string' || !HEX64.test(text)) {
      return `receipt.${field} must be 64 lowercase hex characters`;
    }
  }
  if (typeof record.traceId !== 'string' || !HEX32.test(record.traceId)) {
    return 'receipt.traceId must be 32 lowercase hex characters';
  }
  if (typeof fuelUsed !== 'number' || !Number.isSafeInteger(fuelUsed) || fuelUsed < 0) {
    return 'receipt.fuelUsed must be a non-negative safe integer';
  }
  if (typeof deterministic !== 'boolean') return 'receipt.deterministic must be a boolean';
  if (
    typeof time !== 'string' ||
    time.length > MAX_RECEIPT_TIME_CHARS ||
    !ISO_UTC.test(time) ||
    Number.isNaN(Date.parse(time))
  ) {
    return `receipt.time must be an ISO 8601 UTC time of at most ${MAX_RECEIPT_TIME_CHARS} characters`;
  }
  return undefined;
}

const verifyingKeys = new Map<string, KeyObject>();

/** The Ed25519 key inside a peer id, ready for OpenSSL; `signature_invalid` when there is none. */
function verifyingKeyOf(peer: string): KeyObject {
  const cached = verifyingKeys.get(peer);
  if (cached !== undefined) return cached;
  let id: PeerId;
  try {
    id = peerIdFromString(peer);
  } catch {
    throw new GojinnError('signature_invalid', 'receipt.peer is not a peer id');
  }
  if (id.type !== 'Ed25519' || id.publicKey === undefined) {
    throw new GojinnError('signature_invalid', `receipt.peer must be an Ed25519 peer id, not ${id.type}`);
  }
  const keyObject = createPublicKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(id.publicKey.raw).toString('base64url') },
  });
  if (verifyingKeys.size >= MAX_CACHED_RECEIPT_KEYS) {
    const oldest = verifyingKeys.keys().next().value;
    if (oldest !== undefined) verifyingKeys.delete(oldest);
  }
  verifyingKeys.set(peer, keyObject);
  return keyObject;
}
