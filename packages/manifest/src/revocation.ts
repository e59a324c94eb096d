import { GojinnError } from '@gojinn/errors';
import { decodeBase64url, encodeBase64url } from './base64url.ts';
import { canonicalJson } from './canonical-json.ts';
import { SIGNATURE_BYTES, keyPairFromSecretKey, parsePublicKey } from './keys.ts';
import { MAX_REVOCATION_BYTES, MAX_REVOCATION_REASON_LENGTH } from './limits.ts';
import { FieldChecker, checkSchemaVersion, type Manifest } from './schema.ts';
import { REVOCATION_DOMAIN_TAG, signDetached, signedBytes, verifyDetached } from './signing.ts';
import { parseStrictJson, type JsonValue } from './strict-json.ts';
import type { TrustPolicy } from './trust.ts';

export const REVOCATION_SCHEMA_VERSION = 1;
const REASON_PATTERN = /^[\x20-\x7e]+$/;

/** What a revocation withdraws: every module of a publisher key, or one (publisher, name, version). */
export type RevocationTarget =
  | { kind: 'publisher'; publisher: string }
  | { kind: 'version'; publisher: string; name: string; version: string };

/** Every field of a revocation but the signature: what the signature covers. */
export type UnsignedRevocation = RevocationTarget & {
  schema: typeof REVOCATION_SCHEMA_VERSION;
  /** Creation time, `YYYY-MM-DDTHH:MM:SS.sssZ`. */
  created: string;
  /** Optional free text for operators (printable ASCII, 1..MAX_REVOCATION_REASON_LENGTH). */
  reason?: string;
  /** The key that signed: the revoked publisher itself, or an operator key. */
  signer: string;
};

export type Revocation = UnsignedRevocation & { signature: string };

export interface RevocationFields {
  target: RevocationTarget;
  reason?: string;
  /** Defaults to now. */
  created?: string;
}

/** A revocation whose signature verified and whose signer may revoke its target. */
export interface VerifiedRevocation {
  revocation: Revocation;
  /** `publisher`: signed by the revoked publisher key itself; `operator`: by a key in trust.operators. */
  authority: 'publisher' | 'operator';
}

function checkRevocation(
  value: JsonValue | undefined,
  code: 'signature_invalid' | 'bad_request',
  signed: boolean,
): Revocation {
  const check = new FieldChecker(code, 'revocation');
  checkSchemaVersion(check, value, REVOCATION_SCHEMA_VERSION);
  const kindValue = (value as Record<string, JsonValue>).kind;
  if (kindValue !== 'publisher' && kindValue !== 'version')
    check.fail('kind', "must be 'publisher' or 'version'");
  const common = ['schema', 'kind', 'publisher', 'created', 'signer', ...(signed ? ['signature'] : [])];
  const required = kindValue === 'version' ? [...common, 'name', 'version'] : common;
  const object = check.object(value, '', required, ['reason']);
  const publisher = check.publicKey(object.publisher, 'publisher');
  const target: RevocationTarget =
    kindValue === 'version'
      ? {
          kind: 'version',
          publisher,
          name: check.name(object.name, 'name'),
          version: check.version(object.version, 'version'),
        }
      : { kind: 'publisher', publisher };
  const revocation: Revocation = {
    schema: REVOCATION_SCHEMA_VERSION,
    ...target,
    created: check.timestamp(object.created, 'created'),
    signer: check.publicKey(object.signer, 'signer'),
    signature: '',
  };
  if (object.reason !== undefined) {
    const reason = check.string(object.reason, 'reason', MAX_REVOCATION_REASON_LENGTH);
    if (!REASON_PATTERN.test(reason)) check.fail('reason', 'must be 1 or more printable ASCII characters');
    revocation.reason = reason;
  }
  if (signed) revocation.signature = check.signature(object.signature, 'signature');
  return revocation;
}

/** The unsigned fields of a revocation, field by field. */
function unsignedRevocation(revocation: UnsignedRevocation): UnsignedRevocation {
  const { schema, created, reason, signer } = revocation;
  const target: RevocationTarget =
    revocation.kind === 'version'
      ? {
          kind: 'version',
          publisher: revocation.publisher,
          name: revocation.name,
          version: revocation.version,
        }
      : { kind: 'publisher', publisher: revocation.publisher };
  return { schema, ...target, created, signer, ...(reason === undefined ? {} : { reason }) };
}

