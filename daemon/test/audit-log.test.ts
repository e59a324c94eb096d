import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import {
  canonicalJson,
  generateKeyPair,
  keyPairFromSeed,
  parseStrictJson,
  type JsonObject,
} from '@gojinn/manifest';
import { AuditLog, DEFAULT_AUDIT_LIMITS, GENESIS_HASH } from '../src/audit/index.ts';
import nacl from 'tweetnacl';
import {
  AUDIT_ENTRY_DOMAIN_TAG,
  encodeEntry,
  entrySignatureValid,
  signEntry,
  signHead,
  sha256Hex,
} from '../src/audit/entry.ts';
import {
  RAW_HEAD_KEY,
  openTestStore,
  rawEntryKey,
  rawGet,
  tamper,
  tempDir,
  verifyDir,
} from './audit-support.ts';

const NODE_KEY = keyPairFromSeed(new Uint8Array(32).fill(7));
const FIXED_NOW = (): Date => new Date('2026-01-02T03:04:05.000Z');

/** A closed store holding `count` entries appended by NODE_KEY, one batch (and seal) each. */
async function logWith(
  count: number,
  entryVersion: 1 | 2 = 2,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const temp = await tempDir('audit');
  const store = await openTestStore(temp.dir);
  const log = await AuditLog.open(store.extension('audit'), {
    signingKey: NODE_KEY,
    sync: false,
    entryVersion,
  });
  for (let i = 0; i < count; i++) await log.append('admin', { action: 'test', i });
  await store.close();
  return temp;
}

void test('appended entries chain, verify, survive a restart and page in order', async () => {
  const temp = await logWith(5);
  try {
    const store = await openTestStore(temp.dir);
    const log = await AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY, sync: false });
    assert.equal(log.length, 5);
    const sixth = await log.append('invocation', { module: 'hello', outcome: 'ok' });
    assert.equal(sixth.seq, 5);
    const first = await log.list({ limit: 4 });
    assert.deepEqual(
      first.items.map((e) => e.seq),
      [0, 1, 2, 3],
    );
    assert.equal(first.items[0]?.prev, GENESIS_HASH);
    assert.equal(first.next, 3);
    const rest = await log.list({ after: first.next, limit: 4 });
    assert.deepEqual(
      rest.items.map((e) => e.seq),
      [4, 5],
    );
    assert.equal(rest.next, undefined);
    assert.deepEqual(await log.verify(), {
      ok: true,
      entriesVerified: 6,
      sealsVerified: 6,
      signer: NODE_KEY.publicKey,
    });
    await store.close();
  } finally {
    await temp.remove();
  }
});

void test('concurrent appends are serialized: consecutive numbers, one unbroken chain', async () => {
  const temp = await tempDir('audit');
  const store = await openTestStore(temp.dir);
  try {
    const log = await AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY, sync: false });
    const entries = await Promise.all(Array.from({ length: 40 }, (_, i) => log.append('admin', { i })));
    assert.deepEqual(
      entries.map((e) => e.seq),
      Array.from({ length: 40 }, (_, i) => i),
    );
    assert.equal((await log.verify()).ok, true);
    assert.equal((await log.verify()).entriesVerified, 40);
  } finally {
    await store.close();
    await temp.remove();
  }
});

for (const [version, reason] of [
  [2, /entry 2 differs from the one its seal signed/],
  [1, /signature does not verify/],
] as const) {
  void test(`an edited entry (version ${version}) is reported by number (data changed on disk, ${version === 2 ? 'seal' : 'signature'} kept)`, async () => {
    const temp = await logWith(5, version);
    try {
      await tamper(temp.dir, async (raw) => {
        const text = new TextDecoder().decode(await rawGet(raw, rawEntryKey(2)));
        await raw.put(rawEntryKey(2), new TextEncoder().encode(text.replace('"i":2', '"i":9')));
      });
      const report = await verifyDir(temp.dir);
      assert.equal(report.ok, false);
      assert.equal(report.broken?.seq, 2);
      assert.match(report.broken?.reason ?? '', reason);
      assert.equal(report.entriesVerified, 2);
    } finally {
      await temp.remove();
    }
  });
}

void test('a dropped entry is reported by number', async () => {
  const temp = await logWith(5);
  try {
    await tamper(temp.dir, (raw) => raw.del(rawEntryKey(2)));
    const report = await verifyDir(temp.dir);
    assert.deepEqual(report.broken, { seq: 2, reason: 'entry 2 is missing (dropped)' });
  } finally {
    await temp.remove();
  }
});

void test('a dropped entry with the later ones renumbered breaks the hash chain', async () => {
  const temp = await logWith(5);
  try {
    await tamper(temp.dir, async (raw) => {
      // Move 3 -> 2 and 4 -> 3 (values unchanged: the attacker cannot re-sign) and fix the head key.
      await raw.put(rawEntryKey(2), await rawGet(raw, rawEntryKey(3)));
      await raw.put(rawEntryKey(3), await rawGet(raw, rawEntryKey(4)));
      await raw.del(rawEntryKey(4));
    });
    const report = await verifyDir(temp.dir);
    assert.equal(report.broken?.seq, 2);
    assert.match(report.broken?.reason ?? '', /holds entry 3/);
  } finally {
    await temp.remove();
  }
});

