import { GojinnError, type ErrorCode } from '@gojinn/errors';

const BASE64URL_PATTERN = /^[A-Za-z0-9_-]*$/;

/** Unpadded base64url (RFC 4648 §5), the only binary-to-text form Gojinn keys and signatures use. */
export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Strict inverse of encodeBase64url: exactly `byteLength` bytes, no padding, no whitespace, and
 * the canonical spelling only (Node's decoder ignores stray characters and non-zero trailing
 * bits; two spellings of one key or signature would make byte-for-byte comparisons lie).
 */
export function decodeBase64url(text: string, byteLength: number, what: string, code: ErrorCode): Uint8Array {
  const expectedChars = Math.ceil((byteLength * 4) / 3);
  if (text.length !== expectedChars || !BASE64URL_PATTERN.test(text)) {
    throw new GojinnError(
      code,
      `${what} must be ${expectedChars} base64url characters (${byteLength} bytes)`,
    );
  }
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.length !== byteLength || bytes.toString('base64url') !== text) {
    throw new GojinnError(code, `${what} is not canonical base64url`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
