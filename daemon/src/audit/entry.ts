import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { GojinnError } from '@gojinn/errors';
import {
  SIGNATURE_BYTES,
  canonicalJson,
  parsePublicKey,
  parseStrictJson,
  signedBytes,
  verifyDetached,
  type JsonObject,
  type JsonValue,
  type PublisherKeyPair,
} from '@gojinn/manifest';
import { AUDIT_KIND_PATTERN } from './limits.ts';

/** The fields every audit entry has, whatever its version. */
interface AuditEntryFields {
  seq: number;
  time: string;
  kind: string;
  data: JsonValue;
  /** sha-256 of the previous entry's stored bytes (GENESIS_HASH for entry 0). */
  prev: string;
  signer: string;
}

/**
 * A version 1 entry (written before seals; still read and verified): `sig` is an ed25519
 * signature by `signer` over AUDIT_ENTRY_DOMAIN_TAG + the canonical JSON of every other field.
 */
export interface SignedAuditEntry extends AuditEntryFields {
  v: typeof AUDIT_SIGNED_ENTRY_VERSION;
  sig: string;
}

/**
 * A version 2 entry (written now): no signature of its own. It is signed by the node key
 * through the seal of its append batch (AuditSeal), which signs the chain hash of the batch's
 * last entry — and so, through the `prev` links, every byte of this entry.
 */
export interface SealedAuditEntry extends AuditEntryFields {
  v: typeof AUDIT_ENTRY_VERSION;
}

/** One audit log entry as stored: canonical JSON (docs/audit.md). */
export type AuditEntry = SignedAuditEntry | SealedAuditEntry;

/**
 * The signed record of one append batch of version 2 entries, written in the same LevelDB
 * batch: entries `first`..`seq` were appended together and `hash` is the sha-256 of entry
 * `seq`'s stored bytes. One signature for the batch instead of one per entry.
 */
export interface AuditSeal {
  v: typeof AUDIT_SEAL_VERSION;
  first: number;
  seq: number;
  hash: string;
  signer: string;
  sig: string;
}

/** The signed record of the last entry: lets a verifier see the tail was cut off. */
export interface AuditHead {
  v: typeof AUDIT_RECORD_VERSION;
  seq: number;
  hash: string;
  signer: string;
  sig: string;
}

/**
 * The signed record pruning leaves behind (docs/audit.md, "Retention"): entries 0..`seq` were
 * deleted in the same batch that wrote it, and `hash` is the sha-256 of entry `seq`'s stored
 * bytes, so the first kept entry's `prev` must equal it. `time` is when the pruning happened.
 */
export interface AuditCheckpoint {
  v: typeof AUDIT_RECORD_VERSION;
  seq: number;
  hash: string;
  time: string;
  signer: string;
  sig: string;
}

/** The entry version appended now: unsigned, sealed per batch. */
export const AUDIT_ENTRY_VERSION = 2;
/** The entry version signed one by one (the format before seals). */
export const AUDIT_SIGNED_ENTRY_VERSION = 1;
/** The version of the head and checkpoint records (unchanged by entry version 2). */
export const AUDIT_RECORD_VERSION = 1;
export const AUDIT_SEAL_VERSION = 1;
export const AUDIT_ENTRY_DOMAIN_TAG = 'gojinn/audit-entry/v1\n';
/** Its own tag: a seal signature can never be passed off as a head's, an entry's or a checkpoint's. */
export const AUDIT_SEAL_DOMAIN_TAG = 'gojinn/audit-seal/v1\n';
export const AUDIT_HEAD_DOMAIN_TAG = 'gojinn/audit-head/v1\n';
/** Its own tag: a checkpoint signature can never be passed off as an entry's or a head's. */
export const AUDIT_CHECKPOINT_DOMAIN_TAG = 'gojinn/audit-checkpoint/v1\n';
/** `prev` of entry 0. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Keys inside the audit sublevel: `entry/<seq, 16 digits>` sorts numerically; `checkpoint`
 * sorts before the entries and `head` after, so neither is inside an entry range. A batch's
 * seal is `entry/<its last seq>/seal`: it sorts right after that entry and before the next,
 * so one forward walk meets each seal just after the entries it covers (verification stays
 * one pass with constant memory), and pruning a prefix of entries takes their seals with it.
 */
