import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { GojinnError } from '@gojinn/errors';
import { ADMIN_TOKEN_FILE } from '../config/data-dir.ts';

/**
 * The admin token lives in `<dataDir>/admin.token` — 64 lowercase hex digits (32 random bytes)
 * and a newline, mode 0600 — as `gojinn init` writes it (daemon/src/config/data-dir.ts).
 */
export const ADMIN_TOKEN_PATTERN = /^[0-9a-f]{64}$/;
/** Read at most this many bytes of the token file: a token is 65 bytes. */
const MAX_TOKEN_FILE_BYTES = 1024;

/** A fresh token in the file's format (without the newline). */
export function generateAdminToken(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Reads and checks the node's admin token. Refused (`bad_request`, naming the file): a missing
 * file, another format, or a file other users can read or write (the token is the admin API's
 * only credential, so a world-readable one is as good as none).
 */
export async function readAdminToken(dataDir: string): Promise<string> {
  return readTokenFile(join(dataDir, ADMIN_TOKEN_FILE), 'admin token', '(run gojinn init)');
}

/**
 * Reads a bearer token file in the admin token's format (64 lowercase hex digits, an optional
 * newline, mode 0600). `label` names it in errors; `hint` is appended when it cannot be opened.
 */
export async function readTokenFile(path: string, label: string, hint = ''): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new GojinnError(
      'bad_request',
      `cannot read the ${label} ${path}: ${code}${hint === '' ? '' : ` ${hint}`}`,
    );
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new GojinnError('bad_request', `${label} ${path} is not a file`);
    if ((info.mode & 0o077) !== 0) {
      throw new GojinnError(
        'bad_request',
        `${label} ${path} is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`,
      );
    }
    const buffer = Buffer.alloc(MAX_TOKEN_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, bytesRead).toString('utf8').replace(/\n$/, '');
    if (!ADMIN_TOKEN_PATTERN.test(text)) {
      throw new GojinnError('bad_request', `${label} ${path} is not 64 lowercase hex digits`);
    }
    return text;
  } finally {
    await handle.close();
  }
}

/**
 * Compares a presented token with the node's in constant time. Both sides are hashed first,
 * so neither the comparison nor its length check depends on how much of the token matches.
 */
export function adminTokenMatches(expected: string, presented: string): boolean {
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(presented, 'utf8').digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined for anything else. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
  return match?.[1];
}
