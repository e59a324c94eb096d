import { createHash, randomBytes } from 'node:crypto';
import { constants as fs } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { GojinnError } from '@gojinn/errors';
import nacl from 'tweetnacl';

/** Environment variable that supplies the master key (64 hex digits); it wins over the file. */
export const MASTER_KEY_ENV = 'GOJINN_MASTER_KEY';
/** The master key file's name in the node's data directory (64 hex digits and a newline, mode 0600). */
export const MASTER_KEY_FILE = 'master.key';
/** Bytes of a master key: a tweetnacl secretbox key. */
export const MASTER_KEY_BYTES = nacl.secretbox.keyLength;
/** Bytes of a key id (a hash of the key), stored with each secret to name the key that sealed it. */
export const KEY_ID_BYTES = 8;

const KEY_HEX = /^[0-9a-fA-F]{64}$/;
const KEY_ID_DOMAIN = 'gojinn/master-key-id/v1\n';
/** Longest master key file accepted: the key, a newline and some slack for CRLF or spaces. */
const MAX_KEY_FILE_BYTES = 128;

/**
 * The node's master key: a 32-byte secretbox key that seals every secret at rest. The bytes are
 * held in a private field, so logging or serialising the object shows only `id` and `source`.
 */
export class MasterKey {
  /** Hex of the first KEY_ID_BYTES of sha-256(domain ‖ key): names the key without revealing it. */
  readonly id: string;
  readonly source: 'env' | 'file';
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array, source: 'env' | 'file') {
    if (bytes.byteLength !== MASTER_KEY_BYTES) {
      throw new GojinnError(
        'bad_request',
        `a master key is ${MASTER_KEY_BYTES} bytes, got ${bytes.byteLength}`,
      );
    }
    this.#bytes = Uint8Array.from(bytes);
    this.source = source;
    this.id = createHash('sha256')
      .update(KEY_ID_DOMAIN)
      .update(this.#bytes)
      .digest('hex')
      .slice(0, KEY_ID_BYTES * 2);
  }

  /** The key id as bytes (what a sealed record stores). */
  get idBytes(): Uint8Array {
    return Buffer.from(this.id, 'hex');
  }

  /** secretbox under this key. */
  seal(plaintext: Uint8Array, nonce: Uint8Array): Uint8Array {
    return nacl.secretbox(plaintext, nonce, this.#bytes);
  }

  /** secretbox.open under this key: null when the box was not sealed by it or was altered. */
  open(box: Uint8Array, nonce: Uint8Array): Uint8Array | null {
    return nacl.secretbox.open(box, nonce, this.#bytes);
  }

  toJSON(): { id: string; source: string } {
    return { id: this.id, source: this.source };
  }
}

/** Parses 64 hex digits; the message never contains the text. */
function parseKeyText(text: string, where: string): Uint8Array {
  const trimmed = text.trim();
  if (!KEY_HEX.test(trimmed)) {
    throw new GojinnError(
      'bad_request',
      `${where} must hold a master key as 64 hex digits (32 bytes); it holds ${trimmed.length} characters that are not one`,
    );
  }
  return Buffer.from(trimmed, 'hex');
}

export interface LoadMasterKeyOptions {
  /** The node's data directory, where `master.key` lives. */
  dataDir: string;
  /** Where GOJINN_MASTER_KEY is looked up (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * Create the file (32 random bytes) when neither the variable nor the file exists. Default
   * true; pass false where a missing key means "no secrets yet" rather than "make one".
   */
  create?: boolean;
}

/**
 * The node's master key: from `GOJINN_MASTER_KEY` when set, else from `<dataDir>/master.key`,
 * created on first use with mode 0600. A key file readable by group or others, not a regular
 * file, or not owned by this user is refused: a secret is only as safe as its key.
 * Resolves to undefined only when `create` is false and there is no key.
 */
export async function loadMasterKey(
  options: LoadMasterKeyOptions & { create: false },
): Promise<MasterKey | undefined>;
export async function loadMasterKey(options: LoadMasterKeyOptions): Promise<MasterKey>;
export async function loadMasterKey(options: LoadMasterKeyOptions): Promise<MasterKey | undefined> {
  const fromEnv = (options.env ?? process.env)[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    return new MasterKey(parseKeyText(fromEnv, `environment variable ${MASTER_KEY_ENV}`), 'env');
  }
  const path = join(options.dataDir, MASTER_KEY_FILE);
  const existing = await readKeyFile(path);
  if (existing !== undefined) return new MasterKey(existing, 'file');
  if (options.create === false) return undefined;
  return new MasterKey(await createKeyFile(options.dataDir, path), 'file');
}

/** The key in `path`, or undefined when there is no such file. Checks type, owner and mode first. */
async function readKeyFile(path: string): Promise<Uint8Array | undefined> {
  let handle;
  try {
    // O_NOFOLLOW: a symlink planted in the data directory must not redirect the key read.
    handle = await open(path, fs.O_RDONLY | fs.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new GojinnError('bad_request', `master key file ${path} is a symbolic link`);
    throw new GojinnError('internal', `cannot open master key file ${path}: ${code ?? 'error'}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new GojinnError('bad_request', `master key file ${path} is not a regular file`);
    if ((info.mode & 0o077) !== 0) {
      throw new GojinnError(
        'bad_request',
        `master key file ${path} has mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}: group or others can access it; run chmod 600 ${path}`,
      );
    }
    if (typeof process.getuid === 'function' && info.uid !== process.getuid()) {
      throw new GojinnError(
        'bad_request',
        `master key file ${path} belongs to another user (uid ${info.uid})`,
      );
    }
    if (info.size > MAX_KEY_FILE_BYTES) {
      throw new GojinnError('bad_request', `master key file ${path} is ${info.size} bytes; a key file is 65`);
    }
    const text = (await handle.readFile()).toString('latin1');
    return parseKeyText(text, `master key file ${path}`);
  } finally {
    await handle.close();
  }
}

/**
 * Creates the key file atomically: the key is written to a private temporary file, synced, then
 * hard-linked into place — so the file either does not exist or holds a whole key, and when two
 * processes race, both end up with the one that was linked first.
 */
async function createKeyFile(dataDir: string, path: string): Promise<Uint8Array> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(MASTER_KEY_BYTES);
  const temporary = join(dataDir, `.${MASTER_KEY_FILE}.${randomBytes(8).toString('hex')}.tmp`);
  const handle = await open(temporary, fs.O_WRONLY | fs.O_CREAT | fs.O_EXCL | fs.O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(`${key.toString('hex')}\n`, 'latin1');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another process created it first: use theirs.
  } finally {
    await unlink(temporary);
  }
  const directory = await open(dataDir, fs.O_RDONLY);
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
  const created = await readKeyFile(path);
  if (created === undefined)
    throw new GojinnError('internal', `master key file ${path} vanished after creation`);
  return created;
}