export const ENTRY_KEY_PREFIX = 'entry/';
/** The end (exclusive) of the entry key range: the character after '/'. */
export const ENTRY_KEY_END = 'entry0';
export const SEAL_KEY_SUFFIX = '/seal';
export const HEAD_KEY = 'head';
export const CHECKPOINT_KEY = 'checkpoint';
const SEQ_DIGITS = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function entryKey(seq: number): string {
  return ENTRY_KEY_PREFIX + String(seq).padStart(SEQ_DIGITS, '0');
}

/** The sequence number a stored key names, or undefined when the key is not an entry key. */
export function seqOfKey(key: string): number | undefined {
  const digits = key.slice(ENTRY_KEY_PREFIX.length);
  if (!key.startsWith(ENTRY_KEY_PREFIX) || !/^\d{16}$/.test(digits)) return undefined;
  const seq = Number(digits);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

export function sealKey(seq: number): string {
  return entryKey(seq) + SEAL_KEY_SUFFIX;
}

/** The last entry number a seal key names, or undefined when the key is not a seal key. */
export function seqOfSealKey(key: string): number | undefined {
  return key.endsWith(SEAL_KEY_SUFFIX) ? seqOfKey(key.slice(0, -SEAL_KEY_SUFFIX.length)) : undefined;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

type NewEntryFields = { seq: number; time: string; kind: string; data: JsonValue; prev: string };

/** Encodes the next version 2 entry (unsigned: its batch's seal signs it). */
export function encodeEntry(
  fields: NewEntryFields,
  signer: string,
): { entry: SealedAuditEntry; bytes: Uint8Array } {
  requireKind(fields.kind);
  const entry: SealedAuditEntry = { v: AUDIT_ENTRY_VERSION, ...fields, signer };
  return { entry, bytes: encoder.encode(canonicalJson(entry as unknown as JsonObject)) };
}

/** Signs and encodes a version 1 entry (one signature per entry: the format before seals). */
export function signEntry(
  fields: NewEntryFields,
  key: PublisherKeyPair,
): { entry: SignedAuditEntry; bytes: Uint8Array } {
  requireKind(fields.kind);
  const unsigned = { v: AUDIT_SIGNED_ENTRY_VERSION, ...fields, signer: key.publicKey } as const;
  const sig = sign(null, signedBytes(AUDIT_ENTRY_DOMAIN_TAG, unsigned), privateKeyObject(key));
  const entry: SignedAuditEntry = { ...unsigned, sig: Buffer.from(sig).toString('base64url') };
  return { entry, bytes: encoder.encode(canonicalJson(entry as unknown as JsonObject)) };
}

function requireKind(kind: string): void {
  if (!AUDIT_KIND_PATTERN.test(kind)) {
    throw new GojinnError('bad_request', `audit entry kind must match ${AUDIT_KIND_PATTERN.source}`);
  }
}

/** Signs the seal of one append batch: entries `first`..`seq`, entry `seq` hashing to `hash`. */
export function signSeal(
  fields: { first: number; seq: number; hash: string },
  key: PublisherKeyPair,
): { seal: AuditSeal; bytes: Uint8Array } {
  const unsigned = { v: AUDIT_SEAL_VERSION, ...fields, signer: key.publicKey } as const;
  const sig = sign(null, signedBytes(AUDIT_SEAL_DOMAIN_TAG, unsigned), privateKeyObject(key));
  const seal: AuditSeal = { ...unsigned, sig: Buffer.from(sig).toString('base64url') };
  return { seal, bytes: encoder.encode(canonicalJson(seal as unknown as JsonObject)) };
}

export function signHead(seq: number, hash: string, key: PublisherKeyPair): Uint8Array {
  const unsigned = { v: AUDIT_RECORD_VERSION, seq, hash, signer: key.publicKey };
  const sig = sign(null, signedBytes(AUDIT_HEAD_DOMAIN_TAG, unsigned), privateKeyObject(key));
  return encoder.encode(canonicalJson({ ...unsigned, sig: Buffer.from(sig).toString('base64url') }));
}

export function signCheckpoint(
  fields: { seq: number; hash: string; time: string },
  key: PublisherKeyPair,
): { checkpoint: AuditCheckpoint; bytes: Uint8Array } {
  const unsigned = { v: AUDIT_RECORD_VERSION, ...fields, signer: key.publicKey } as const;
  const sig = sign(null, signedBytes(AUDIT_CHECKPOINT_DOMAIN_TAG, unsigned), privateKeyObject(key));
  const checkpoint: AuditCheckpoint = { ...unsigned, sig: Buffer.from(sig).toString('base64url') };
  return { checkpoint, bytes: encoder.encode(canonicalJson(checkpoint as unknown as JsonObject)) };
}

/**
 * Parses stored entry bytes strictly: canonical JSON only (so an entry has exactly one byte
 * form and its hash is well defined), every field of the right type. Throws GojinnError
 * `internal` naming the problem; does not check the signature (see signatureValid).
 */
export function parseEntry(bytes: Uint8Array, maxEntryBytes: number): AuditEntry {
  const object = parseCanonical(bytes, maxEntryBytes, 'entry');
  const { v, seq, time, kind, data, prev, signer, sig } = object;
  const fields = Object.keys(object).sort().join(',');
  // Version 1 carries its own signature, version 2 none (its seal signs it): each exactly its fields.
  const expected =
    v === AUDIT_SIGNED_ENTRY_VERSION
      ? 'data,kind,prev,seq,sig,signer,time,v'
      : v === AUDIT_ENTRY_VERSION
        ? 'data,kind,prev,seq,signer,time,v'
        : undefined;
  if (expected === undefined) throw malformed(`entry version is not 1 or 2`);
  if (fields !== expected) throw malformed(`entry version ${v} has fields ${fields}`);
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw malformed('bad seq');
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) throw malformed('bad time');
  if (typeof kind !== 'string' || !AUDIT_KIND_PATTERN.test(kind)) throw malformed('bad kind');
  if (typeof prev !== 'string' || !/^[0-9a-f]{64}$/.test(prev)) throw malformed('bad prev hash');
  if (typeof signer !== 'string') throw malformed('bad signer');
  const fieldsOf = { seq, time, kind, data: data ?? null, prev, signer };
  if (v === AUDIT_ENTRY_VERSION) return { v, ...fieldsOf };
  if (typeof sig !== 'string') throw malformed('bad sig');
  return { v: AUDIT_SIGNED_ENTRY_VERSION, ...fieldsOf, sig };
}

/** Parses a stored seal strictly (like parseEntry); does not check the signature. */
export function parseSeal(bytes: Uint8Array, maxEntryBytes: number): AuditSeal {
  const object = parseCanonical(bytes, maxEntryBytes, 'seal');
  const { v, first, seq, hash, signer, sig } = object;
  const fields = Object.keys(object).sort().join(',');
  if (fields !== 'first,hash,seq,sig,signer,v') throw malformed(`seal has fields ${fields}`);
  if (v !== AUDIT_SEAL_VERSION) throw malformed('seal version is not 1');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw malformed('bad seal seq');
  if (typeof first !== 'number' || !Number.isSafeInteger(first) || first < 0 || first > seq) {
    throw malformed('bad seal first (not a number from 0 to seq)');
  }
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) throw malformed('bad seal hash');
  if (typeof signer !== 'string' || typeof sig !== 'string') throw malformed('bad seal signer or sig');
  return { v, first, seq, hash, signer, sig };
}

