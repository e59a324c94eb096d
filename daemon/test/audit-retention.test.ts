/**
 * Retention (AuditLog retention, prune.ts): the oldest entries go in bounded batches, each
 * leaving a signed checkpoint in the same batch; the log keeps verifying from the checkpoint,
 * across restarts; age bounds follow an injected clock; nothing that fails to verify is pruned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import { keyPairFromSeed } from '@gojinn/manifest';
import type { BytesSublevel } from '@gojinn/store';
import { AuditLog, AuditPruneRefused, DEFAULT_AUDIT_LIMITS, verifyAuditLog } from '../src/audit/index.ts';
import { sha256Hex } from '../src/audit/entry.ts';
import { pruneOnce } from '../src/audit/prune.ts';
import { openTestStore, rawEntryKey, rawGet, tamper, tempDir } from './audit-support.ts';

const NODE_KEY = keyPairFromSeed(new Uint8Array(32).fill(21));
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The real sublevel, with the entry deletions of each batch recorded (nothing else changes;
 * the seals of batches pruned whole go in the same batches, not counted).
 */
function countingDeletions(sublevel: BytesSublevel): { sublevel: BytesSublevel; deletions: number[] } {
  const deletions: number[] = [];
  const batch = sublevel.batch.bind(sublevel) as unknown as (
    ops: { type: string }[],
    options?: object,
  ) => Promise<void>;
  const counted = new Proxy(sublevel, {
    get(target, property, receiver) {
      if (property === 'batch')
        return (operations: { type: string }[], options?: object) => {
          const dels = operations.filter(
            (op) => op.type === 'del' && !String((op as { key?: unknown }).key).endsWith('/seal'),
          ).length;
          if (dels > 0) deletions.push(dels);
          return batch(operations, options);
        };
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { sublevel: counted, deletions };
}

async function seqsOf(log: AuditLog): Promise<number[]> {
  const seqs: number[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await log.list(after === undefined ? {} : { after });
    seqs.push(...page.items.map((e) => e.seq));
    if (page.next === undefined) return seqs;
    after = page.next;
  }
}

void test('maxEntries: exactly at the bound nothing is pruned; one over prunes the oldest and leaves a checkpoint of it', async () => {
  const temp = await tempDir('audit-retention');
  const store = await openTestStore(temp.dir);
  try {
    const log = await AuditLog.open(store.extension('audit'), {
      signingKey: NODE_KEY,
      sync: false,
      retention: { maxEntries: 4 },
    });
    for (let i = 0; i < 4; i++) await log.append('admin', { i });
    assert.deepEqual(await log.verify(), {
      ok: true,
      entriesVerified: 4,
      sealsVerified: 4,
      signer: NODE_KEY.publicKey,
    });
    assert.equal(log.checkpoint, undefined);
    assert.deepEqual(await seqsOf(log), [0, 1, 2, 3]);
    const entry0 = await store.extension('audit').get(rawEntryKey(0).slice('!audit!'.length));
    assert.ok(entry0 !== undefined);

    await log.append('admin', { i: 4 });
    const report = await log.verify();
    assert.deepEqual(report, {
      ok: true,
      entriesVerified: 4,
      // Entry 0's batch (and seal) went with it; each kept entry was its own batch.
      sealsVerified: 4,
      signer: NODE_KEY.publicKey,
      checkpoint: { seq: 0, hash: sha256Hex(entry0), time: report.checkpoint?.time, pruned: 1 },
    });
    assert.deepEqual(await seqsOf(log), [1, 2, 3, 4]);
    assert.equal(log.firstSeq, 1);
    assert.equal(log.kept, 4);
    assert.equal(log.length, 5);
    // The first page starts at the first kept entry, whatever `after` says.
    assert.deepEqual(
      (await log.list({ limit: 2 })).items.map((e) => e.seq),
      [1, 2],
    );
    assert.deepEqual(
      (await log.list({ after: 0, limit: 2 })).items.map((e) => e.seq),
      [1, 2],
    );
  } finally {
    await store.close();
    await temp.remove();
  }
});

void test('pruning many times (concurrent appends, small prune batches) keeps verifying, and a restart keeps the checkpoint and the chain', async () => {
  const temp = await tempDir('audit-retention');
  let store = await openTestStore(temp.dir);
  try {
    const { sublevel, deletions } = countingDeletions(store.extension('audit'));
    let log = await AuditLog.open(sublevel, {
      signingKey: NODE_KEY,
      sync: false,
      retention: { maxEntries: 5 },
      limits: { maxPruneEntries: 3 },
    });
    for (let round = 0; round < 8; round++) {
      await Promise.all(Array.from({ length: 7 }, (_, i) => log.append('invocation', { round, i })));
      const report = await log.verify();
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.entriesVerified, log.kept);
    }
    assert.ok(deletions.length > 5, `${deletions.length} prune batches`);
    assert.ok(
      deletions.every((n) => n <= 3),
      `every prune batch within maxPruneEntries: ${deletions.join(',')}`,
    );
    // Pruning catches up once appends stop: the bound holds.
    assert.equal(log.kept, 5);
    assert.deepEqual(await seqsOf(log), [51, 52, 53, 54, 55]);
    const before = log.checkpoint;
    assert.equal(before?.seq, 50);
    await store.close();

    store = await openTestStore(temp.dir);
    const offline = await verifyAuditLog(store.extension('audit'), { publicKey: NODE_KEY.publicKey });
    assert.equal(offline.ok, true, JSON.stringify(offline));
    assert.deepEqual(offline.checkpoint, { seq: 50, hash: before?.hash, time: before?.time, pruned: 51 });
    log = await AuditLog.open(store.extension('audit'), {
      signingKey: NODE_KEY,
      sync: false,
      retention: { maxEntries: 5 },
    });
    assert.deepEqual(log.checkpoint, before);
    assert.equal(log.firstSeq, 51);
    assert.equal((await log.append('admin', 'after restart')).seq, 56);
    // An append resolves once durable; its prune step follows it (prune() waits for it).
    await log.prune();
    assert.deepEqual(await seqsOf(log), [52, 53, 54, 55, 56]);
    assert.equal((await log.verify()).ok, true);
  } finally {
    await store.close();
    await temp.remove();
  }
});

void test('a bound lowered across a restart prunes the backlog at open, in batches of maxPruneEntries', async () => {
  const temp = await tempDir('audit-retention');
  let store = await openTestStore(temp.dir);
  try {
    const unbounded = await AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY, sync: false });
    for (let i = 0; i < 30; i++) await unbounded.append('admin', { i });
    await store.close();
    store = await openTestStore(temp.dir);
    const { sublevel, deletions } = countingDeletions(store.extension('audit'));
    const log = await AuditLog.open(sublevel, {
      signingKey: NODE_KEY,
      sync: false,
      retention: { maxEntries: 2 },
      limits: { maxPruneEntries: 8 },
    });
    await log.prune();
    assert.deepEqual(deletions, [8, 8, 8, 4]);
    assert.deepEqual(await seqsOf(log), [28, 29]);
    assert.equal((await log.verify()).ok, true);
  } finally {
    await store.close();
    await temp.remove();
  }
});