/** The exact bytes a revocation signature covers: `gojinn/revocation/v1\n` + canonical JSON of the unsigned fields. */
export function revocationSigningBytes(revocation: UnsignedRevocation): Uint8Array {
  return signedBytes(REVOCATION_DOMAIN_TAG, unsignedRevocation(revocation) as unknown as JsonValue);
}

/** Signs a revocation with `secretKey` (the revoked publisher's own key, or an operator key). */
export function signRevocation(fields: RevocationFields, secretKey: Uint8Array): Revocation {
  const pair = keyPairFromSecretKey(secretKey);
  const draft = {
    schema: REVOCATION_SCHEMA_VERSION,
    ...fields.target,
    created: fields.created ?? new Date().toISOString(),
    signer: pair.publicKey,
    ...(fields.reason === undefined ? {} : { reason: fields.reason }),
  };
  const unsigned = checkRevocation(draft as unknown as JsonValue, 'bad_request', false);
  const signature = signDetached(revocationSigningBytes(unsigned), pair.secretKey);
  return { ...unsignedRevocation(unsigned), signature: encodeBase64url(signature) } as Revocation;
}

/** The revocation file form: canonical member order, indented two spaces, final newline. */
export function encodeRevocation(revocation: Revocation): Uint8Array {
  const canonical = JSON.parse(canonicalJson(revocation as unknown as JsonValue)) as JsonValue;
  return new TextEncoder().encode(`${JSON.stringify(canonical, null, 2)}\n`);
}

/** Parses an untrusted revocation once, strictly (limit MAX_REVOCATION_BYTES); every problem is `signature_invalid`. */
export function parseRevocation(bytes: Uint8Array): Revocation {
  if (bytes.byteLength > MAX_REVOCATION_BYTES) {
    throw new GojinnError(
      'signature_invalid',
      `revocation is ${bytes.byteLength} bytes; limit MAX_REVOCATION_BYTES is ${MAX_REVOCATION_BYTES}`,
    );
  }
  return checkRevocation(
    parseStrictJson(bytes, 'revocation', 'signature_invalid'),
    'signature_invalid',
    true,
  );
}

/**
 * Verifies a revocation: shape, signature by `signer` over the canonical bytes
 * (`signature_invalid`), then authority — the signer must be the revoked publisher itself or
 * one of `trust.operators` (`untrusted_publisher` otherwise). A publisher need not be trusted
 * to revoke itself: a revocation only ever takes trust away.
 */
export function verifyRevocation(revocation: Revocation, trust: TrustPolicy): VerifiedRevocation {
  const checked = checkRevocation(revocation as unknown as JsonValue, 'signature_invalid', true);
  const signature = decodeBase64url(
    checked.signature,
    SIGNATURE_BYTES,
    'revocation signature',
    'signature_invalid',
  );
  const signerKey = parsePublicKey(checked.signer, 'signature_invalid');
  if (!verifyDetached(revocationSigningBytes(checked), signature, signerKey)) {
    throw new GojinnError(
      'signature_invalid',
      `revocation signature does not verify with signer key ${checked.signer}`,
    );
  }
  if (checked.signer === checked.publisher) return { revocation: checked, authority: 'publisher' };
  if (trust.isOperator(checked.signer)) return { revocation: checked, authority: 'operator' };
  throw new GojinnError(
    'untrusted_publisher',
    `revocation signed by ${checked.signer}, which is neither the revoked publisher ${checked.publisher} nor an operator key`,
  );
}

/** True when `revocation` withdraws `manifest` (its publisher key, or its exact name and version). */
export function revocationCovers(
  revocation: RevocationTarget,
  manifest: Pick<Manifest, 'publisher' | 'name' | 'version'>,
): boolean {
  if (revocation.publisher !== manifest.publisher) return false;
  return (
    revocation.kind === 'publisher' ||
    (revocation.name === manifest.name && revocation.version === manifest.version)
  );
}