export function parseHead(bytes: Uint8Array, maxEntryBytes: number): AuditHead {
  const object = parseCanonical(bytes, maxEntryBytes, 'head');
  const { v, seq, hash, signer, sig } = object;
  const fields = Object.keys(object).sort().join(',');
  if (fields !== 'hash,seq,sig,signer,v') throw malformed(`head has fields ${fields}`);
  if (v !== AUDIT_RECORD_VERSION) throw malformed('head version is not 1');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw malformed('bad head seq');
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) throw malformed('bad head hash');
  if (typeof signer !== 'string' || typeof sig !== 'string') throw malformed('bad head signer or sig');
  return { v, seq, hash, signer, sig };
}

/** Parses a stored checkpoint strictly (like parseEntry); does not check the signature. */
export function parseCheckpoint(bytes: Uint8Array, maxEntryBytes: number): AuditCheckpoint {
  const object = parseCanonical(bytes, maxEntryBytes, 'checkpoint');
  const { v, seq, hash, time, signer, sig } = object;
  const fields = Object.keys(object).sort().join(',');
  if (fields !== 'hash,seq,sig,signer,time,v') throw malformed(`checkpoint has fields ${fields}`);
  if (v !== AUDIT_RECORD_VERSION) throw malformed('checkpoint version is not 1');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw malformed('bad checkpoint seq');
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) throw malformed('bad checkpoint hash');
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) throw malformed('bad checkpoint time');
  if (typeof signer !== 'string' || typeof sig !== 'string') throw malformed('bad checkpoint signer or sig');
  return { v, seq, hash, time, signer, sig };
}