void test('maxPruneEntries: one prune step deletes exactly that many when more are due, and the checkpoint names the last', async () => {
  const temp = await tempDir('audit-retention');
  const store = await openTestStore(temp.dir);
  try {
    const log = await AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY, sync: false });
    for (let i = 0; i < 12; i++) await log.append('admin', { i });
    const limit = DEFAULT_AUDIT_LIMITS.maxPruneEntries;
    assert.equal(limit, DEFAULT_AUDIT_LIMITS.maxBatchEntries);
    const step = await pruneOnce({
      sublevel: store.extension('audit'),
      key: NODE_KEY,
      now: new Date(),
      retention: { maxEntries: 1, maxAgeDays: 0 },
      maxPruneEntries: 5,
      maxEntryBytes: DEFAULT_AUDIT_LIMITS.maxEntryBytes,
      range: { first: 0, firstPrev: '0'.repeat(64), next: 12 },
    });
    assert.equal(step?.pruned, 5);
    assert.equal(step?.checkpoint?.seq, 4);
    assert.equal(step?.firstKept.seq, 5);
    const report = await verifyAuditLog(store.extension('audit'));
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.entriesVerified, 7);
  } finally {
    await store.close();
    await temp.remove();
  }
});

void test('maxAgeDays (injected clock): an entry exactly that old is pruned, one millisecond younger is kept, and the newest always stays', async () => {
  const temp = await tempDir('audit-retention');
  const store = await openTestStore(temp.dir);
  const t0 = Date.parse('2026-03-01T00:00:00.000Z');
  let now = t0;
  try {
    const log = await AuditLog.open(store.extension('audit'), {
      signingKey: NODE_KEY,
      sync: false,
      now: () => new Date(now),
      retention: { maxAgeDays: 3 },
    });
    for (let i = 0; i < 3; i++) await log.append('admin', { day: 0, i });
    now = t0 + DAY_MS;
    await log.append('admin', { day: 1 });
    now = t0 + 3 * DAY_MS - 1;
    await log.prune();
    assert.deepEqual(await seqsOf(log), [0, 1, 2, 3]);
    now = t0 + 3 * DAY_MS;
    await log.append('admin', { day: 3 });
    await log.verify();
    assert.deepEqual(await seqsOf(log), [3, 4]);
    assert.equal(log.checkpoint?.time, new Date(now).toISOString());
    now = t0 + 100 * DAY_MS;
    await log.prune();
    assert.deepEqual(await seqsOf(log), [4]);
    assert.equal((await log.verify()).ok, true);
    assert.equal((await log.append('admin', { day: 100 })).seq, 5);
    await log.prune();
    assert.deepEqual(await seqsOf(log), [5]);
  } finally {
    await store.close();
    await temp.remove();
  }
});

