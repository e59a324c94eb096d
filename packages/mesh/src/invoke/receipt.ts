/**
 * Signed execution receipts (protocols/invoke.md, "Receipt"): the executing node attests, with
 * its libp2p node key, which module ran on which request, what it answered, with how much fuel,
 * whether the run was deterministic and from which seed.
 *
 * Schema 2 (what this node signs): the receipts of calls that finish together for one caller
 * are the leaves of an RFC 9162 Merkle tree (merkle.ts); the node signs
 * `RECEIPT_BATCH_DOMAIN_TAG` + canonical JSON of `{ root, size }` once, and each receipt carries
 * its claims, its place in the tree (`batch: { size, index, path }`) and that signature. A
 * receipt stays verifiable alone, by anyone holding the peer id: leaf from its own fields, path
 * to the root, signature over the root. Binding `size` makes the proof non-malleable (RFC 9162
 * proofs of one leaf for different tree sizes can reach the same root).
 *
 * Schema 1 (one signature per receipt over `RECEIPT_DOMAIN_TAG` + canonical JSON of the other
 * fields) is still verified: audit logs hold such receipts, and callers upgraded before their
 * servers keep working. The two tags differ, so neither form can pass for the other, nor for a
 * manifest or revocation.
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
import { buildMerkleTree, merkleLeafHash, merklePathLength, merkleRootFromPath } from './merkle.ts';
import { VerifiedBatchCache } from './verified-batches.ts';

/** Prefix of the bytes a schema-1 receipt's own signature covers. */
export const RECEIPT_DOMAIN_TAG = 'gojinn/receipt/v1\n';

/** Prefix of the bytes a batch root signature covers (schema 2); ends in a newline like the others. */
export const RECEIPT_BATCH_DOMAIN_TAG = 'gojinn/receipt-batch/v1\n';

/** The schema this node signs: batch-signed receipts. */
export const RECEIPT_SCHEMA_VERSION = 2;

/** The earlier schema, one signature per receipt: verified, no longer signed. */
export const SINGLE_RECEIPT_SCHEMA_VERSION = 1;

/**
 * Most receipts under one signature: a signer flushes a batch when it reaches this, and a
 * verifier refuses a larger `batch.size`. Raising it is a protocol change (older verifiers
 * refuse the larger batches).
 */
export const MAX_RECEIPTS_PER_BATCH = 64;

/** Longest inclusion path: ⌈log2 MAX_RECEIPTS_PER_BATCH⌉ (the deepest leaf of the largest batch). */
export const MAX_RECEIPT_PATH_LENGTH = Math.ceil(Math.log2(MAX_RECEIPTS_PER_BATCH));

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

/** What the executing node attests, before it adds `schema`, `peer`, the batch and the signature. */
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

/** Where a receipt sits in its batch: RFC 9162 leaf index, tree size and audit path. */
export interface ReceiptBatchProof {
  /** Receipts under the signature, 1..MAX_RECEIPTS_PER_BATCH. */
  size: number;
  /** This receipt's leaf, 0..size−1. */
  index: number;
  /** Sibling hashes from the leaf up (64 lowercase hex each), exactly as many as RFC 9162 gives. */
  path: string[];
}

/** Schema 2: the claims, the batch proof, and the signature over the batch root. */
export interface BatchReceipt extends ReceiptClaims {
  schema: typeof RECEIPT_SCHEMA_VERSION;
  /** Peer id of the executing node; its key signed the batch root. */
  peer: string;
  batch: ReceiptBatchProof;
  /** Ed25519, unpadded base64url, over RECEIPT_BATCH_DOMAIN_TAG + canonical JSON of { root, size }. */
  signature: string;
}

/** Schema 1: one signature per receipt (verified for old receipts and old servers). */
export interface SingleReceipt extends ReceiptClaims {
  schema: typeof SINGLE_RECEIPT_SCHEMA_VERSION;
  peer: string;
  /** Ed25519, unpadded base64url, over RECEIPT_DOMAIN_TAG + canonical JSON of the other fields. */
  signature: string;
}

