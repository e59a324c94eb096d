/**
 * Seals (entry version 2, docs/audit.md "Seals"): each append batch is signed once, by a seal
 * naming its first and last entry and the chain hash of the last. Every version 2 entry must
 * be covered by its batch's seal; a seal removed, edited, re-signed, moved, taken from another
 * history or left past the last entry is reported, as are entries edited, dropped or swapped
 * inside a batch. Logs written before seals (version 1) followed by sealed entries verify, and
 * pruning deletes the seals of batches it deletes whole, keeps the one of a batch it cuts into,
 * and checks that seal before deleting. Tampering goes through a bare `level` on the closed
 * directory, as an attacker with disk access would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import nacl from 'tweetnacl';
import {
  canonicalJson,
  generateKeyPair,
  keyPairFromSeed,
  parseStrictJson,
  type JsonObject,
} from '@gojinn/manifest';
import type { Level } from 'level';
import { AUDIT_SEAL_DOMAIN_TAG, AuditLog, type AuditSeal } from '../src/audit/index.ts';
import { sha256Hex, signSeal } from '../src/audit/entry.ts';
import {
  openTestStore,
  rawEntryKey,
  rawGet,
  rawSealKey,
  tamper,
  tempDir,
  verifyDir as verifyLogIn,
} from './audit-support.ts';

const NODE_KEY = keyPairFromSeed(new Uint8Array(32).fill(31));
const SEAL_KEY_PATTERN = /^!audit!entry\/(\d{16})\/seal$/;

interface TempLog {
  dir: string;
  remove: () => Promise<void>;
}

/**
 * A closed store holding `count` entries: appended all in flight (batches of at most
 * `maxBatchEntries`, one seal each) or one at a time (one seal per entry).
 */
async function logWith(
  count: number,
  options: { inFlight?: boolean; maxBatchEntries?: number; entryVersion?: 1 | 2; data?: string } = {},
): Promise<TempLog> {
  const temp = await tempDir('audit-seal');
  const store = await openTestStore(temp.dir);
  const log = await AuditLog.open(store.extension('audit'), {
    signingKey: NODE_KEY,
    sync: false,
    limits: { maxBatchEntries: options.maxBatchEntries ?? 4 },
    ...(options.entryVersion === undefined ? {} : { entryVersion: options.entryVersion }),
  });
  const data = (i: number) => ({ i, tag: options.data ?? 'a' });
  if (options.inFlight === true) {
    await Promise.all(Array.from({ length: count }, (_, i) => log.append('invocation', data(i))));
  } else {
    for (let i = 0; i < count; i++) await log.append('invocation', data(i));
  }
  await store.close();
  return temp;
}

/** Appends to a closed log, then closes it again. */
async function appendTo(dir: string, count: number, options: { entryVersion?: 1 | 2 } = {}): Promise<void> {
  const store = await openTestStore(dir);
  const log = await AuditLog.open(store.extension('audit'), {
    signingKey: NODE_KEY,
    sync: false,
    ...(options.entryVersion === undefined ? {} : { entryVersion: options.entryVersion }),
  });
  for (let i = 0; i < count; i++) await log.append('admin', { more: i });
  await store.close();
}

/** The log in `dir` verified, by default against NODE_KEY. */
function verifyDir(dir: string, publicKey: string | undefined = NODE_KEY.publicKey) {
  return verifyLogIn(dir, publicKey);
}

/** The seals on disk, in key order, as an attacker reads them. */
async function rawSeals(raw: Level<string, Uint8Array>): Promise<AuditSeal[]> {
  const seals: AuditSeal[] = [];
  for await (const [key, value] of raw.iterator({ gte: '!audit!entry/', lt: '!audit!entry0' })) {
    if (SEAL_KEY_PATTERN.test(key))
      seals.push(parseStrictJson(value, 'seal', 'internal') as unknown as AuditSeal);
  }
  return seals;
}

async function sealsIn(dir: string): Promise<AuditSeal[]> {
  let seals: AuditSeal[] = [];
  await tamper(dir, async (raw) => {
    seals = await rawSeals(raw);
  });
  return seals;
}