/*
 * The two refusals, on a log of version 1 entries (each signed) and of version 2 entries
 * (each its own batch, so each sealed): the broken entry, and what reports it, differ.
 */
const REFUSALS = {
  1: {
    editedDeleted: /not pruning: entry 2: does not follow entry 1 \(hash chain broken\)/,
    editedDeletedBroken: 'signature does not verify (entry edited)',
    editedKept: /not pruning: entry 3: signature does not verify/,
    editedKeptBroken: 'signature does not verify (entry edited)',
  },
  2: {
    editedDeleted: /not pruning: entry 1: entry 1 differs from the one its seal signed/,
    editedDeletedBroken:
      'entry 1 differs from the one its seal signed (entry edited, or a seal from another history)',
    editedKept: /not pruning: entry 3: entry 3 differs from the one its seal signed/,
    editedKeptBroken:
      'entry 3 differs from the one its seal signed (entry edited, or a seal from another history)',
  },
} as const;

/**
 * Six entries `{i: 0..5}` of `entryVersion` (each its own batch), then entry `seq`'s `i` edited
 * on disk, then the log reopened under `maxEntries` with prune errors collected.
 */
async function editedLog(dir: string, entryVersion: 1 | 2, seq: number, maxEntries: number) {
  const before = await openTestStore(dir);
  const unbounded = await AuditLog.open(before.extension('audit'), {
    signingKey: NODE_KEY,
    sync: false,
    entryVersion,
  });
  for (let i = 0; i < 6; i++) await unbounded.append('admin', { i });
  await before.close();
  await tamper(dir, async (raw) => {
    const text = new TextDecoder().decode(await rawGet(raw, rawEntryKey(seq)));
    await raw.put(rawEntryKey(seq), new TextEncoder().encode(text.replace(`"i":${seq}`, '"i":9')));
  });
  const store = await openTestStore(dir);
  const errors: unknown[] = [];
  const log = await AuditLog.open(store.extension('audit'), {
    signingKey: NODE_KEY,
    sync: false,
    retention: { maxEntries },
    onPruneError: (error) => errors.push(error),
  });
  return { store, log, errors };
}