void test('two entries swapped (reordered) are reported at the first of them', async () => {
  const temp = await logWith(5);
  try {
    await tamper(temp.dir, async (raw) => {
      const one = await rawGet(raw, rawEntryKey(1));
      const two = await rawGet(raw, rawEntryKey(2));
      await raw.batch([
        { type: 'put', key: rawEntryKey(1), value: two },
        { type: 'put', key: rawEntryKey(2), value: one },
      ]);
    });
    const report = await verifyDir(temp.dir);
    assert.equal(report.broken?.seq, 1);
    assert.match(report.broken?.reason ?? '', /reordered/);
  } finally {
    await temp.remove();
  }
});

void test('the last entry cut off (tail truncation) is caught by the signed head', async () => {
  const temp = await logWith(5);
  try {
    await tamper(temp.dir, (raw) => raw.del(rawEntryKey(4)));
    const report = await verifyDir(temp.dir);
    assert.equal(report.broken?.seq, 4);
    assert.match(report.broken?.reason ?? '', /entry 4 is missing \(the head names 5 entries\)/);
    await tamper(temp.dir, (raw) => raw.del(RAW_HEAD_KEY));
    assert.deepEqual((await verifyDir(temp.dir)).broken, {
      seq: 4,
      reason: 'the signed head record is missing',
    });
  } finally {
    await temp.remove();
  }
});

void test('entries re-signed by another key are caught: against --key, and against entry 0 without it', async () => {
  const temp = await logWith(5);
  const attacker = generateKeyPair();
  try {
    // The attacker rewrites entry 2 onwards with a consistent chain and head under their own key.
    await tamper(temp.dir, async (raw) => {
      let prev = sha256Hex(await rawGet(raw, rawEntryKey(1)));
      for (let seq = 2; seq < 5; seq++) {
        const { bytes } = signEntry(
          { seq, time: FIXED_NOW().toISOString(), kind: 'admin', data: { forged: seq }, prev },
          attacker,
        );
        await raw.put(rawEntryKey(seq), bytes);
        prev = sha256Hex(bytes);
      }
      await raw.put(RAW_HEAD_KEY, signHead(4, prev, attacker));
    });
    const unpinned = await verifyDir(temp.dir);
    assert.equal(unpinned.broken?.seq, 2);
    assert.match(unpinned.broken?.reason ?? '', /signed by ed25519:.*, not ed25519:/);
    const pinned = await verifyDir(temp.dir, NODE_KEY.publicKey);
    assert.equal(pinned.broken?.seq, 2);
    // The whole log re-signed by another key verifies only without --key: with it, entry 0 fails.
    const onlyAttacker = await verifyDir(temp.dir, attacker.publicKey);
    assert.equal(onlyAttacker.broken?.seq, 0);
  } finally {
    await temp.remove();
  }
});

void test('an entry re-encoded non-canonically (same JSON value, other bytes) is refused', async () => {
  const temp = await logWith(3);
  try {
    await tamper(temp.dir, async (raw) => {
      const text = new TextDecoder().decode(await rawGet(raw, rawEntryKey(1)));
      await raw.put(rawEntryKey(1), new TextEncoder().encode(` ${text}`));
    });
    const report = await verifyDir(temp.dir);
    assert.equal(report.broken?.seq, 1);
    assert.match(report.broken?.reason ?? '', /canonical/);
  } finally {
    await temp.remove();
  }
});

void test('a tampered tail or another node key refuses to open for appending', async () => {
  const temp = await logWith(3);
  try {
    let store = await openTestStore(temp.dir);
    await assert.rejects(
      AuditLog.open(store.extension('audit'), { signingKey: generateKeyPair() }),
      /audit log: signed by ed25519:.*but this node's key is/,
    );
    await store.close();
    await tamper(temp.dir, (raw) => raw.del(rawEntryKey(2)));
    store = await openTestStore(temp.dir);
    await assert.rejects(
      AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY }),
      (error: unknown) =>
        error instanceof GojinnError &&
        error.code === 'internal' &&
        /gojinn audit verify/.test(error.message),
    );
    await store.close();
  } finally {
    await temp.remove();
  }
});

