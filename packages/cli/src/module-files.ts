import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GojinnError, type ErrorCode, type ErrorInfo } from '@gojinn/errors';
import { EXIT_FAILED, EXIT_USAGE, UsageError, type CommandIo } from './command.ts';

/**
 * File handling shared by `gojinn keygen`, `sign` and `verify`: bounded reads that turn an
 * unreadable file into `bad_request`, atomic writes, the manifest file's default name, and
 * the one way these commands report a failure.
 */

/** `hello.wasm` → `hello.manifest.json`, in the module's directory. */
export function defaultManifestPath(modulePath: string): string {
  const name = basename(modulePath).replace(/\.wasm$/, '');
  return join(dirname(modulePath), `${name}.manifest.json`);
}

/**
 * Reads a whole file of at most `maxBytes`; any problem is a `bad_request` naming the file,
 * except a file over the limit, which is `oversizeCode` (a manifest too large to be one is
 * `signature_invalid`, like any other manifest that cannot be verified).
 */
export async function readBoundedFile(
  path: string,
  what: string,
  maxBytes: number,
  oversizeCode: ErrorCode = 'bad_request',
): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new GojinnError(
      'bad_request',
      `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new GojinnError('bad_request', `${what} ${path} is not a regular file`);
    if (info.size > maxBytes) {
      throw new GojinnError(oversizeCode, `${what} ${path} is ${info.size} bytes; the limit is ${maxBytes}`);
    }
    const buffer = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(buffer, 0, info.size, 0);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Writes a file atomically (temporary file in the same directory, synced, renamed over the target). */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o644);
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/** True when `path` names an existing directory (for `--out DIR`-style mistakes). */
export async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/**
 * Reports a failure and returns the exit status: `bad_request` (bad flags, unreadable or
 * malformed input) is 2, any other GojinnError is 1. With --json the failure is the one JSON
 * object printed. A UsageError without --json goes up to main, which prints the usage.
 */
export function reportFailure(
  command: string,
  error: unknown,
  json: boolean,
  io: CommandIo,
  extra: object = {},
): number {
  if (error instanceof UsageError) {
    if (!json) throw error;
    error = new GojinnError('bad_request', error.message);
  }
  if (!(error instanceof GojinnError)) throw error;
  const info: ErrorInfo = error.toJSON();
  if (json) io.stdout(`${JSON.stringify({ ok: false, ...extra, error: info })}\n`);
  else io.stderr(`gojinn ${command}: ${info.code}: ${info.message}\n`);
  return info.code === 'bad_request' ? EXIT_USAGE : EXIT_FAILED;
}
