/**
 * The gossip envelope of topic `/gojinn/manifests/1` (protocols/manifest-gossip.md): one strict
 * JSON object `{"type":"manifest","manifest":{…}}` or `{"type":"revocation","revocation":{…}}`.
 * Untrusted bytes are bounded before anything else, parsed once, and every problem is
 * `signature_invalid` (a record that cannot be verified) naming the limit or field.
 */
import { GojinnError } from '@gojinn/errors';
import {
  MAX_JSON_DEPTH,
  MAX_MANIFEST_BYTES,
  canonicalJson,
  parseManifest,
  parseRevocation,
  parseStrictJson,
} from '@gojinn/manifest';
import type { JsonObject, JsonValue, Manifest, Revocation } from '@gojinn/manifest';

/** The gossip topic for signed manifests and revocations (major version 1). */
export const MANIFEST_TOPIC = '/gojinn/manifests/1';

/** Largest message accepted on the topic: the largest manifest (64 KiB) plus 16 KiB of envelope. */
export const MAX_GOSSIP_MESSAGE_BYTES = MAX_MANIFEST_BYTES + 16 * 1024;

export type GossipRecord =
  { type: 'manifest'; manifest: Manifest } | { type: 'revocation'; revocation: Revocation };

const utf8 = new TextEncoder();

/** The message bytes for a record: canonical JSON (relays forward these bytes unchanged). */
export function encodeGossipMessage(record: GossipRecord): Uint8Array {
  const body: JsonObject =
    record.type === 'manifest'
      ? { type: 'manifest', manifest: record.manifest as unknown as JsonValue }
      : { type: 'revocation', revocation: record.revocation as unknown as JsonValue };
  const bytes = utf8.encode(canonicalJson(body));
  if (bytes.byteLength > MAX_GOSSIP_MESSAGE_BYTES) {
    throw new GojinnError(
      'bad_request',
      `gossip message is ${bytes.byteLength} bytes; limit MAX_GOSSIP_MESSAGE_BYTES is ${MAX_GOSSIP_MESSAGE_BYTES}`,
    );
  }
  return bytes;
}

/**
 * Parses an untrusted gossip message: size, strict JSON (one level deeper than a manifest for
 * the envelope), exactly the fields `type` and the record its type names, then the record with
 * the manifest package's own strict checks (parseManifest / parseRevocation on its canonical
 * bytes, which also apply their size limits). Signatures are not checked here.
 */
export function parseGossipMessage(bytes: Uint8Array): GossipRecord {
  if (bytes.byteLength > MAX_GOSSIP_MESSAGE_BYTES) {
    throw new GojinnError(
      'signature_invalid',
      `gossip message is ${bytes.byteLength} bytes; limit MAX_GOSSIP_MESSAGE_BYTES is ${MAX_GOSSIP_MESSAGE_BYTES}`,
    );
  }
  const value = parseStrictJson(bytes, 'gossip message', 'signature_invalid', MAX_JSON_DEPTH + 1);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GojinnError('signature_invalid', 'gossip message must be a JSON object');
  }
  const type = value.type;
  if (type !== 'manifest' && type !== 'revocation') {
    throw new GojinnError(
      'signature_invalid',
      "gossip message field 'type' must be 'manifest' or 'revocation'",
    );
  }
  const keys = Object.keys(value);
  const extra = keys.find((key) => key !== 'type' && key !== type);
  if (extra !== undefined || keys.length !== 2) {
    throw new GojinnError(
      'signature_invalid',
      `gossip message of type '${type}' must have exactly the fields 'type' and '${type}'` +
        (extra === undefined ? '' : ` (found ${JSON.stringify(extra.slice(0, 64))})`),
    );
  }
  const inner = canonicalBytes(recordObject(value, type), type);
  return type === 'manifest'
    ? { type, manifest: parseManifest(inner) }
    : { type, revocation: parseRevocation(inner) };
}

/** Re-encodes an already parsed record; values canonical JSON cannot carry (a lone surrogate, a number out of range) make the record unverifiable. */
function canonicalBytes(record: JsonValue, type: string): Uint8Array {
  try {
    return utf8.encode(canonicalJson(record));
  } catch (error) {
    throw new GojinnError(
      'signature_invalid',
      `gossip message field '${type}': ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function recordObject(envelope: JsonObject, type: 'manifest' | 'revocation'): JsonValue {
  const inner = envelope[type];
  if (inner === undefined || inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
    throw new GojinnError('signature_invalid', `gossip message field '${type}' must be a JSON object`);
  }
  return inner;
}