/** The first batch of at least `size` entries. */
function batchOf(seals: AuditSeal[], size: number): AuditSeal {
  const seal = seals.find((s) => s.seq - s.first + 1 >= size);
  assert.ok(seal !== undefined, `a batch of ${size}: ${JSON.stringify(seals.map((s) => [s.first, s.seq]))}`);
  return seal;
}

async function editEntry(raw: Level<string, Uint8Array>, seq: number): Promise<void> {
  const text = new TextDecoder().decode(await rawGet(raw, rawEntryKey(seq)));
  assert.ok(text.includes(`"i":${seq},`));
  await raw.put(
    rawEntryKey(seq),
    new TextEncoder().encode(text.replace(`"i":${seq},`, `"i":${seq + 1000},`)),
  );
}

void test('appends in flight share one seal per batch: the seals partition the entries, sign their hashes, and verify', async () => {
  const temp = await logWith(13, { inFlight: true });
  try {
    const seals = await sealsIn(temp.dir);
    assert.ok(seals.length < 13, `${seals.length} seals for 13 entries in flight`);
    let next = 0;
    await tamper(temp.dir, async (raw) => {
      for (const seal of seals) {
        assert.equal(seal.first, next, 'each batch starts where the previous ended');
        assert.ok(seal.seq - seal.first + 1 <= 4, 'at most maxBatchEntries per seal');
        assert.equal(seal.hash, sha256Hex(await rawGet(raw, rawEntryKey(seal.seq))));
        assert.equal(seal.signer, NODE_KEY.publicKey);
        next = seal.seq + 1;
      }
    });
    assert.equal(next, 13);
    // The signature is RFC 8032 ed25519 over the seal domain tag + the other fields.
    const { sig, ...unsigned } = seals[0] as AuditSeal;
    const message = new TextEncoder().encode(
      AUDIT_SEAL_DOMAIN_TAG + canonicalJson(unsigned as unknown as JsonObject),
    );
    assert.equal(Buffer.from(nacl.sign.detached(message, NODE_KEY.secretKey)).toString('base64url'), sig);
    assert.deepEqual(await verifyDir(temp.dir), {
      ok: true,
      entriesVerified: 13,
      sealsVerified: seals.length,
      signer: NODE_KEY.publicKey,
    });
  } finally {
    await temp.remove();
  }
});

void test("an entry edited inside a batch is reported at that entry; the batch's last entry by its seal", async () => {
  const temp = await logWith(13, { inFlight: true });
  try {
    const batch = batchOf(await sealsIn(temp.dir), 3);
    const middle = batch.first + 1;
    await tamper(temp.dir, (raw) => editEntry(raw, middle));
    const report = await verifyDir(temp.dir);
    assert.deepEqual(report.broken, {
      seq: middle,
      reason: `entry ${middle} edited, or the prev of entry ${middle + 1}: its hash is not entry ${middle + 1}'s prev (hash chain broken)`,
    });
    // The entries before it in the batch are not verified either: their seal cannot vouch for them.
    assert.equal(report.entriesVerified, batch.first);
    await tamper(temp.dir, async (raw) => {
      await raw.del(rawEntryKey(middle));
    });
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: middle,
      reason: `entry ${middle} is missing (dropped)`,
    });
  } finally {
    await temp.remove();
  }
  const last = await logWith(13, { inFlight: true });
  try {
    const batch = batchOf(await sealsIn(last.dir), 2);
    await tamper(last.dir, (raw) => editEntry(raw, batch.seq));
    assert.deepEqual((await verifyDir(last.dir)).broken, {
      seq: batch.seq,
      reason: `entry ${batch.seq} differs from the one its seal signed (entry edited, or a seal from another history)`,
    });
  } finally {
    await last.remove();
  }
});

void test('two entries of one batch swapped are reported at the first of them', async () => {
  const temp = await logWith(13, { inFlight: true });
  try {
    const batch = batchOf(await sealsIn(temp.dir), 2);
    await tamper(temp.dir, async (raw) => {
      const one = await rawGet(raw, rawEntryKey(batch.first));
      const two = await rawGet(raw, rawEntryKey(batch.first + 1));
      await raw.batch([
        { type: 'put', key: rawEntryKey(batch.first), value: two },
        { type: 'put', key: rawEntryKey(batch.first + 1), value: one },
      ]);
    });
    const report = await verifyDir(temp.dir);
    assert.equal(report.broken?.seq, batch.first);
    assert.match(report.broken?.reason ?? '', /reordered or moved/);
  } finally {
    await temp.remove();
  }
});

