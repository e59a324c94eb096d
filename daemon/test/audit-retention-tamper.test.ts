/**
 * Tampering with a pruned log on disk (through a bare `level`, as an attacker with disk access
 * but without the node key): every change to the checkpoint, its removal or replacement, and
 * deletions it does not account for are reported by verifyAuditLog and refused by AuditLog.open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalJson,
  generateKeyPair,
  keyPairFromSeed,
  parseStrictJson,
  type JsonObject,
} from '@gojinn/manifest';
import { AuditLog } from '../src/audit/index.ts';
import { sha256Hex, signCheckpoint } from '../src/audit/entry.ts';
import { openTestStore, rawEntryKey, rawGet, tamper, tempDir, verifyDir } from './audit-support.ts';

const NODE_KEY = keyPairFromSeed(new Uint8Array(32).fill(23));
const RAW_CHECKPOINT_KEY = '!audit!checkpoint';
type Raw = Parameters<Parameters<typeof tamper>[1]>[0];

/**
 * A closed store with 10 entries appended under maxEntries 4: entries 0–5 pruned (the
 * checkpoint names entry 5), 6–9 kept. `older` is the genuine checkpoint of an earlier prune.
 */
async function prunedLog(): Promise<{ dir: string; remove: () => Promise<void>; older: Uint8Array }> {
  const temp = await tempDir('audit-tamper');
  const store = await openTestStore(temp.dir);
  const log = await AuditLog.open(store.extension('audit'), {
    signingKey: NODE_KEY,
    sync: false,
    retention: { maxEntries: 4 },
  });
  let older: Uint8Array | undefined;
  for (let i = 0; i < 10; i++) {
    await log.append('admin', { i });
    await log.prune();
    if (log.checkpoint?.seq === 2) older = await store.extension('audit').get('checkpoint');
  }
  assert.equal(log.checkpoint?.seq, 5);
  await store.close();
  assert.ok(older !== undefined);
  return { ...temp, older };
}

async function openFails(dir: string): Promise<string> {
  const store = await openTestStore(dir);
  try {
    await AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY, sync: false });
  } catch (error) {
    return (error as Error).message;
  } finally {
    await store.close();
  }
  assert.fail('AuditLog.open accepted a tampered log');
}

async function editCheckpoint(raw: Raw, edit: (checkpoint: JsonObject) => void): Promise<void> {
  const object = parseStrictJson(
    await rawGet(raw, RAW_CHECKPOINT_KEY),
    'checkpoint',
    'internal',
  ) as JsonObject;
  edit(object);
  await raw.put(RAW_CHECKPOINT_KEY, new TextEncoder().encode(canonicalJson(object)));
}

void test('the untampered pruned log verifies from its checkpoint, with and without the key', async () => {
  const temp = await prunedLog();
  try {
    for (const key of [undefined, NODE_KEY.publicKey]) {
      const report = await verifyDir(temp.dir, key);
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.entriesVerified, 4);
      assert.equal(report.checkpoint?.seq, 5);
      assert.equal(report.checkpoint?.pruned, 6);
      assert.equal(report.signer, NODE_KEY.publicKey);
    }
  } finally {
    await temp.remove();
  }
});

void test('each checkpoint field edited is detected (signature, or form), and the log refuses to open', async () => {
  const attacker = generateKeyPair();
  const edits: Record<string, (checkpoint: JsonObject) => void> = {
    seq: (c) => (c.seq = 3),
    hash: (c) => (c.hash = 'ab'.repeat(32)),
    time: (c) => (c.time = '2020-01-01T00:00:00.000Z'),
    signer: (c) => (c.signer = attacker.publicKey),
    sig: (c) => (c.sig = `${String(c.sig).slice(0, 85)}${String(c.sig).endsWith('A') ? 'Q' : 'A'}`),
    v: (c) => (c.v = 2),
    extra: (c) => (c.pruned = 6),
  };
  for (const [field, edit] of Object.entries(edits)) {
    const temp = await prunedLog();
    try {
      await tamper(temp.dir, (raw) => editCheckpoint(raw, edit));
      const report = await verifyDir(temp.dir);
      assert.equal(report.ok, false, field);
      assert.equal(report.broken?.seq, 6, field);
      assert.equal(report.entriesVerified, 0, field);
      assert.equal(report.checkpoint, undefined, field);
      assert.match(report.broken?.reason ?? '', /checkpoint/, field);
      const pinned = await verifyDir(temp.dir, NODE_KEY.publicKey);
      assert.equal(pinned.ok, false, field);
      assert.match(await openFails(temp.dir), /audit log: .*checkpoint/, field);
    } finally {
      await temp.remove();
    }
  }
});

