/** Shared by the audit and admin tests: a store in a fresh directory and raw-disk tampering. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { openStore, type Store } from '@gojinn/store';

export async function tempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `gojinn-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function openTestStore(dir: string): Promise<Store> {
  return openStore(dir, { sync: false });
}

/** The raw LevelDB key of an audit entry, as an attacker with disk access sees it. */
export function rawEntryKey(seq: number): string {
  return `!audit!entry/${String(seq).padStart(16, '0')}`;
}

/** The raw LevelDB key of the seal of the append batch ending at entry `seq`. */
export function rawSealKey(seq: number): string {
  return `${rawEntryKey(seq)}/seal`;
}

export const RAW_HEAD_KEY = '!audit!head';

/**
 * Opens the closed store's directory with a bare `level` (not the store's code) and lets
 * `edit` change it, as an attacker with disk access would.
 */
export async function tamper(
  dir: string,
  edit: (raw: Level<string, Uint8Array>) => Promise<void>,
): Promise<void> {
  const raw = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
  await raw.open();
  try {
    await edit(raw);
  } finally {
    await raw.close();
  }
}

export async function rawGet(raw: Level<string, Uint8Array>, key: string): Promise<Uint8Array> {
  const value = await raw.get(key);
  if (value === undefined) throw new Error(`no ${key}`);
  return value;
}