void test('a seal removed leaves its batch covered by no seal: in the middle and at the end', async () => {
  const temp = await logWith(13, { inFlight: true });
  try {
    const seals = await sealsIn(temp.dir);
    const middle = batchOf(seals, 2);
    const lastSeal = seals.at(-1) as AuditSeal;
    await tamper(temp.dir, (raw) => raw.del(rawSealKey(lastSeal.seq)));
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: lastSeal.first,
      reason: `${lastSeal.first === lastSeal.seq ? `entry ${lastSeal.seq}` : `entries ${lastSeal.first}–${lastSeal.seq}`} covered by no seal (the seal of their batch removed)`,
    });
    // A node does not append after a newest batch that lost its seal.
    const store = await openTestStore(temp.dir);
    try {
      await assert.rejects(
        AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY }),
        new RegExp(`the seal of the newest batch \\(entry ${lastSeal.seq}\\) is missing`),
      );
    } finally {
      await store.close();
    }
    await tamper(temp.dir, (raw) => raw.del(rawSealKey(middle.seq)));
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: middle.first,
      reason: `entries ${middle.first}–${middle.seq} covered by no seal (the seal of their batch removed)`,
    });
  } finally {
    await temp.remove();
  }
});

void test('a seal edited in any field, re-encoded, or re-signed by another key is reported at its first entry', async () => {
  const temp = await logWith(13, { inFlight: true });
  const attacker = generateKeyPair();
  try {
    const batch = batchOf(await sealsIn(temp.dir), 2);
    const key = rawSealKey(batch.seq);
    let genuine: Uint8Array = new Uint8Array();
    await tamper(temp.dir, async (raw) => {
      genuine = await rawGet(raw, key);
    });
    const flip = (text: string) => `${text.slice(0, 85)}${text.endsWith('A') ? 'Q' : 'A'}`;
    const cases: [string, (seal: Record<string, unknown>) => Uint8Array, RegExp][] = [
      ['hash', (s) => enc({ ...s, hash: '0'.repeat(64) }), /signature does not verify \(seal edited\)/],
      ['first', (s) => enc({ ...s, first: batch.first + 1 }), /signature does not verify \(seal edited\)/],
      ['sig', (s) => enc({ ...s, sig: flip(String(s.sig)) }), /signature does not verify \(seal edited\)/],
      ['seq', (s) => enc({ ...s, seq: batch.seq - 1 }), /seals entry \d+ \(seal moved or replayed\)/],
      [
        're-encoded',
        (s) => new TextEncoder().encode(` ${canonicalJson(s as JsonObject)}`),
        /malformed seal is not in canonical form/,
      ],
      ['field added', (s) => enc({ ...s, note: 'x' }), /malformed seal has fields/],
      [
        'another key',
        () => signSeal({ first: batch.first, seq: batch.seq, hash: genuineSeal().hash }, attacker).bytes,
        /seal of entries \d+–\d+ signed by ed25519:.*, not ed25519:/,
      ],
    ];
    function genuineSeal(): AuditSeal {
      return parseStrictJson(genuine, 'seal', 'internal') as unknown as AuditSeal;
    }
    function enc(value: Record<string, unknown>): Uint8Array {
      return new TextEncoder().encode(canonicalJson(value as JsonObject));
    }
    for (const [name, edit, reason] of cases) {
      await tamper(temp.dir, (raw) => raw.put(key, edit({ ...genuineSeal() })));
      const report = await verifyDir(temp.dir);
      assert.equal(report.broken?.seq, batch.first, name);
      assert.match(report.broken?.reason ?? '', reason, name);
      assert.equal(report.entriesVerified, batch.first, name);
    }
    await tamper(temp.dir, (raw) => raw.put(key, genuine));
    assert.equal((await verifyDir(temp.dir)).ok, true);
  } finally {
    await temp.remove();
  }
});

