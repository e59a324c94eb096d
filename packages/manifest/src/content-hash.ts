import { createHash } from 'node:crypto';

/** The manifest's content hash: lowercase hex SHA-256 of the exact module bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What a manifest records about the module bytes it signs. */
export interface ModuleDigest {
  sha256: string;
  size: number;
}

export function moduleDigest(bytes: Uint8Array): ModuleDigest {
  return { sha256: sha256Hex(bytes), size: bytes.byteLength };
}

const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
// CIDv1 header: version 1, multicodec `raw` (0x55), multihash sha2-256 (0x12) of 32 bytes (0x20).
const CID_V1_RAW_SHA256_PREFIX = [0x01, 0x55, 0x12, 0x20];

/**
 * The same content hash as a CIDv1 (codec raw, multihash sha2-256) in multibase base32
 * (`b…`), the form IPFS-style content routing uses. It carries no more information than the
 * hex form; the manifest stores hex, this is for display and content routing keys.
 */
export function contentCid(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new TypeError('contentCid expects 64 lowercase hex characters');
  const bytes = [...CID_V1_RAW_SHA256_PREFIX, ...Buffer.from(sha256, 'hex')];
  let out = 'b';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}
