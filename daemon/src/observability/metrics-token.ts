/**
 * The bearer token a scraper must present when `metrics.requireToken = true`: its own file in
 * the data directory, `metrics.token` — 64 lowercase hex digits and a newline, mode 0600, the
 * admin token's format — created on first use. It is a separate credential from the admin token
 * on purpose: Prometheus keeps it in its own config (`authorization.credentials_file`), and a
 * scraper must never hold the key to the admin API.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { readTokenFile } from '../admin/token.ts';
import { ADMIN_TOKEN_BYTES, DATA_FILE_MODE } from '../config/data-dir.ts';

/** The metrics token's file in the data directory. */
export const METRICS_TOKEN_FILE = 'metrics.token';

/**
 * The node's metrics token: read from `<dataDir>/metrics.token`, or — when there is no such
 * file — a new random one written there first (exclusive create, 0600, fsynced). A file that
 * exists but is not a valid token, or that other users can read, is refused (`bad_request`)
 * rather than replaced: the operator may have pointed a scraper at it.
 */
export async function loadOrCreateMetricsToken(dataDir: string): Promise<string> {
  const path = join(dataDir, METRICS_TOKEN_FILE);
  try {
    const handle = await open(path, 'wx', DATA_FILE_MODE);
    try {
      await handle.writeFile(`${randomBytes(ADMIN_TOKEN_BYTES).toString('hex')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    // EEXIST: it is there already and is read below like any other token file.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readTokenFile(path, 'metrics token');
}
