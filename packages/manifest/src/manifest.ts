import { GojinnError } from '@gojinn/errors';
import { decodeBase64url, encodeBase64url } from './base64url.ts';
import { canonicalJson } from './canonical-json.ts';
import { SIGNATURE_BYTES, keyPairFromSecretKey, parsePublicKey } from './keys.ts';
import { MAX_MANIFEST_BYTES } from './limits.ts';
import {
  MANIFEST_SCHEMA_VERSION,
  checkManifest,
  type DeclaredCapabilities,
  type Manifest,
  type RequestedLimits,
  type UnsignedManifest,
} from './schema.ts';
import { MANIFEST_DOMAIN_TAG, signDetached, signedBytes, verifyDetached } from './signing.ts';
import { parseStrictJson, type JsonValue } from './strict-json.ts';

/** What a publisher chooses; signManifest adds the schema, publisher key, creation time and signature. */
export interface ManifestFields {
  name: string;
  version: string;
  sha256: string;
  size: number;
  capabilities: DeclaredCapabilities;
  limits?: RequestedLimits;
  /** Defaults to now. */
  created?: string;
}

/** The unsigned part of a manifest, field by field (extra properties on the object are not signed). */
export function unsignedManifest(manifest: UnsignedManifest): UnsignedManifest {
  const { schema, name, version, sha256, size, capabilities, limits, publisher, created } = manifest;
  return { schema, name, version, sha256, size, capabilities, limits, publisher, created };
}

/** The exact bytes a manifest signature covers: `gojinn/manifest/v1\n` + canonical JSON of the unsigned fields. */
export function manifestSigningBytes(manifest: UnsignedManifest): Uint8Array {
  return signedBytes(MANIFEST_DOMAIN_TAG, unsignedManifest(manifest) as unknown as JsonValue);
}

/**
 * Signs a manifest. Scope lists are sorted and de-duplicated first (their canonical form);
 * any other problem with the fields is a `bad_request` naming the field.
 */
export function signManifest(fields: ManifestFields, secretKey: Uint8Array): Manifest {
  const pair = keyPairFromSecretKey(secretKey);
  const draft = {
    schema: MANIFEST_SCHEMA_VERSION,
    name: fields.name,
    version: fields.version,
    sha256: fields.sha256,
    size: fields.size,
    capabilities: normaliseScopes(fields.capabilities),
    limits: fields.limits ?? {},
    publisher: pair.publicKey,
    created: fields.created ?? new Date().toISOString(),
  };
  const unsigned = checkManifest(draft as unknown as JsonValue, 'bad_request', false);
  const signature = signDetached(manifestSigningBytes(unsigned), pair.secretKey);
  return { ...unsigned, signature: encodeBase64url(signature) };
}

function normaliseScopes(capabilities: DeclaredCapabilities): DeclaredCapabilities {
  if (typeof capabilities !== 'object' || capabilities === null) return capabilities;
  const sortedSet = (list: unknown): unknown =>
    Array.isArray(list) ? [...new Set(list as unknown[])].sort() : list;
  const out: Record<string, unknown> = {};
  for (const [capability, scope] of Object.entries(capabilities)) {
    if (typeof scope !== 'object' || scope === null) {
      out[capability] = scope;
      continue;
    }
    out[capability] = Object.fromEntries(Object.entries(scope).map(([key, list]) => [key, sortedSet(list)]));
  }
  return out as DeclaredCapabilities;
}

/**
 * The manifest file form: the manifest's canonical member order, indented two spaces for
 * people, UTF-8, final newline. Any JSON spelling of the same values parses to the same
 * manifest; the signature covers the canonical bytes, not the file's.
 */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const canonical = JSON.parse(canonicalJson(manifest as unknown as JsonValue)) as JsonValue;
  return new TextEncoder().encode(`${JSON.stringify(canonical, null, 2)}\n`);
}

/**
 * Parses an untrusted manifest file, once and strictly. Every problem — oversize (limit
 * MAX_MANIFEST_BYTES), not UTF-8/JSON, duplicate keys, unknown or missing fields, wrong
 * types, out-of-range values, another schema version — is `signature_invalid` (a manifest
 * that cannot be verified) with a message naming the field or limit. The signature itself is
 * not checked here: verifyManifest and verifyModule do that.
 */
export function parseManifest(bytes: Uint8Array): Manifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new GojinnError(
      'signature_invalid',
      `manifest is ${bytes.byteLength} bytes; limit MAX_MANIFEST_BYTES is ${MAX_MANIFEST_BYTES}`,
    );
  }
  return checkManifest(parseStrictJson(bytes, 'manifest', 'signature_invalid'), 'signature_invalid', true);
}

/** Checks the manifest's signature against its own publisher key; throws `signature_invalid`. */
export function verifyManifestSignature(manifest: Manifest): void {
  const publicKey = parsePublicKey(manifest.publisher, 'signature_invalid');
  const signature = decodeBase64url(
    manifest.signature,
    SIGNATURE_BYTES,
    'manifest signature',
    'signature_invalid',
  );
  if (!verifyDetached(manifestSigningBytes(manifest), signature, publicKey)) {
    throw new GojinnError(
      'signature_invalid',
      `manifest signature for ${manifest.name}@${manifest.version} does not verify with publisher key ${manifest.publisher}`,
    );
  }
}