void test('the checkpoint re-encoded non-canonically is refused', async () => {
  const temp = await prunedLog();
  try {
    await tamper(temp.dir, async (raw) => {
      const text = new TextDecoder().decode(await rawGet(raw, RAW_CHECKPOINT_KEY));
      await raw.put(RAW_CHECKPOINT_KEY, new TextEncoder().encode(`${text} `));
    });
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 6,
      reason: 'audit log: malformed checkpoint is not in canonical form',
    });
  } finally {
    await temp.remove();
  }
});

void test('the checkpoint deleted: the missing history is named, not taken for a fresh log', async () => {
  const temp = await prunedLog();
  try {
    await tamper(temp.dir, (raw) => raw.del(RAW_CHECKPOINT_KEY));
    const report = await verifyDir(temp.dir);
    assert.deepEqual(report.broken, {
      seq: 0,
      reason:
        'entries 0–5 missing and no signed checkpoint covers them (deleted without a checkpoint, or the checkpoint removed)',
    });
    assert.match(await openFails(temp.dir), /first entry is 6 but there is no checkpoint/);
  } finally {
    await temp.remove();
  }
});

void test('entries deleted past the checkpoint without a new one are named', async () => {
  const temp = await prunedLog();
  try {
    await tamper(temp.dir, async (raw) => {
      await raw.del(rawEntryKey(6));
      await raw.del(rawEntryKey(7));
    });
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 6,
      reason: 'entries 6–7 missing past the checkpoint of entry 5 (deleted without a new checkpoint)',
    });
    assert.match(await openFails(temp.dir), /first entry is 8, not 6/);
  } finally {
    await temp.remove();
  }
});

void test('a genuine older checkpoint put back (a rollback of the checkpoint alone) is detected', async () => {
  const temp = await prunedLog();
  try {
    await tamper(temp.dir, (raw) => raw.put(RAW_CHECKPOINT_KEY, temp.older));
    assert.deepEqual((await verifyDir(temp.dir, NODE_KEY.publicKey)).broken, {
      seq: 3,
      reason: 'entries 3–5 missing past the checkpoint of entry 2 (deleted without a new checkpoint)',
    });
  } finally {
    await temp.remove();
  }
});

void test('a checkpoint signed by another key: caught against the node key, and against the kept entries without it', async () => {
  const temp = await prunedLog();
  const attacker = generateKeyPair();
  try {
    await tamper(temp.dir, async (raw) => {
      const genuine = parseStrictJson(await rawGet(raw, RAW_CHECKPOINT_KEY), 'c', 'internal') as JsonObject;
      const { bytes } = signCheckpoint(
        { seq: 5, hash: String(genuine.hash), time: String(genuine.time) },
        attacker,
      );
      await raw.put(RAW_CHECKPOINT_KEY, bytes);
    });
    const pinned = await verifyDir(temp.dir, NODE_KEY.publicKey);
    assert.deepEqual(pinned.broken, {
      seq: 6,
      reason: `checkpoint signed by ${attacker.publicKey}, not ${NODE_KEY.publicKey}`,
    });
    const unpinned = await verifyDir(temp.dir);
    assert.deepEqual(unpinned.broken, {
      seq: 6,
      reason: `signed by ${NODE_KEY.publicKey}, not ${attacker.publicKey}`,
    });
    assert.match(await openFails(temp.dir), /checkpoint is signed by ed25519:.*not this node's key/);
  } finally {
    await temp.remove();
  }
});

void test("a validly signed checkpoint whose hash is not the first kept entry's prev breaks the chain there", async () => {
  const temp = await prunedLog();
  try {
    // Only the node key can sign this: it checks the link itself, not the signature.
    await tamper(temp.dir, async (raw) => {
      const { bytes } = signCheckpoint(
        { seq: 5, hash: sha256Hex(new Uint8Array([1])), time: new Date().toISOString() },
        NODE_KEY,
      );
      await raw.put(RAW_CHECKPOINT_KEY, bytes);
    });
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 6,
      reason: 'does not follow the checkpoint of entry 5 (hash chain broken)',
    });
  } finally {
    await temp.remove();
  }
});

void test('a pruned entry put back beside the checkpoint is named', async () => {
  const temp = await prunedLog();
  try {
    await tamper(temp.dir, async (raw) => raw.put(rawEntryKey(5), await rawGet(raw, rawEntryKey(6))));
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 5,
      reason: 'entry 5 is present although the checkpoint says entries 0–5 were pruned',
    });
  } finally {
    await temp.remove();
  }
});

void test('every kept entry and the head deleted, the checkpoint left: the missing head is reported', async () => {
  const temp = await prunedLog();
  try {
    await tamper(temp.dir, async (raw) => {
      for (let seq = 6; seq < 10; seq++) await raw.del(rawEntryKey(seq));
      await raw.del('!audit!head');
    });
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 6,
      reason: 'the signed head record is missing',
    });
    assert.match(await openFails(temp.dir), /a checkpoint exists but the signed head is missing/);
  } finally {
    await temp.remove();
  }
});