void test('maxEntryBytes: an entry exactly at the limit is appended, one byte over is refused and nothing is written', async () => {
  const temp = await tempDir('audit');
  const store = await openTestStore(temp.dir);
  try {
    const log = await AuditLog.open(store.extension('audit'), {
      signingKey: NODE_KEY,
      sync: false,
      now: FIXED_NOW,
    });
    const sizeWith = (seq: number, prev: string, padding: string): number =>
      encodeEntry(
        { seq, time: FIXED_NOW().toISOString(), kind: 'admin', data: padding, prev },
        NODE_KEY.publicKey,
      ).bytes.byteLength;
    const base = sizeWith(0, GENESIS_HASH, '');
    const limit = DEFAULT_AUDIT_LIMITS.maxEntryBytes;
    await assert.rejects(
      log.append('admin', 'x'.repeat(limit - base + 1)),
      (error: unknown) =>
        error instanceof GojinnError &&
        error.code === 'bad_request' &&
        /maxEntryBytes \(16384\)/.test(error.message),
    );
    assert.equal(log.length, 0);
    assert.deepEqual((await log.list()).items, []);
    const atLimit = await log.append('admin', 'x'.repeat(limit - base));
    assert.equal(atLimit.seq, 0);
    assert.equal(sizeWith(0, GENESIS_HASH, 'x'.repeat(limit - base)), limit);
    assert.equal((await log.verify()).ok, true);
  } finally {
    await store.close();
    await temp.remove();
  }
});

void test('an entry kind outside the pattern is refused', async () => {
  const temp = await tempDir('audit');
  const store = await openTestStore(temp.dir);
  try {
    const log = await AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY, sync: false });
    await assert.rejects(log.append('Admin Action', {}), /kind must match/);
    assert.equal(log.length, 0);
  } finally {
    await store.close();
    await temp.remove();
  }
});

void test('stored entries are the canonical JSON the documentation describes', async () => {
  const temp = await logWith(1);
  try {
    await tamper(temp.dir, async (raw) => {
      const bytes = await rawGet(raw, rawEntryKey(0));
      const entry = parseStrictJson(bytes, 'entry', 'internal') as JsonObject;
      // Version 2: no signature of its own (its batch's seal signs it).
      assert.deepEqual(Object.keys(entry).sort(), ['data', 'kind', 'prev', 'seq', 'signer', 'time', 'v']);
      assert.equal(entry.v, 2);
      assert.equal(entry.signer, NODE_KEY.publicKey);
      assert.deepEqual({ ...(entry.data as JsonObject) }, { action: 'test', i: 0 });
    });
  } finally {
    await temp.remove();
  }
});

void test('maxPageSize: list returns at most that many, with the cursor, and a larger limit is clamped', async () => {
  const temp = await tempDir('audit');
  const store = await openTestStore(temp.dir);
  try {
    const log = await AuditLog.open(store.extension('audit'), {
      signingKey: NODE_KEY,
      sync: false,
      limits: { maxPageSize: 3 },
    });
    for (let i = 0; i < 4; i++) await log.append('admin', i);
    const first = await log.list({ limit: 50 });
    assert.deepEqual(
      first.items.map((e) => e.data),
      [0, 1, 2],
    );
    assert.equal(first.next, 2);
    const exactlyAll = await log.list({ after: 0, limit: 3 });
    assert.deepEqual(
      exactlyAll.items.map((e) => e.seq),
      [1, 2, 3],
    );
    assert.equal(exactlyAll.next, undefined);
  } finally {
    await store.close();
    await temp.remove();
  }
});

void test('the head signing a different last entry is reported at that entry', async () => {
  const temp = await logWith(3);
  try {
    await tamper(temp.dir, async (raw) => {
      const { bytes } = signEntry(
        { seq: 2, time: FIXED_NOW().toISOString(), kind: 'admin', data: 'other', prev: GENESIS_HASH },
        NODE_KEY,
      );
      await raw.put(RAW_HEAD_KEY, signHead(2, sha256Hex(bytes), NODE_KEY));
    });
    const report = await verifyDir(temp.dir);
    assert.deepEqual(report, {
      ok: false,
      entriesVerified: 2,
      sealsVerified: 3,
      signer: NODE_KEY.publicKey,
      broken: { seq: 2, reason: 'entry 2 differs from the one the head signed' },
    });
  } finally {
    await temp.remove();
  }
});

void test('entries are signed exactly as tweetnacl signs (RFC 8032 ed25519), and a signature spelled S + L is refused', async () => {
  const { entry } = signEntry(
    { seq: 0, time: FIXED_NOW().toISOString(), kind: 'admin', data: { a: 1 }, prev: GENESIS_HASH },
    NODE_KEY,
  );
  const { sig, ...unsigned } = entry;
  const message = new TextEncoder().encode(
    AUDIT_ENTRY_DOMAIN_TAG + canonicalJson(unsigned as unknown as JsonObject),
  );
  assert.equal(Buffer.from(nacl.sign.detached(message, NODE_KEY.secretKey)).toString('base64url'), sig);
  assert.equal(entrySignatureValid(entry), true);
  // S + L (the group order) verifies under a bare ed25519 check but is a second spelling.
  const bytes = Buffer.from(sig, 'base64url');
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(bytes[i] ?? 0);
  s += 2n ** 252n + 27742317777372353535851937790883648493n;
  for (let i = 32; i < 64; i++) {
    bytes[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  assert.equal(entrySignatureValid({ ...entry, sig: bytes.toString('base64url') }), false);
  assert.equal(entrySignatureValid({ ...entry, data: { a: 2 } }), false);
});
