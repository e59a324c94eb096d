/**
 * The node's persistent identity: one Ed25519 key, created on first start and loaded on
 * every later one, so the peer id (and everything other peers remember about it: trust,
 * policies, receipts) survives restarts.
 *
 * The key file is the libp2p protobuf encoding of the private key, owner-only (0600). A file
 * that other users can read, that does not decode, or that holds a key of another type is
 * refused rather than replaced: silently minting a new identity would orphan every policy
 * that names the old peer id.
 */
import { open, mkdir, readFile, stat, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PrivateKey, PeerId } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';

/** Name of the key file inside the data dir. */
export const NODE_KEY_FILE = 'node.key';

/**
 * An Ed25519 private key in libp2p protobuf is 68 bytes (4 bytes of framing, 64 of key).
 * Anything larger is not ours: read at most this many bytes.
 */
export const MAX_NODE_KEY_FILE_BYTES = 256;

export interface NodeIdentity {
  privateKey: PrivateKey;
  peerId: PeerId;
  /** Absolute path of the key file. */
  keyPath: string;
  /** True when this call created the key (first start). */
  created: boolean;
}

/** Loads the node key from `dataDir`, or creates it (0600) when there is none. */
export async function loadOrCreateNodeIdentity(dataDir: string): Promise<NodeIdentity> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keyPath = join(dataDir, NODE_KEY_FILE);
  const existing = await statOrUndefined(keyPath);
  if (existing === undefined) {
    const privateKey = await generateKeyPair('Ed25519');
    await writeKeyFile(keyPath, privateKeyToProtobuf(privateKey));
    return { privateKey, peerId: peerIdFromPrivateKey(privateKey), keyPath, created: true };
  }
  const privateKey = await readKeyFile(keyPath, existing.mode, existing.size);
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), keyPath, created: false };
}

async function statOrUndefined(path: string): Promise<{ mode: number; size: number } | undefined> {
  try {
    const s = await stat(path);
    if (!s.isFile()) {
      throw new GojinnError('bad_request', `node key ${path} is not a regular file`);
    }
    return { mode: s.mode, size: s.size };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function readKeyFile(keyPath: string, mode: number, size: number): Promise<PrivateKey> {
  if ((mode & 0o077) !== 0) {
    throw new GojinnError(
      'bad_request',
      `node key ${keyPath} has mode ${(mode & 0o777).toString(8)}; it must be 600 (owner-only): fix with chmod 600`,
    );
  }
  if (size > MAX_NODE_KEY_FILE_BYTES) {
    throw new GojinnError(
      'bad_request',
      `node key ${keyPath} is ${size} bytes; limit MAX_NODE_KEY_FILE_BYTES is ${MAX_NODE_KEY_FILE_BYTES}`,
    );
  }
  const bytes = await readFile(keyPath);
  let key: PrivateKey;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (error) {
    throw new GojinnError('bad_request', `node key ${keyPath} is not a libp2p protobuf private key`, {
      cause: error,
    });
  }
  if (key.type !== 'Ed25519') {
    throw new GojinnError(
      'bad_request',
      `node key ${keyPath} is a ${key.type} key; Gojinn nodes use Ed25519`,
    );
  }
  return key;
}

/** Writes through a temporary file created 0600 and renames, so a crash never leaves half a key. */
async function writeKeyFile(keyPath: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${keyPath}.tmp-${process.pid}`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, keyPath);
}