void test('a genuine seal moved to another batch, or taken from another history of the same key, is reported', async () => {
  const temp = await logWith(6);
  const other = await logWith(6, { data: 'b' });
  try {
    // Moved: the seal of entry 1 filed as the seal of entry 3.
    await tamper(temp.dir, async (raw) => raw.put(rawSealKey(3), await rawGet(raw, rawSealKey(1))));
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 3,
      reason: 'the seal filed under entry 3 seals entry 1 (seal moved or replayed)',
    });
    // Another history: a log the same node key wrote with other entries.
    let foreign: Uint8Array = new Uint8Array();
    await tamper(other.dir, async (raw) => {
      foreign = await rawGet(raw, rawSealKey(3));
    });
    await tamper(temp.dir, (raw) => raw.put(rawSealKey(3), foreign));
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 3,
      reason: 'entry 3 differs from the one its seal signed (entry edited, or a seal from another history)',
    });
  } finally {
    await temp.remove();
    await other.remove();
  }
});

void test('a genuine seal of the same key whose batch overlaps the previous seal is reported as replayed', async () => {
  const temp = await logWith(6);
  const batched = await logWith(13, { inFlight: true });
  try {
    // `batched` sealed entries 1–4 as one batch; `temp` sealed each entry alone.
    let overlapping: Uint8Array = new Uint8Array();
    await tamper(batched.dir, async (raw) => {
      overlapping = await rawGet(raw, rawSealKey(4));
    });
    await tamper(temp.dir, (raw) => raw.put(rawSealKey(4), overlapping));
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 4,
      reason: 'the seal of entries 1–4 overlaps the seal before it, which ends at entry 3 (seal replayed)',
    });
  } finally {
    await temp.remove();
    await batched.remove();
  }
});

void test('a seal past the last entry is reported, and the log refuses to open for appending', async () => {
  const temp = await logWith(3);
  const longer = await logWith(6);
  try {
    let past: Uint8Array = new Uint8Array();
    await tamper(longer.dir, async (raw) => {
      past = await rawGet(raw, rawSealKey(5));
    });
    await tamper(temp.dir, (raw) => raw.put(rawSealKey(5), past));
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 3,
      reason: 'a seal names entry 5, past the last entry 2 (entries cut off, or a seal moved)',
    });
    const store = await openTestStore(temp.dir);
    try {
      await assert.rejects(
        AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY }),
        /a seal names entry 5, past the last entry 2/,
      );
    } finally {
      await store.close();
    }
  } finally {
    await temp.remove();
    await longer.remove();
  }
});

void test('an upgraded node: version 1 entries then sealed version 2 entries verify; each part keeps its own evidence', async () => {
  const temp = await logWith(3, { entryVersion: 1 });
  try {
    assert.deepEqual(await sealsIn(temp.dir), []);
    await appendTo(temp.dir, 4);
    const report = await verifyDir(temp.dir);
    assert.deepEqual(report, { ok: true, entriesVerified: 7, sealsVerified: 4, signer: NODE_KEY.publicKey });
    const store = await openTestStore(temp.dir);
    const log = await AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY, sync: false });
    const page = await log.list();
    assert.deepEqual(
      page.items.map((e) => [e.seq, e.v, 'sig' in e]),
      [
        [0, 1, true],
        [1, 1, true],
        [2, 1, true],
        [3, 2, false],
        [4, 2, false],
        [5, 2, false],
        [6, 2, false],
      ],
    );
    await store.close();
    // A version 1 entry is still checked by its own signature, a version 2 one by its seal.
    await tamper(temp.dir, (raw) => editEntry(raw, 1));
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 1,
      reason: 'signature does not verify (entry edited)',
    });
  } finally {
    await temp.remove();
  }
});

void test('sealed entries followed by unsealed version 1 entries: the missing seal is reported, not hidden by the signatures after it', async () => {
  const temp = await logWith(3);
  try {
    await appendTo(temp.dir, 2, { entryVersion: 1 });
    assert.equal((await verifyDir(temp.dir)).ok, true);
    await tamper(temp.dir, (raw) => raw.del(rawSealKey(2)));
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 2,
      reason: 'entry 2 covered by no seal (the seal of their batch removed)',
    });
  } finally {
    await temp.remove();
  }
});

/** Batches of 13 appends in flight with maxBatchEntries 4: the first alone, then full ones. */
const BATCHES = [
  [0, 0],
  [1, 4],
  [5, 8],
  [9, 12],
];

