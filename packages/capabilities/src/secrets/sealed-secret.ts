import { randomBytes } from 'node:crypto';
import { GojinnError } from '@gojinn/errors';
import nacl from 'tweetnacl';
import { KEY_ID_BYTES, type MasterKey } from './master-key.ts';

/**
 * A secret as it rests in the store (docs/capabilities-db-secrets.md, "At rest"):
 *
 *   offset 0             u8       format version, 1
 *   offset 1             8 bytes  id of the master key that sealed it
 *   offset 9             24 bytes random nonce
 *   offset 33            …        secretbox(plaintext) (XSalsa20-Poly1305, 16-byte tag)
 *
 *   plaintext = u16 BE binding length ‖ binding (UTF-8) ‖ value
 *
 * The binding is the record's own store key (module, publisher, secret name): a record copied
 * under another key — another module's — fails to open instead of handing over the value.
 */
export const SEALED_FORMAT_VERSION = 1;
const HEADER_BYTES = 1 + KEY_ID_BYTES + nacl.secretbox.nonceLength;

const utf8 = new TextEncoder();

export function sealSecret(key: MasterKey, binding: string, value: Uint8Array): Uint8Array {
  const bindingBytes = utf8.encode(binding);
  if (bindingBytes.byteLength > 0xffff) throw new GojinnError('internal', 'secret binding too long');
  const plaintext = new Uint8Array(2 + bindingBytes.byteLength + value.byteLength);
  new DataView(plaintext.buffer).setUint16(0, bindingBytes.byteLength);
  plaintext.set(bindingBytes, 2);
  plaintext.set(value, 2 + bindingBytes.byteLength);
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  const box = key.seal(plaintext, nonce);
  plaintext.fill(0);
  const record = new Uint8Array(HEADER_BYTES + box.byteLength);
  record[0] = SEALED_FORMAT_VERSION;
  record.set(key.idBytes, 1);
  record.set(nonce, 1 + KEY_ID_BYTES);
  record.set(box, HEADER_BYTES);
  return record;
}

/**
 * The value of a sealed record stored under `binding`. Throws `internal` (details for the
 * operator, never any plaintext) when the record is damaged, sealed by another master key, or
 * filed under another key.
 */
export function openSecret(key: MasterKey, binding: string, record: Uint8Array): Uint8Array {
  if (
    record.byteLength < HEADER_BYTES + nacl.secretbox.overheadLength + 2 ||
    record[0] !== SEALED_FORMAT_VERSION
  ) {
    throw new GojinnError('internal', 'secret record is damaged (unknown format or too short)');
  }
  const keyId = Buffer.from(record.subarray(1, 1 + KEY_ID_BYTES)).toString('hex');
  if (keyId !== key.id) {
    throw new GojinnError(
      'internal',
      `secret was sealed under master key ${keyId}, but this node's master key is ${key.id} (${key.source})`,
    );
  }
  const plaintext = key.open(record.subarray(HEADER_BYTES), record.subarray(1 + KEY_ID_BYTES, HEADER_BYTES));
  if (plaintext === null)
    throw new GojinnError('internal', 'secret record fails authentication (damaged or altered)');
  const bindingLength = new DataView(plaintext.buffer, plaintext.byteOffset).getUint16(0);
  const expected = utf8.encode(binding);
  const stored = plaintext.subarray(2, 2 + bindingLength);
  if (bindingLength !== expected.byteLength || !Buffer.from(stored).equals(expected)) {
    plaintext.fill(0);
    throw new GojinnError('internal', 'secret record is filed under a key it was not sealed for');
  }
  const value = plaintext.slice(2 + bindingLength);
  plaintext.fill(0);
  return value;
}
