/**
 * The persistent ledger (LevelGossipLedger) and the bounds and sync paging both ledgers share:
 * each contract test runs against the memory ledger and a level ledger on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustPolicy, generateKeyPair, verifyRevocation } from '@gojinn/manifest';
import type { Manifest, VerifiedRevocation } from '@gojinn/manifest';
import {
  DEFAULT_LEDGER_MAX_PAGE_SCAN,
  DEFAULT_LEDGER_MAX_REVOCATIONS,
  LevelGossipLedger,
  MAX_SYNC_PAGE_RECORDS,
  MemoryGossipLedger,
  encodeGossipMessage,
  validateGossipMessage,
} from '../src/gossip/index.ts';
import type { EnumerableGossipLedger, GossipLedgerOptions, GossipRecord } from '../src/gossip/index.ts';
import { TempLevel, manifestOf, revocationOf } from './support/sync-fixtures.ts';

const publisher = generateKeyPair();
const other = generateKeyPair();
const operator = generateKeyPair();
const trust = new TrustPolicy({ publishers: [publisher.publicKey], operators: [operator.publicKey] });

interface Subject {
  ledger: EnumerableGossipLedger;
  /** Memory: the same ledger; level: the ledger reopened over the same files. */
  reopen(): Promise<EnumerableGossipLedger>;
  close(): Promise<void>;
}

const kinds: Record<string, (options: GossipLedgerOptions) => Promise<Subject>> = {
  memory: (options) => {
    const ledger = new MemoryGossipLedger(options);
    return Promise.resolve({ ledger, reopen: () => Promise.resolve(ledger), close: () => Promise.resolve() });
  },
  level: async (options) => {
    const temp = await TempLevel.create();
    const ledger = await LevelGossipLedger.open(await temp.open(), options);
    return {
      ledger,
      async reopen() {
        await temp.close();
        return LevelGossipLedger.open(await temp.open(), options);
      },
      close: () => temp.remove(),
    };
  },
};

function verified(...args: Parameters<typeof revocationOf>): VerifiedRevocation {
  return verifyRevocation(revocationOf(...args), trust);
}

async function allPages(ledger: EnumerableGossipLedger, limit: number): Promise<GossipRecord[][]> {
  const pages: GossipRecord[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await ledger.page(cursor, limit);
    pages.push(page.records);
    if (!page.more) return pages;
    cursor = page.next;
  }
  throw new Error('more than 100 pages');
}

function label(record: GossipRecord): string {
  return record.type === 'manifest'
    ? `${record.manifest.name}@${record.manifest.version}`
    : `revoke ${record.revocation.kind === 'version' ? record.revocation.name : 'publisher'}`;
}

