/**
 * Session frames: the header round-trips at the id limits, the decoder reassembles frames cut
 * anywhere and several per chunk, accepts a frame of exactly its limit, and refuses one byte
 * more — and an over-long length prefix — from the prefix alone, before any body arrives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameError } from '../src/framing.ts';
import {
  FRAME_CALL,
  FRAME_REPLY,
  FrameDecoder,
  MAX_CALL_ID,
  MAX_VARINT_BYTES,
  SESSION_HEADER_BYTES,
  encodeFrame,
  parseFrame,
} from '../src/session/frames.ts';

function varint(value: number): Uint8Array {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}

void test('a frame round-trips through the decoder: kind, id (0 and MAX_CALL_ID) and payload', () => {
  for (const id of [0, 1, 0x1234_5678, MAX_CALL_ID]) {
    const payload = new TextEncoder().encode(`payload of ${id}`);
    const decoder = new FrameDecoder(1024, 'maxRequestBytes');
    const [bytes, ...more] = decoder.push(encodeFrame(FRAME_CALL, id, payload));
    assert.equal(more.length, 0);
    const frame = parseFrame(bytes as Uint8Array);
    assert.deepEqual(frame, { kind: FRAME_CALL, id, payload });
  }
  assert.throws(() => encodeFrame(FRAME_CALL, MAX_CALL_ID + 1), RangeError);
  assert.throws(() => encodeFrame(FRAME_CALL, -1), RangeError);
  assert.equal(parseFrame(new Uint8Array(SESSION_HEADER_BYTES - 1)), null);
  assert.deepEqual(parseFrame(new Uint8Array(SESSION_HEADER_BYTES))?.payload, new Uint8Array(0));
});

void test('frames cut at any byte boundary, or packed several per chunk, come out whole and in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      (payloads, cuts) => {
        const wire = payloads.map((p, i) => encodeFrame(FRAME_REPLY, i + 1, p).subarray());
        const all = new Uint8Array(wire.reduce((n, w) => n + w.byteLength, 0));
        let at = 0;
        for (const w of wire) {
          all.set(w, at);
          at += w.byteLength;
        }
        const decoder = new FrameDecoder(400, 'maxResponseBytes');
        const out: Uint8Array[] = [];
        let offset = 0;
        for (let i = 0; offset < all.byteLength; i++) {
          const size = cuts[i % cuts.length] as number;
          out.push(...decoder.push(all.subarray(offset, offset + size)));
          offset += size;
        }
        assert.equal(out.length, payloads.length);
        out.forEach((bytes, i) => {
          assert.deepEqual(parseFrame(bytes), { kind: FRAME_REPLY, id: i + 1, payload: payloads[i] });
        });
        assert.equal(decoder.buffered, 0);
      },
    ),
    { numRuns: 200 },
  );
});

void test('a frame of exactly the limit is read; one byte more is refused from its length prefix alone', () => {
  const limit = 64 * 1024;
  const atLimit = encodeFrame(FRAME_CALL, 7, new Uint8Array(limit - SESSION_HEADER_BYTES).fill(1));
  const decoder = new FrameDecoder(limit, 'maxRequestBytes');
  const frames = decoder.push(atLimit);
  assert.equal(frames.length, 1);
  assert.equal(frames[0]?.byteLength, limit);

  const over = new FrameDecoder(limit, 'maxRequestBytes');
  // Only the prefix is pushed: no body has arrived, and none is waited for.
  assert.throws(
    () => over.push(varint(limit + 1)),
    (error: unknown) =>
      error instanceof FrameError &&
      error.kind === 'too_large' &&
      /maxRequestBytes/.test(error.message) &&
      error.message.includes(String(limit + 1)),
  );
});

void test('a length prefix longer than MAX_VARINT_BYTES is refused; a shorter incomplete one waits', () => {
  const decoder = new FrameDecoder(1 << 20, 'maxRequestBytes');
  assert.deepEqual(decoder.push(new Uint8Array(MAX_VARINT_BYTES - 1).fill(0x80)), []);
  assert.throws(
    () => decoder.push(Uint8Array.of(0x80)),
    (error: unknown) => error instanceof FrameError && error.kind === 'too_large',
  );
  assert.throws(() => new FrameDecoder(SESSION_HEADER_BYTES - 1, 'x'), RangeError);
});
