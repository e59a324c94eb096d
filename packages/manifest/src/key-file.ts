import { randomBytes } from 'node:crypto';
import { open, link, rename, unlink, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GojinnError } from '@gojinn/errors';
import { decodeBase64url, encodeBase64url } from './base64url.ts';
import { SEED_BYTES, bytesEqual, keyPairFromSeed, parsePublicKey, type PublisherKeyPair } from './keys.ts';
import { MAX_KEY_FILE_BYTES } from './limits.ts';
import { FieldChecker } from './schema.ts';
import { parseStrictJson } from './strict-json.ts';

/** The `type` tag of a private key file (docs/keys.md): says what the file is and which algorithm. */
export const PRIVATE_KEY_FILE_TYPE = 'gojinn-ed25519-private-key';
export const PRIVATE_KEY_FILE_VERSION = 1;
/** Permission bits of a private key file: owner read/write only. */
export const PRIVATE_KEY_FILE_MODE = 0o600;

/**
 * The private key file: a JSON object with the type tag, format version, the public key text
 * form (so a person can tell which key a file holds) and the 32-byte seed in base64url.
 */
export function encodePrivateKeyFile(pair: PublisherKeyPair): Uint8Array {
  const file = {
    type: PRIVATE_KEY_FILE_TYPE,
    version: PRIVATE_KEY_FILE_VERSION,
    publicKey: pair.publicKey,
    seed: encodeBase64url(pair.secretKey.subarray(0, SEED_BYTES)),
  };
  return new TextEncoder().encode(`${JSON.stringify(file, null, 2)}\n`);
}

/** Parses a private key file strictly; the stored public key must be the one the seed derives. */
export function parsePrivateKeyFile(bytes: Uint8Array): PublisherKeyPair {
  if (bytes.byteLength > MAX_KEY_FILE_BYTES) {
    throw new GojinnError(
      'bad_request',
      `private key file is ${bytes.byteLength} bytes; limit MAX_KEY_FILE_BYTES is ${MAX_KEY_FILE_BYTES}`,
    );
  }
  const check = new FieldChecker('bad_request', 'private key file');
  const object = check.object(parseStrictJson(bytes, 'private key file', 'bad_request'), '', [
    'type',
    'version',
    'publicKey',
    'seed',
  ]);
  if (object.type !== PRIVATE_KEY_FILE_TYPE)
    check.fail('type', `must be ${JSON.stringify(PRIVATE_KEY_FILE_TYPE)}`);
  if (object.version !== PRIVATE_KEY_FILE_VERSION)
    check.fail('version', `must be ${PRIVATE_KEY_FILE_VERSION}`);
  const publicKey = check.string(object.publicKey, 'publicKey', 64);
  const publicKeyBytes = parsePublicKey(publicKey, 'bad_request');
  const seed = decodeBase64url(
    check.string(object.seed, 'seed', 64),
    SEED_BYTES,
    "private key file field 'seed'",
    'bad_request',
  );
  const pair = keyPairFromSeed(seed);
  if (!bytesEqual(pair.publicKeyBytes, publicKeyBytes)) {
    check.fail('publicKey', 'does not match the key derived from the seed (corrupt or edited file)');
  }
  return pair;
}

/**
 * Writes a private key file atomically with mode 0600: the bytes go to a fresh temporary file
 * (created exclusively, 0600 from the start, synced) in the same directory, which then takes
 * the final name — by `link` (fails if the name exists: never overwrites) or, with `force`,
 * by `rename` (replaces). A crash leaves either no key file or a whole one, never a partial or
 * world-readable one.
 */
export async function writePrivateKeyFile(
  path: string,
  pair: PublisherKeyPair,
  options: { force?: boolean } = {},
): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', PRIVATE_KEY_FILE_MODE).catch((error: unknown) => {
    throw new GojinnError(
      'bad_request',
      `cannot create key file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  });
  try {
    try {
      await handle.chmod(PRIVATE_KEY_FILE_MODE); // the umask may only have narrowed it; make it exact
      await handle.writeFile(encodePrivateKeyFile(pair));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await (options.force === true ? rename(temporary, path) : link(temporary, path));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      if (code === 'EEXIST') {
        throw new GojinnError(
          'bad_request',
          `${path} already exists; refusing to overwrite a key file (use --force)`,
        );
      }
      throw new GojinnError('bad_request', `cannot write key file ${path}: ${code}`);
    }
    await syncDirectory(dirname(path));
  } finally {
    await unlink(temporary).catch(() => undefined); // gone already after rename
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Reads a private key file. Like ssh, refuses a file that group or others can access: a
 * publisher key that others could read must be treated as leaked.
 */
export async function readPrivateKeyFile(path: string): Promise<PublisherKeyPair> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new GojinnError(
      'bad_request',
      `cannot read private key file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  if (!info.isFile()) throw new GojinnError('bad_request', `private key file ${path} is not a regular file`);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new GojinnError(
      'bad_request',
      `private key file ${path} is accessible by group or others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  }
  if (info.size > MAX_KEY_FILE_BYTES) {
    throw new GojinnError(
      'bad_request',
      `private key file ${path} is ${info.size} bytes; limit MAX_KEY_FILE_BYTES is ${MAX_KEY_FILE_BYTES}`,
    );
  }
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return parsePrivateKeyFile(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