export type Receipt = BatchReceipt | SingleReceipt;

const CLAIM_FIELDS = [
  'moduleSha256',
  'requestSha256',
  'responseSha256',
  'fuelUsed',
  'deterministic',
  'seed',
  'traceId',
  'time',
] as const;
const SINGLE_FIELDS: ReadonlySet<string> = new Set(['schema', 'peer', ...CLAIM_FIELDS, 'signature']);
const BATCH_FIELDS: ReadonlySet<string> = new Set(['schema', 'peer', ...CLAIM_FIELDS, 'batch', 'signature']);
const PROOF_FIELDS: ReadonlySet<string> = new Set(['size', 'index', 'path']);

const encoder = new TextEncoder();

/** The fields of a receipt a signature or a leaf covers, in a fresh object (no stray fields). */
function unsignedOf(receipt: Omit<Receipt, 'signature' | 'batch'>): JsonObject {
  return {
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
}

/** The exact bytes a schema-1 receipt's signature covers. */
export function receiptSigningBytes(receipt: Omit<SingleReceipt, 'signature'>): Uint8Array {
  return encoder.encode(RECEIPT_DOMAIN_TAG + canonicalJson(unsignedOf(receipt)));
}

/**
 * A schema-2 receipt's leaf bytes: canonical JSON (RFC 8785) of every field but `batch` and
 * `signature`. Spelled out rather than through canonicalJson (a third of a cached verification's
 * cost): the keys are written in RFC 8785's order (UTF-16 code units), and for strings, safe
 * integers and booleans JSON.stringify's output is RFC 8785's.
 */
export function receiptLeafBytes(receipt: Omit<BatchReceipt, 'signature' | 'batch'>): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      deterministic: receipt.deterministic,
      fuelUsed: receipt.fuelUsed,
      moduleSha256: receipt.moduleSha256,
      peer: receipt.peer,
      requestSha256: receipt.requestSha256,
      responseSha256: receipt.responseSha256,
      schema: receipt.schema,
      seed: receipt.seed,
      time: receipt.time,
      traceId: receipt.traceId,
    }),
  );
}

/** The exact bytes a batch signature covers: the tag, then canonical JSON of the root (64 lowercase hex) and the size. */
export function receiptBatchSigningBytes(root: string, size: number): Uint8Array {
  return encoder.encode(RECEIPT_BATCH_DOMAIN_TAG + canonicalJson({ root, size }));
}

/**
 * Throws `internal` unless `claims` pass the checks a verifier applies (a node never signs what
 * its peers would refuse; claims come from this node's own executor).
 */
export function assertSignableClaims(claims: ReceiptClaims): void {
  const problem = claimsProblem({ ...claims, peer: 'x' });
  if (problem !== undefined) throw new GojinnError('internal', `cannot sign a receipt: ${problem}`);
}

/**
 * Signs a batch of receipts with one Ed25519 signature over their Merkle root (schema 2), in
 * the order given: receipt i is leaf i. 1..MAX_RECEIPTS_PER_BATCH claims, each checked with the
 * verifier's rules (`internal` otherwise).
 */
export function signReceiptBatch(claims: readonly ReceiptClaims[], privateKey: PrivateKey): BatchReceipt[] {
  for (const one of claims) assertSignableClaims(one);
  return signCheckedReceiptBatch(claims, privateKey);
}

