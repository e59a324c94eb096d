import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { GojinnError } from '@gojinn/errors';
import { keyPairFromSecretKey, type PublisherKeyPair } from '@gojinn/manifest';

/** The node identity key file the mesh writes (packages/mesh/src/identity.ts: NODE_KEY_FILE). */
const NODE_KEY_FILE = 'node.key';
/** The mesh's MAX_NODE_KEY_FILE_BYTES: a libp2p Ed25519 key file is 68 bytes. */
const MAX_NODE_KEY_FILE_BYTES = 256;

/**
 * The audit signing key pair of a libp2p Ed25519 private key (the node identity:
 * `loadOrCreateNodeIdentity(dataDir).privateKey`). Its `raw` form is tweetnacl's 64-byte secret
 * key, so the audit log and the peer id name the same key.
 */
export function auditKeyPairFromNodeKey(privateKey: { type: string; raw: Uint8Array }): PublisherKeyPair {
  if (privateKey.type !== 'Ed25519') {
    throw new GojinnError('bad_request', `the node key is ${privateKey.type}, not Ed25519`);
  }
  return keyPairFromSecretKey(privateKey.raw);
}

/**
 * The public key (text form) of `<dataDir>/node.key`, or undefined when there is none. Never
 * creates a key (unlike the mesh's loadOrCreateNodeIdentity): a verifier must not mint an
 * identity. A file that does not decode to an Ed25519 key is `bad_request`.
 */
export async function readNodePublicKey(dataDir: string): Promise<string | undefined> {
  const path = join(dataDir, NODE_KEY_FILE);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GojinnError('bad_request', `cannot read the node key ${path}`);
  }
  try {
    const buffer = Buffer.alloc(MAX_NODE_KEY_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_NODE_KEY_FILE_BYTES) {
      throw new GojinnError('bad_request', `node key ${path} is over ${MAX_NODE_KEY_FILE_BYTES} bytes`);
    }
    let key;
    try {
      key = privateKeyFromProtobuf(buffer.subarray(0, bytesRead));
    } catch {
      throw new GojinnError('bad_request', `node key ${path} is not a libp2p private key`);
    }
    return auditKeyPairFromNodeKey(key).publicKey;
  } finally {
    await handle.close();
  }
}