void test('pruning deletes the seals of batches it deletes whole, keeps the seal of a batch it cuts into, and the cut log verifies', async () => {
  const temp = await logWith(13, { inFlight: true });
  try {
    assert.deepEqual(
      (await sealsIn(temp.dir)).map((s) => [s.first, s.seq]),
      BATCHES,
    );
    let prunedSeal: Uint8Array = new Uint8Array();
    await tamper(temp.dir, async (raw) => {
      prunedSeal = await rawGet(raw, rawSealKey(4));
    });
    const store = await openTestStore(temp.dir);
    const log = await AuditLog.open(store.extension('audit'), {
      signingKey: NODE_KEY,
      sync: false,
      retention: { maxEntries: 6 },
    });
    // Entries 0–6 go: batches 0 and 1–4 whole, with their seals; batch 5–8 is cut at 7.
    await log.prune();
    assert.equal(log.firstSeq, 7);
    const report = await log.verify();
    assert.deepEqual(report, {
      ok: true,
      entriesVerified: 6,
      sealsVerified: 2,
      signer: NODE_KEY.publicKey,
      checkpoint: { seq: 6, hash: report.checkpoint?.hash, time: report.checkpoint?.time, pruned: 7 },
    });
    await log.append('admin', 'after the prune');
    await log.prune();
    assert.equal(log.firstSeq, 8);
    assert.equal((await log.verify()).ok, true);
    await store.close();
    // The seal of 5–8 stays while it covers entry 8.
    assert.deepEqual(
      (await sealsIn(temp.dir)).map((s) => [s.first, s.seq]),
      [
        [5, 8],
        [9, 12],
        [13, 13],
      ],
    );
    await tamper(temp.dir, (raw) => raw.put(rawSealKey(4), prunedSeal));
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 4,
      reason: 'the seal of entry 4 is present although the checkpoint says entries 0–7 were pruned',
    });
  } finally {
    await temp.remove();
  }
});

void test('pruning refuses when the first kept entry (inside a batch) or the seal covering it does not verify: nothing deleted', async () => {
  const cases: [string, (raw: Level<string, Uint8Array>, seal: AuditSeal) => Promise<void>, RegExp][] = [
    [
      'the first kept entry edited',
      (raw) => editEntry(raw, 6),
      /entry 6: entry 6 edited, or the prev of entry 7: .*hash chain broken/,
    ],
    [
      'its seal edited',
      async (raw, seal) => {
        const flipped = { ...seal, sig: `${seal.sig.slice(0, 85)}${seal.sig.endsWith('A') ? 'Q' : 'A'}` };
        await raw.put(
          rawSealKey(8),
          new TextEncoder().encode(canonicalJson(flipped as unknown as JsonObject)),
        );
      },
      /entry 5: seal of entries 5–8: signature does not verify \(seal edited\)/,
    ],
    [
      'its seal removed',
      (raw) => raw.del(rawSealKey(8)),
      /entry 5: entries 5–8 covered by no seal \(the seal of their batch removed\)/,
    ],
  ];
  for (const [name, edit, reason] of cases) {
    const temp = await logWith(13, { inFlight: true });
    try {
      const seal = (await sealsIn(temp.dir)).find((s) => s.first === 5);
      assert.deepEqual([seal?.first, seal?.seq], [5, 8], name);
      await tamper(temp.dir, (raw) => edit(raw, seal as AuditSeal));
      const store = await openTestStore(temp.dir);
      const errors: unknown[] = [];
      const log = await AuditLog.open(store.extension('audit'), {
        signingKey: NODE_KEY,
        sync: false,
        retention: { maxEntries: 7 },
        onPruneError: (error) => errors.push(error),
      });
      await log.prune();
      assert.equal(errors.length, 1, name);
      assert.match((errors[0] as Error).message, /^audit log: not pruning: /, name);
      assert.match((errors[0] as Error).message, reason, name);
      assert.equal(log.firstSeq, 0, name);
      assert.equal(log.checkpoint, undefined, name);
      await store.close();
      assert.equal((await sealsIn(temp.dir)).length, name === 'its seal removed' ? 3 : 4, name);
    } finally {
      await temp.remove();
    }
  }
});
