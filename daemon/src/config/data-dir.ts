import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { GojinnError } from '@gojinn/errors';
import { CONFIG_FILE } from './config-parser.ts';
import { renderConfigTemplate, type ConfigSettings } from './template.ts';

/** The admin API token's file in the data directory: 64 hex digits and a newline, mode 0600. */
export const ADMIN_TOKEN_FILE = 'admin.token';
/** Random bytes in an admin token. */
export const ADMIN_TOKEN_BYTES = 32;
/** Mode of a data directory `gojinn init` creates: owner only. */
export const DATA_DIR_MODE = 0o700;
/** Mode of the files `gojinn init` writes: owner only (the token is a secret; the config need not be read by others). */
export const DATA_FILE_MODE = 0o600;

/** One file `initDataDir` writes. */
export interface DataDirFile {
  /** File name inside the data directory. */
  readonly name: string;
  /** Produces the contents (called once per init). */
  readonly contents: (settings: ConfigSettings) => string | Uint8Array;
}

/**
 * The files a fresh data directory gets, in order. The mesh work adds the node identity key
 * here (e.g. `{ name: 'node.key', contents: ... }`) so `gojinn init` creates it with the same
 * refusal to overwrite and the same modes.
 */
export const DATA_DIR_FILES: readonly DataDirFile[] = [
  { name: CONFIG_FILE, contents: renderConfigTemplate },
  { name: ADMIN_TOKEN_FILE, contents: () => `${randomBytes(ADMIN_TOKEN_BYTES).toString('hex')}\n` },
];

export interface InitDataDirResult {
  dataDir: string;
  /** Absolute paths written, in DATA_DIR_FILES order. */
  files: string[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function writeNew(path: string, contents: string | Uint8Array, replace: boolean): Promise<void> {
  if (!replace) {
    // 'wx' fails if the file appeared since the check: never overwrite without --force.
    const handle = await open(path, 'wx', DATA_FILE_MODE);
    try {
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return;
  }
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', DATA_FILE_MODE);
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * Creates (or, with `force`, refreshes) a node data directory: the directory with mode 0700 and
 * every DATA_DIR_FILES entry with mode 0600. Without `force`, any of those files already
 * present is a `bad_request` and nothing is written. Other files in the directory (store, KV,
 * secrets, master key) are never touched.
 */
export async function initDataDir(
  dataDir: string,
  options: { force?: boolean; settings?: ConfigSettings } = {},
): Promise<InitDataDirResult> {
  const force = options.force === true;
  const paths = DATA_DIR_FILES.map((file) => join(dataDir, file.name));
  const existing = await stat(dataDir).catch(() => undefined);
  if (existing !== undefined && !existing.isDirectory()) {
    throw new GojinnError('bad_request', `${dataDir} exists and is not a directory`);
  }
  if (!force) {
    for (const path of paths) {
      if (await exists(path)) {
        throw new GojinnError(
          'bad_request',
          `${path} already exists; refusing to overwrite it (use --force)`,
        );
      }
    }
  }
  try {
    await mkdir(dataDir, { recursive: true, mode: DATA_DIR_MODE });
    const info = await stat(dataDir);
    if (!info.isDirectory()) throw new GojinnError('bad_request', `${dataDir} is not a directory`);
    // mkdir's mode is filtered by the umask and ignored for an existing directory.
    await chmod(dataDir, DATA_DIR_MODE);
    for (const [i, file] of DATA_DIR_FILES.entries()) {
      await writeNew(paths[i] as string, file.contents(options.settings ?? {}), force);
    }
  } catch (error) {
    if (error instanceof GojinnError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new GojinnError(
      'bad_request',
      code === 'EEXIST'
        ? `a file in ${dataDir} appeared while initialising; refusing to overwrite it (use --force)`
        : `cannot initialise data directory ${dataDir}: ${code}`,
    );
  }
  return { dataDir, files: paths };
}
