/**
 * A prune step deletes entries and writes the new checkpoint in one batch: a process killed at
 * any moment while appending and pruning leaves a log that verifies from its checkpoint, keeps
 * every acknowledged entry the bound allows, and that the next process can open and extend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { keyPairFromSeed } from '@gojinn/manifest';
import { AuditLog, verifyAuditLog } from '../src/audit/index.ts';
import { appendUntilKilled, openTestStore, tempDir } from './audit-support.ts';

const ROUNDS = 5;
const SEED = 27;
const MAX_ENTRIES = 20;
const AUDIT_INDEX = fileURLToPath(new URL('../src/audit/index.ts', import.meta.url));

/** The child appends (synced) under a small bound until killed, printing each resolved seq. */
const CHILD = `
import { openStore } from '@gojinn/store';
import { keyPairFromSeed } from '@gojinn/manifest';
const { AuditLog } = await import(${JSON.stringify(AUDIT_INDEX)});
const store = await openStore(process.argv[1]);
const log = await AuditLog.open(store.extension('audit'), {
  signingKey: keyPairFromSeed(new Uint8Array(32).fill(${SEED})),
  retention: { maxEntries: ${MAX_ENTRIES} },
  limits: { maxPruneEntries: 7 },
  onPruneError: (error) => { process.stderr.write(String(error) + '\\n'); process.exit(3); },
});
for (let i = 0; i < 100000; i++) {
  const batch = await Promise.all([0, 1, 2].map((j) => log.append('invocation', { i, j, pad: 'x'.repeat((i * 97) % 2000) })));
  process.stdout.write(batch.at(-1).seq + '\\n');
}
`;

void test(`kill -9 while appending and pruning (${ROUNDS} rounds): the log verifies from its checkpoint, keeps the acknowledged tail and can be extended`, async () => {
  const temp = await tempDir('audit-retention-crash');
  try {
    let acknowledged = -1;
    let pruned = false;
    for (let round = 0; round < ROUNDS; round++) {
      const last = await appendUntilKilled(CHILD, temp.dir, 40 + ((round * 53) % 150));
      acknowledged = Math.max(acknowledged, last);
      const store = await openTestStore(temp.dir);
      try {
        const report = await verifyAuditLog(store.extension('audit'));
        assert.equal(report.ok, true, JSON.stringify(report));
        const first = report.checkpoint === undefined ? 0 : report.checkpoint.seq + 1;
        const next = first + report.entriesVerified;
        assert.ok(next > acknowledged, `entry ${acknowledged} was acknowledged, the log ends before ${next}`);
        pruned ||= report.checkpoint !== undefined;
        const log = await AuditLog.open(store.extension('audit'), {
          signingKey: keyPairFromSeed(new Uint8Array(32).fill(SEED)),
          sync: false,
          retention: { maxEntries: MAX_ENTRIES },
        });
        assert.equal(log.firstSeq, first);
        assert.equal(log.length, next);
        await log.append('node', { round });
        await log.prune();
        assert.equal(log.kept, Math.min(MAX_ENTRIES, next + 1));
        assert.equal((await log.verify()).ok, true);
        acknowledged = log.length - 1;
      } finally {
        await store.close();
      }
    }
    assert.ok(pruned, 'some round was killed after pruning had begun');
  } finally {
    await temp.remove();
  }
});