void test('a level ledger survives a restart: rollback floor, duplicates and revocations still apply, and new records follow the old ones', async () => {
  const subject = await kinds.level!({ trust });
  try {
    const v1 = manifestOf(publisher, 'app', '1.0.0');
    const v2 = manifestOf(publisher, 'app', '2.0.0');
    const tool = manifestOf(other, 'tool', '1.0.0');
    await subject.ledger.addManifest({ manifest: v1, trusted: true });
    await subject.ledger.addManifest({ manifest: v2, trusted: true });
    await subject.ledger.addManifest({ manifest: tool, trusted: false });
    await subject.ledger.addRevocation(
      verified({ kind: 'version', publisher: other.publicKey, name: 'tool', version: '1.0.0' }, other),
    );
    const ledger = await subject.reopen();
    assert.equal((await ledger.highestManifest(publisher.publicKey, 'app'))?.manifest.version, '2.0.0');
    assert.equal((await ledger.highestManifest(other.publicKey, 'tool'))?.trusted, false);
    assert.equal(await ledger.hasManifest(v1), true);
    // 1.5.0 was never seen: below the persisted floor 2.0.0.
    const older = await validateGossipMessage(
      encodeGossipMessage({ type: 'manifest', manifest: manifestOf(publisher, 'app', '1.5.0') }),
      trust,
      ledger,
    );
    assert.equal(older.result === 'reject' ? older.code : older.result, 'rollback');
    const stillRevoked = await validateGossipMessage(
      encodeGossipMessage({ type: 'manifest', manifest: tool }),
      trust,
      ledger,
    );
    assert.equal(stillRevoked.result === 'reject' ? stillRevoked.code : stillRevoked.result, 'revoked');
    const replayed = await validateGossipMessage(
      encodeGossipMessage({ type: 'manifest', manifest: v1 }),
      trust,
      ledger,
    );
    assert.equal(replayed.result, 'ignore', 'a known older version is a duplicate, not a rollback');
    const dup = await validateGossipMessage(
      encodeGossipMessage({ type: 'manifest', manifest: v2 }),
      trust,
      ledger,
    );
    assert.equal(dup.result, 'ignore');
    // Sequence numbers continue after the restart: a new series comes after the old ones.
    await ledger.addManifest({ manifest: manifestOf(publisher, 'late'), trusted: true });
    const [page] = await allPages(ledger, MAX_SYNC_PAGE_RECORDS);
    assert.deepEqual(page?.map(label), ['revoke tool', 'app@2.0.0', 'late@1.0.0']);
  } finally {
    await subject.close();
  }
});

void test('a level ledger never reuses a sequence number after a restart, even one whose record was forgotten', async () => {
  const subject = await kinds.level!({ maxManifests: 1 });
  try {
    await subject.ledger.addManifest({ manifest: manifestOf(publisher, 'kept'), trusted: true });
    // The newest record is the only untrusted one: forgotten at once, its number (2) with it.
    await subject.ledger.addManifest({ manifest: manifestOf(other, 'gone'), trusted: false });
    const afterGone = `${'0'.repeat(16)}${'2'.padStart(16, '0')}`;
    const ledger = await subject.reopen();
    await ledger.addManifest({ manifest: manifestOf(publisher, 'next'), trusted: true });
    const page = await ledger.page(afterGone, MAX_SYNC_PAGE_RECORDS);
    assert.deepEqual(
      page.records.map(label),
      ['next@1.0.0'],
      'a cursor past the forgotten record still sees the next one',
    );
  } finally {
    await subject.close();
  }
});

