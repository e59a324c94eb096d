/**
 * An append writes its entry and the signed head in one batch: a process killed at any moment
 * leaves a log that verifies and that the next process can open and extend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { keyPairFromSeed } from '@gojinn/manifest';
import { AuditLog, DEFAULT_AUDIT_LIMITS, verifyAuditLog } from '../src/audit/index.ts';
import { appendUntilKilled, openTestStore, tempDir } from './audit-support.ts';

const ROUNDS = 6;
const SEED = 9;
const AUDIT_INDEX = fileURLToPath(new URL('../src/audit/index.ts', import.meta.url));

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

void test(`kill -9 during appends (${ROUNDS} rounds): the log always verifies, keeps every acknowledged entry and can be extended`, async () => {
  const temp = await tempDir('audit-crash');
  try {
    let acknowledged = -1;
    for (let round = 0; round < ROUNDS; round++) {
      const last = await appendUntilKilled(CHILD, temp.dir, 20 + ((round * 37) % 120));
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
