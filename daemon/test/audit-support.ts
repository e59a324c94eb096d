/** Shared by the audit and admin tests: a store in a fresh directory and raw-disk tampering. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { main } from '@gojinn/cli';
import { openStore, type Store } from '@gojinn/store';
import type { CommandIo } from '../../packages/cli/src/command.ts';
import { verifyAuditLog, type AuditVerification } from '../src/audit/index.ts';

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

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `script` (an ES module that appends to the audit log in the store at argv[1] until it is
 * killed, printing each resolved seq on its own line) on `dir`, SIGKILLs it `killAfterMs` after
 * its first line, and resolves with the last seq it printed (-1 for none): every entry up to it
 * was acknowledged before the kill. Rejects if the child ends any other way.
 */
export function appendUntilKilled(script: string, dir: string, killAfterMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    let timer: NodeJS.Timeout | undefined;
    // Start the clock once the child has appended at least once, so every kill lands mid-stream.
    child.stdout.once('data', () => {
      timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`child ended with ${code ?? signal}: ${err}`));
        return;
      }
      const seqs = out.split('\n').filter((line) => /^\d+$/.test(line));
      resolve(seqs.length === 0 ? -1 : Number(seqs.at(-1)));
    });
  });
}

/** Runs `gojinn ARGS` in-process (no stdin, empty environment) and collects its output. */
export async function gojinn(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    readStdin: () => Promise.resolve(Buffer.alloc(0)),
    env: {},
    cwd: '/',
  };
  const status = await main(args, io);
  return { status, stdout, stderr };
}

/** Verifies the audit log in the closed store at `dir` (against `publicKey` when given), read-only. */
export async function verifyDir(dir: string, publicKey?: string): Promise<AuditVerification> {
  const store = await openTestStore(dir);
  try {
    return await verifyAuditLog(store.extension('audit'), publicKey === undefined ? {} : { publicKey });
  } finally {
    await store.close();
  }
}
