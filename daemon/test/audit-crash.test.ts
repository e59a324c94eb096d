/**
 * An append writes its entry and the signed head in one batch: a process killed at any moment
 * leaves a log that verifies and that the next process can open and extend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { keyPairFromSeed } from '@gojinn/manifest';
import { AuditLog, DEFAULT_AUDIT_LIMITS, verifyAuditLog } from '../src/audit/index.ts';
import { openTestStore, tempDir } from './audit-support.ts';

const ROUNDS = 6;
const SEED = 9;
const AUDIT_INDEX = fileURLToPath(new URL('../src/audit/index.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The child appends (synced, with a growing payload) until killed, printing each resolved seq. */
const CHILD = `
import { openStore } from '@gojinn/store';
import { keyPairFromSeed } from '@gojinn/manifest';
const { AuditLog } = await import(${JSON.stringify(AUDIT_INDEX)});
const store = await openStore(process.argv[1]);
const log = await AuditLog.open(store.extension('audit'), { signingKey: keyPairFromSeed(new Uint8Array(32).fill(${SEED})) });
for (let i = 0; i < 100000; i++) {
  const entry = await log.append('invocation', { i, pad: 'x'.repeat((i * 97) % 4000) });
  process.stdout.write(entry.seq + '\\n');
}
`;

function runChildUntilKilled(dir: string, killAfterMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir], {
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

void test(`kill -9 during appends (${ROUNDS} rounds): the log always verifies, keeps every acknowledged entry and can be extended`, async () => {
  const temp = await tempDir('audit-crash');
  try {
    let acknowledged = -1;
    for (let round = 0; round < ROUNDS; round++) {
      const last = await runChildUntilKilled(temp.dir, 20 + ((round * 37) % 120));
      acknowledged = Math.max(acknowledged, last);
      const store = await openTestStore(temp.dir);
      try {
        const report = await verifyAuditLog(store.extension('audit'));
        assert.equal(report.ok, true, JSON.stringify(report));
        assert.ok(
          report.entriesVerified > acknowledged,
          `entry ${acknowledged} was acknowledged, ${report.entriesVerified} present`,
        );
        const log = await AuditLog.open(store.extension('audit'), {
          signingKey: keyPairFromSeed(new Uint8Array(32).fill(SEED)),
          sync: false,
        });
        assert.equal(log.length, report.entriesVerified);
        assert.ok(log.limits.maxEntryBytes === DEFAULT_AUDIT_LIMITS.maxEntryBytes);
      } finally {
        await store.close();
      }
    }
  } finally {
    await temp.remove();
  }
});