/** `signReceiptBatch` for claims that passed `assertSignableClaims` already (the batcher's, at entry). */
export function signCheckedReceiptBatch(
  claims: readonly ReceiptClaims[],
  privateKey: PrivateKey,
): BatchReceipt[] {
  if (privateKey.type !== 'Ed25519') {
    throw new GojinnError('internal', `receipts are signed with an Ed25519 node key, not ${privateKey.type}`);
  }
  if (claims.length < 1 || claims.length > MAX_RECEIPTS_PER_BATCH) {
    throw new GojinnError(
      'internal',
      `a receipt batch holds 1..${MAX_RECEIPTS_PER_BATCH} receipts (MAX_RECEIPTS_PER_BATCH), not ${claims.length}`,
    );
  }
  const { keyObject, peer } = signingKeyOf(privateKey);
  const unsigned = claims.map((one) => {
    return {
      schema: RECEIPT_SCHEMA_VERSION,
      peer,
      moduleSha256: one.moduleSha256,
      requestSha256: one.requestSha256,
      responseSha256: one.responseSha256,
      fuelUsed: one.fuelUsed,
      deterministic: one.deterministic,
      seed: one.seed,
      traceId: one.traceId,
      time: one.time,
    } as const;
  });
  const tree = buildMerkleTree(unsigned.map((one) => merkleLeafHash(receiptLeafBytes(one))));
  // Inline on purpose: node:crypto's callback form (libuv's thread pool) was measured in
  // bench/invoke-remote.ts to cost more process CPU per call and lower calls/s on 2 busy cores.
  const signature = sign(null, receiptBatchSigningBytes(tree.root, claims.length), keyObject).toString(
    'base64url',
  );
  return unsigned.map((one, index) => ({
    ...one,
    batch: { size: claims.length, index, path: tree.paths[index] ?? [] },
    signature,
  }));
}