for (const [kind, make] of Object.entries(kinds)) {
  void test(`${kind}: maxManifests at the limit keeps all; beyond it the oldest untrusted goes first, across a restart`, async () => {
    const subject = await make({ maxManifests: 3 });
    try {
      const [t1, u1, u2, u3] = ['t1', 'u1', 'u2', 'u3'].map((name) => manifestOf(publisher, name)) as [
        Manifest,
        Manifest,
        Manifest,
        Manifest,
      ];
      await subject.ledger.addManifest({ manifest: t1, trusted: true });
      await subject.ledger.addManifest({ manifest: u1, trusted: false });
      await subject.ledger.addManifest({ manifest: u2, trusted: false });
      let ledger = await subject.reopen();
      for (const m of [t1, u1, u2]) assert.equal(await ledger.hasManifest(m), true, m.name);
      await ledger.addManifest({ manifest: u3, trusted: false });
      assert.equal(await ledger.hasManifest(u1), false);
      assert.equal(await ledger.highestManifest(publisher.publicKey, 'u1'), undefined);
      for (const m of [t1, u2, u3]) assert.equal(await ledger.hasManifest(m), true, m.name);
      ledger = await subject.reopen();
      const t2 = manifestOf(publisher, 't2');
      const t3 = manifestOf(publisher, 't3');
      const t4 = manifestOf(publisher, 't4');
      for (const m of [t2, t3, t4]) await ledger.addManifest({ manifest: m, trusted: true });
      assert.equal(await ledger.hasManifest(t1), false, 'only trusted left: the oldest trusted goes');
      for (const m of [t2, t3, t4]) assert.equal(await ledger.hasManifest(m), true, m.name);
      const [page] = await allPages(ledger, MAX_SYNC_PAGE_RECORDS);
      assert.deepEqual(page?.map(label), ['t2@1.0.0', 't3@1.0.0', 't4@1.0.0']);
    } finally {
      await subject.close();
    }
  });

  void test(`${kind}: maxRevocations at the limit keeps all; beyond it the oldest unprotected goes; operator and trusted-publisher revocations are never forgotten`, async () => {
    assert.equal(DEFAULT_LEDGER_MAX_REVOCATIONS, 16_384);
    const subject = await make({ maxRevocations: 3, trust });
    try {
      const strangers = [generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()];
      const selfRevoke = (key: (typeof strangers)[number]) =>
        verified({ kind: 'publisher', publisher: key.publicKey }, key);
      const byOperator = verified({ kind: 'publisher', publisher: other.publicKey }, operator);
      const byTrusted = verified(
        { kind: 'version', publisher: publisher.publicKey, name: 'app', version: '1.0.0' },
        publisher,
      );
      const [s0, s1, s2, s3] = strangers.map(selfRevoke) as [
        VerifiedRevocation,
        VerifiedRevocation,
        VerifiedRevocation,
        VerifiedRevocation,
      ];
      await subject.ledger.addRevocation(byOperator);
      await subject.ledger.addRevocation(s0);
      await subject.ledger.addRevocation(s1);
      let ledger = await subject.reopen();
      for (const r of [byOperator, s0, s1]) assert.equal(await ledger.hasRevocation(r.revocation), true);
      await ledger.addRevocation(byTrusted);
      assert.equal(await ledger.hasRevocation(s0.revocation), false, 'oldest unprotected forgotten');
      assert.equal(await ledger.revocationFor(manifestOf(strangers[0]!, 'x')), undefined);
      assert.equal(await ledger.hasRevocation(byOperator.revocation), true, 'operator revocation kept');
      await ledger.addRevocation(s2);
      await ledger.addRevocation(s3);
      ledger = await subject.reopen();
      const kept = [];
      for (const r of [byOperator, byTrusted, s1, s2, s3])
        kept.push(await ledger.hasRevocation(r.revocation));
      assert.deepEqual(kept, [true, true, false, false, true]);
      assert.equal(
        (await ledger.revocationFor(manifestOf(publisher, 'app', '1.0.0')))?.signature,
        byTrusted.revocation.signature,
      );
      assert.equal(await ledger.revocationFor(manifestOf(publisher, 'app', '1.0.1')), undefined);
      assert.equal(
        (await ledger.revocationFor(manifestOf(other, 'anything', '9.9.9')))?.signer,
        operator.publicKey,
      );
      // Only protected revocations left: they stay even past the bound.
      const onlyProtected = await make({ maxRevocations: 1, trust });
      try {
        await onlyProtected.ledger.addRevocation(byOperator);
        await onlyProtected.ledger.addRevocation(byTrusted);
        assert.equal(await onlyProtected.ledger.hasRevocation(byOperator.revocation), true);
        assert.equal(await onlyProtected.ledger.hasRevocation(byTrusted.revocation), true);
      } finally {
        await onlyProtected.close();
      }
    } finally {
      await subject.close();
    }
  });

  void test(`${kind}: sync pages hold revocations first, then only the current manifest of each series not revoked; the cursor resumes and a final cursor yields only what came later`, async () => {
    const subject = await make({ trust });
    try {
      const { ledger } = subject;
      await ledger.addManifest({ manifest: manifestOf(publisher, 'a', '1.0.0'), trusted: true });
      await ledger.addManifest({ manifest: manifestOf(publisher, 'b', '1.0.0'), trusted: true });
      await ledger.addManifest({ manifest: manifestOf(other, 'c', '1.0.0'), trusted: false });
      await ledger.addManifest({ manifest: manifestOf(publisher, 'a', '2.0.0'), trusted: true });
      await ledger.addRevocation(verified({ kind: 'publisher', publisher: other.publicKey }, other));
      await ledger.addManifest({ manifest: manifestOf(publisher, 'd', '1.0.0'), trusted: true });
      const pages = await allPages(ledger, 2);
      assert.deepEqual(
        pages.map((page) => page.map(label)),
        [
          ['revoke publisher', 'b@1.0.0'],
          ['a@2.0.0', 'd@1.0.0'],
        ],
        'c is withdrawn by the revocation; a moved after b when 2.0.0 arrived; the last page says so',
      );
      const complete = await ledger.page(undefined, MAX_SYNC_PAGE_RECORDS);
      assert.equal(complete.more, false);
      assert.equal(complete.records.length, 4);
      // Incremental: from the final cursor, only records stored later.
      assert.deepEqual((await ledger.page(complete.next, MAX_SYNC_PAGE_RECORDS)).records, []);
      await ledger.addManifest({ manifest: manifestOf(publisher, 'b', '1.1.0'), trusted: true });
      await ledger.addRevocation(
        verified({ kind: 'version', publisher: publisher.publicKey, name: 'd', version: '1.0.0' }, publisher),
      );
      const later = await ledger.page(complete.next, MAX_SYNC_PAGE_RECORDS);
      assert.deepEqual(later.records.map(label), ['revoke d', 'b@1.1.0']);
      assert.equal(later.more, false);
    } finally {
      await subject.close();
    }
  });

  void test(`${kind}: page limit 1..${MAX_SYNC_PAGE_RECORDS}, cursor garbage and maxPageScan at its limit`, async () => {
    assert.equal(DEFAULT_LEDGER_MAX_PAGE_SCAN, 1024);
    const subject = await make({ maxPageScan: 3 });
    try {
      const { ledger } = subject;
      for (const bad of [0, MAX_SYNC_PAGE_RECORDS + 1, 1.5]) {
        await assert.rejects(async () => ledger.page(undefined, bad), { code: 'bad_request' });
      }
      assert.equal((await ledger.page(undefined, MAX_SYNC_PAGE_RECORDS)).more, false);
      for (const garbage of [
        '',
        'x',
        '0'.repeat(31),
        '0'.repeat(33),
        'G'.repeat(32),
        `${'f'.repeat(16)}${'0'.repeat(16)}`,
      ]) {
        await assert.rejects(async () => ledger.page(garbage, 1), { code: 'bad_request' }, garbage);
      }
      // Three revoked series then one live one: the scan budget (3) ends the first page early.
      const stranger = generateKeyPair();
      for (const name of ['x', 'y', 'z']) {
        await ledger.addManifest({ manifest: manifestOf(stranger, name), trusted: false });
      }
      await ledger.addManifest({ manifest: manifestOf(publisher, 'live'), trusted: true });
      await ledger.addRevocation(verified({ kind: 'publisher', publisher: stranger.publicKey }, stranger));
      const first = await ledger.page(undefined, MAX_SYNC_PAGE_RECORDS);
      assert.deepEqual(first.records.map(label), ['revoke publisher'], 'at the scan limit');
      assert.equal(first.more, true);
      const second = await ledger.page(first.next, MAX_SYNC_PAGE_RECORDS);
      assert.deepEqual(second.records.map(label), ['live@1.0.0']);
      assert.equal(second.more, false);
    } finally {
      await subject.close();
    }
  });
}

void test('ledger limits must be integers ≥ 1', async () => {
  for (const key of ['maxManifests', 'maxRevocations', 'maxPageScan'] as const) {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new MemoryGossipLedger({ [key]: bad }), {
        code: 'bad_request',
        message: new RegExp(key),
      });
    }
  }
  const temp = await TempLevel.create();
  try {
    await assert.rejects(LevelGossipLedger.open(await temp.open(), { maxRevocations: 0 }), {
      code: 'bad_request',
    });
  } finally {
    await temp.remove();
  }
});
