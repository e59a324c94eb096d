import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ResultRing, createResultRing } from '../src/pool/result-ring.ts';

function drainAll(ring: ResultRing): { seq: number; payload: number[] }[] {
  const out: { seq: number; payload: number[] }[] = [];
  ring.drain((seq, payload) => out.push({ seq, payload: [...payload] }));
  return out;
}

void test('records come out in order, intact, across many wrap-arounds', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 64, max: 512 }),
      fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(-1)), { maxLength: 300 }),
      (capacity, steps) => {
        const ring = new ResultRing(createResultRing(capacity));
        const expected: { seq: number; payload: number[] }[] = [];
        const received: { seq: number; payload: number[] }[] = [];
        let seq = 0;
        for (const step of steps) {
          if (step < 0) {
            received.push(...drainAll(ring));
            continue;
          }
          seq++;
          const payload = Array.from({ length: step }, (_, i) => (seq + i) & 0xff);
          if (ring.tryWrite(seq, Uint8Array.from(payload))) {
            expected.push({ seq, payload });
          } else {
            // A refusal is never permanent for a record that can fit: once drained, it goes in.
            received.push(...drainAll(ring));
            if (step <= ring.maxRecordBytes) {
              assert.equal(ring.tryWrite(seq, Uint8Array.from(payload)), true);
              expected.push({ seq, payload });
            }
          }
        }
        received.push(...drainAll(ring));
        assert.deepEqual(received, expected);
      },
    ),
    { numRuns: 300 },
  );
});

void test('a record of exactly maxRecordBytes fits the emptied ring wherever its offsets stand', () => {
  const capacity = 256;
  for (let offset = 0; offset < capacity; offset += 8) {
    const ring = new ResultRing(createResultRing(capacity));
    // Move both offsets to `offset` with a filler record (8 header bytes + payload).
    if (offset >= 8) {
      assert.equal(ring.tryWrite(1, new Uint8Array(offset - 8)), true);
      drainAll(ring);
    }
    assert.equal(ring.tryWrite(2, new Uint8Array(ring.maxRecordBytes).fill(9)), true, `at offset ${offset}`);
    const [record] = drainAll(ring);
    assert.equal(record?.seq, 2);
    assert.equal(record?.payload.length, ring.maxRecordBytes);
  }
  // maxRecordBytes is the guarantee, not the ceiling: past it the worst offset refuses.
  const ring = new ResultRing(createResultRing(capacity));
  assert.equal(ring.tryWrite(1, new Uint8Array(capacity / 2 - 8)), true);
  drainAll(ring);
  assert.equal(ring.tryWrite(2, new Uint8Array(ring.maxRecordBytes + 8)), false);
});

void test('a full ring refuses instead of overwriting unread records', () => {
  const ring = new ResultRing(createResultRing(128));
  let written = 0;
  while (ring.tryWrite(written + 1, new Uint8Array(8).fill(written + 1))) written++;
  assert.ok(written > 0);
  const records = drainAll(ring);
  assert.equal(records.length, written);
  records.forEach((record, i) => assert.deepEqual(record.payload, new Array(8).fill(i + 1)));
});

void test('seq 0 is reserved for the wrap marker', () => {
  const ring = new ResultRing(createResultRing(128));
  assert.throws(() => ring.tryWrite(0, new Uint8Array(1)), RangeError);
});