for (const entryVersion of [1, 2] as const) {
  const expected = REFUSALS[entryVersion];

  void test(`pruning refuses to delete entries that do not verify (version ${entryVersion}): nothing deleted, the evidence stays, appends go on`, async () => {
    const temp = await tempDir('audit-retention');
    const { store, log, errors } = await editedLog(temp.dir, entryVersion, 1, 2);
    try {
      await log.append('admin', { i: 6 });
      await log.append('admin', { i: 7 });
      assert.equal(errors.length, 1, 'stops after the first refusal');
      assert.ok(errors[0] instanceof AuditPruneRefused);
      assert.ok(errors[0] instanceof GojinnError && errors[0].code === 'internal');
      // Entry 1's new bytes no longer hash to entry 2's signed prev (version 1), or to the
      // hash its seal signed (version 2).
      assert.match((errors[0] as Error).message, expected.editedDeleted);
      assert.equal(log.checkpoint, undefined);
      assert.equal(log.kept, 8);
      const report = await log.verify();
      assert.deepEqual(report.broken, { seq: 1, reason: expected.editedDeletedBroken });
    } finally {
      await store.close();
      await temp.remove();
    }
  });

  void test(`pruning refuses when the entry it would keep first is edited (version ${entryVersion}: its ${entryVersion === 1 ? 'signature' : 'seal'} is the one that vouches for the rest)`, async () => {
    const temp = await tempDir('audit-retention');
    // Entry 3 edited: its prev still links to entry 2, only its signature (or seal) can tell.
    const { store, log, errors } = await editedLog(temp.dir, entryVersion, 3, 3);
    try {
      await log.prune();
      assert.equal(errors.length, 1);
      assert.match((errors[0] as Error).message, expected.editedKept);
      assert.equal(log.firstSeq, 0);
      assert.deepEqual((await log.verify()).broken, { seq: 3, reason: expected.editedKeptBroken });
    } finally {
      await store.close();
      await temp.remove();
    }
  });
}

void test('verifying while appends and prune steps land (a running node) always sees one consistent snapshot', async () => {
  const temp = await tempDir('audit-retention');
  const store = await openTestStore(temp.dir);
  try {
    const log = await AuditLog.open(store.extension('audit'), {
      signingKey: NODE_KEY,
      sync: false,
      retention: { maxEntries: 10 },
      limits: { maxPruneEntries: 2 },
    });
    for (let i = 0; i < 12; i++) await log.append('admin', { i });
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 300; i++)
        await Promise.all([log.append('admin', { i }), log.append('admin', { i })]);
      writing = false;
    })();
    let reports = 0;
    while (writing) {
      // Not log.verify() (which waits for the queue): the raw read a CLI or admin call makes.
      const report = await verifyAuditLog(store.extension('audit'), { publicKey: NODE_KEY.publicKey });
      assert.equal(report.ok, true, JSON.stringify(report));
      reports++;
    }
    await writer;
    assert.ok(reports >= 3, `${reports} verifications overlapped the writes`);
  } finally {
    await store.close();
    await temp.remove();
  }
});

void test('retention and maxPruneEntries given to the library are checked: negative, fractional or zero batch refused as bad_request naming the option', async () => {
  const temp = await tempDir('audit-retention');
  const store = await openTestStore(temp.dir);
  try {
    const cases: [Parameters<typeof AuditLog.open>[1], RegExp][] = [
      [
        { signingKey: NODE_KEY, retention: { maxEntries: -1 } },
        /retention\.maxEntries must be an integer of at least 0, got -1/,
      ],
      [
        { signingKey: NODE_KEY, retention: { maxAgeDays: 1.5 } },
        /retention\.maxAgeDays must be an integer of at least 0, got 1\.5/,
      ],
      [
        { signingKey: NODE_KEY, limits: { maxPruneEntries: 0 } },
        /limits\.maxPruneEntries must be an integer of at least 1, got 0/,
      ],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(
        AuditLog.open(store.extension('audit'), options),
        (error: unknown) =>
          error instanceof GojinnError && error.code === 'bad_request' && message.test(error.message),
      );
    }
    const atEdges = await AuditLog.open(store.extension('audit'), {
      signingKey: NODE_KEY,
      sync: false,
      retention: { maxEntries: 0, maxAgeDays: 0 },
      limits: { maxPruneEntries: 1 },
    });
    assert.deepEqual(atEdges.retention, { maxEntries: 0, maxAgeDays: 0 });
  } finally {
    await store.close();
    await temp.remove();
  }
});