/** One receipt alone: a batch of one (schema 2, empty path). */
export async function signReceipt(claims: ReceiptClaims, privateKey: PrivateKey): Promise<BatchReceipt> {
  return signReceiptBatch([claims], privateKey)[0] as BatchReceipt;
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

/** Batch roots this process verified (shared: a verification is true for any caller). */
const sharedVerifiedBatches = new VerifiedBatchCache();

/** The process's cache of verified batch roots (`verifyReceipt`'s default): its hits and misses. */
export function defaultVerifiedBatchCache(): VerifiedBatchCache {
  return sharedVerifiedBatches;
}

export interface VerifyReceiptOptions {
  /** Where verified batch roots are remembered. Default: one cache shared by the process. */
  cache?: VerifiedBatchCache;
}

/**
 * Checks an untrusted receipt (a parsed JSON value): exactly the receipt's fields, each well
 * formed, `peer` equal to `expectedPeer` (the peer the caller called, proven by the Noise
 * handshake), and the signature by that peer's key — over the receipt (schema 1) or over the
 * root its inclusion path leads to (schema 2). Returns the typed receipt; anything else is
 * `signature_invalid` naming the field.
 */
export async function verifyReceipt(
  value: unknown,
  expectedPeer: PeerId | string,
  options: VerifyReceiptOptions = {},
): Promise<Receipt> {
  return verifyParsedReceipt(parseReceipt(value), expectedPeer, options);
}

/** `verifyReceipt` for a receipt `parseReceipt` returned (the answer parser already did). */
export function verifyParsedReceipt(
  receipt: Receipt,
  expectedPeer: PeerId | string,
  options: VerifyReceiptOptions = {},
): Receipt {
  const expected = expectedPeer.toString();
  if (receipt.peer !== expected) {
    throw new GojinnError(
      'signature_invalid',
      `receipt is from peer ${receipt.peer}, not from the peer called (${expected})`,
    );
  }
  if (receipt.schema === SINGLE_RECEIPT_SCHEMA_VERSION) {
    const { signature, ...unsigned } = receipt;
    if (!signatureVerifies(receiptSigningBytes(unsigned), receipt.peer, signature)) {
      throw new GojinnError(
        'signature_invalid',
        `receipt signature does not verify with the key of ${receipt.peer}`,
      );
    }
    return receipt;
  }
  const { size, index, path } = receipt.batch;
  const root = merkleRootFromPath(merkleLeafHash(receiptLeafBytes(receipt)), index, size, path);
  // parseReceipt checked index < size and the path's length for them: the root exists.
  if (root === undefined) throw new GojinnError('signature_invalid', 'receipt.batch does not form a proof');
  const cache = options.cache ?? sharedVerifiedBatches;
  if (cache.has(receipt.peer, size, root, receipt.signature)) return receipt;
  if (!signatureVerifies(receiptBatchSigningBytes(root, size), receipt.peer, receipt.signature)) {
    throw new GojinnError(
      'signature_invalid',
      `receipt batch signature does not verify with the key of ${receipt.peer} over the root its claims and batch.path lead to`,
    );
  }
  cache.add(receipt.peer, size, root, receipt.signature);
  return receipt;
}

function signatureVerifies(bytes: Uint8Array, peer: string, signature: string): boolean {
  try {
    // OpenSSL's Ed25519 refuses a non-reduced S (RFC 8032 §5.1.7): one signature, one spelling.
    return verify(null, bytes, verifyingKeyOf(peer), Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** Shape checks only (no signature): exactly the receipt's fields for its schema, each well formed. */
export function parseReceipt(value: unknown): Receipt {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GojinnError('signature_invalid', 'receipt must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  const schema = record.schema;
  if (schema !== RECEIPT_SCHEMA_VERSION && schema !== SINGLE_RECEIPT_SCHEMA_VERSION) {
    throw new GojinnError(
      'signature_invalid',
      `receipt.schema must be ${RECEIPT_SCHEMA_VERSION} (or ${SINGLE_RECEIPT_SCHEMA_VERSION}, single-signed)`,
    );
  }
  const fields = schema === RECEIPT_SCHEMA_VERSION ? BATCH_FIELDS : SINGLE_FIELDS;
  for (const key of Object.keys(record)) {
    if (!fields.has(key)) {
      throw new GojinnError(
        'signature_invalid',
        `receipt (schema ${schema}) has an unknown field ${JSON.stringify(key.slice(0, 64))}`,
      );
    }
  }
  const signature = record.signature;
  if (
    typeof signature !== 'string' ||
    signature.length !== SIGNATURE_CHARS ||
    !BASE64URL.test(signature) ||
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
  const claims = {
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
  if (receipt.schema === SINGLE_RECEIPT_SCHEMA_VERSION) {
    return { schema: SINGLE_RECEIPT_SCHEMA_VERSION, ...claims, signature: receipt.signature };
  }
  return {
    schema: RECEIPT_SCHEMA_VERSION,
    ...claims,
    batch: parseBatchProof(record.batch),
    signature: receipt.signature,
  };
}

/** `batch` of a schema-2 receipt: exactly size, index and path, within the bounds. */
function parseBatchProof(value: unknown): ReceiptBatchProof {
  const fail = (message: string): never => {
    throw new GojinnError('signature_invalid', `receipt.batch${message}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(' must be a JSON object { size, index, path }');
  }
  const proof = value as Record<string, unknown>;
  for (const key of Object.keys(proof)) {
    if (!PROOF_FIELDS.has(key)) fail(` has an unknown field ${JSON.stringify(key.slice(0, 64))}`);
  }
  const { size, index, path } = proof;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1 || size > MAX_RECEIPTS_PER_BATCH) {
    fail(`.size must be an integer in [1, ${MAX_RECEIPTS_PER_BATCH}] (MAX_RECEIPTS_PER_BATCH)`);
  }
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0 || index >= (size as number)) {
    fail(`.index must be an integer in [0, batch.size − 1]`);
  }
  if (!Array.isArray(path) || path.length > MAX_RECEIPT_PATH_LENGTH) {
    fail(`.path must be an array of at most ${MAX_RECEIPT_PATH_LENGTH} hashes (MAX_RECEIPT_PATH_LENGTH)`);
  }
  const hashes = path as unknown[];
  const expected = merklePathLength(index as number, size as number);
  if (hashes.length !== expected) {
    fail(
      `.path must have ${String(expected)} hashes for leaf ${String(index)} of a batch of ${String(size)}`,
    );
  }
  hashes.forEach((hash, i) => {
    if (typeof hash !== 'string' || !HEX64.test(hash))
      fail(`.path[${i}] must be 64 lowercase hex characters`);
  });
  return { size: size as number, index: index as number, path: [...(hashes as string[])] };
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