/** True when `sig` is `signer`'s valid signature over the (version 1) entry's other fields. */
export function entrySignatureValid(entry: SignedAuditEntry): boolean {
  const { sig, ...unsigned } = entry;
  return signatureValid(AUDIT_ENTRY_DOMAIN_TAG, unsigned as unknown as JsonObject, entry.signer, sig);
}

export function sealSignatureValid(seal: AuditSeal): boolean {
  const { sig, ...unsigned } = seal;
  return signatureValid(AUDIT_SEAL_DOMAIN_TAG, unsigned as unknown as JsonObject, seal.signer, sig);
}

export function headSignatureValid(head: AuditHead): boolean {
  const { sig, ...unsigned } = head;
  return signatureValid(AUDIT_HEAD_DOMAIN_TAG, unsigned as unknown as JsonObject, head.signer, sig);
}

export function checkpointSignatureValid(checkpoint: AuditCheckpoint): boolean {
  const { sig, ...unsigned } = checkpoint;
  return signatureValid(
    AUDIT_CHECKPOINT_DOMAIN_TAG,
    unsigned as unknown as JsonObject,
    checkpoint.signer,
    sig,
  );
}

/*
 * Signing uses node:crypto's native ed25519 (RFC 8032, the same deterministic signatures
 * tweetnacl makes, tested): an append batch costs two signatures (seal and head), and
 * tweetnacl's ~5 ms each would cap a node at a few hundred audited batches per second. The
 * private KeyObject is cached per key pair. Verification is @gojinn/manifest's verifyDetached
 * (native too, with its own bounded key cache), the same check every signed document gets.
 */
const privateKeys = new WeakMap<PublisherKeyPair, KeyObject>();

function privateKeyObject(key: PublisherKeyPair): KeyObject {
  let object = privateKeys.get(key);
  if (object === undefined) {
    const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
    object = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', d: b64(key.secretKey.subarray(0, 32)), x: b64(key.publicKeyBytes) },
      format: 'jwk',
    });
    privateKeys.set(key, object);
  }
  return object;
}

function signatureValid(tag: string, unsigned: JsonObject, signer: string, sigText: string): boolean {
  let publicKey: Uint8Array;
  try {
    publicKey = parsePublicKey(signer, 'signature_invalid');
  } catch {
    return false;
  }
  if (!/^[A-Za-z0-9_-]{86}$/.test(sigText)) return false;
  const sig = new Uint8Array(Buffer.from(sigText, 'base64url'));
  if (sig.length !== SIGNATURE_BYTES || Buffer.from(sig).toString('base64url') !== sigText) return false;
  // Also refuses a non-reduced S (RFC 8032 §5.1.7): one signature, one spelling.
  return verifyDetached(signedBytes(tag, unsigned), sig, publicKey);
}

function parseCanonical(bytes: Uint8Array, maxEntryBytes: number, what: string): JsonObject {
  if (bytes.byteLength > maxEntryBytes) {
    throw malformed(`${what} is ${bytes.byteLength} bytes, over maxEntryBytes (${maxEntryBytes})`);
  }
  let text: string;
  let value: JsonValue;
  try {
    text = decoder.decode(bytes);
    value = parseStrictJson(bytes, `audit ${what}`, 'internal');
  } catch {
    throw malformed(`${what} is not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw malformed(`${what} is not a JSON object`);
  }
  if (canonicalJson(value) !== text) throw malformed(`${what} is not in canonical form`);
  return value;
}

function malformed(detail: string): GojinnError {
  return new GojinnError('internal', `audit log: malformed ${detail}`);
}
