/** The invoke call's numeric limits at the limit and one past it (protocols/invoke.md). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_DEADLINE_MS,
  MAX_HOPS,
  MAX_RANGE_CHARS,
  encodeInvokeCall,
  parseInvokeCall,
} from '../src/invoke/index.ts';

const request = { method: 'GET', uri: '/', headers: {}, body: '', trace_id: 'a'.repeat(32) };

function bytesOf(fields: Record<string, unknown>): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ module: { name: 'hello', range: '*' }, request, deadlineMs: 1000, ...fields }),
  );
}

void test('deadlineMs: 1 and MAX_DEADLINE_MS accepted; 0 and MAX_DEADLINE_MS + 1 are bad_request', () => {
  assert.equal(parseInvokeCall(bytesOf({ deadlineMs: 1 })).deadlineMs, 1);
  assert.equal(parseInvokeCall(bytesOf({ deadlineMs: MAX_DEADLINE_MS })).deadlineMs, MAX_DEADLINE_MS);
  assert.throws(() => parseInvokeCall(bytesOf({ deadlineMs: 0 })), { code: 'bad_request' });
  assert.throws(() => parseInvokeCall(bytesOf({ deadlineMs: MAX_DEADLINE_MS + 1 })), { code: 'bad_request' });
});

void test('hops: MAX_HOPS accepted, MAX_HOPS + 1 is bad_request', () => {
  assert.equal(parseInvokeCall(bytesOf({ hops: MAX_HOPS })).hops, MAX_HOPS);
  assert.throws(() => parseInvokeCall(bytesOf({ hops: MAX_HOPS + 1 })), { code: 'bad_request' });
});

void test('a range of MAX_RANGE_CHARS is accepted, one more character is bad_request', () => {
  const range = `>=1.0.0 ${'|| >=1.0.0 '.repeat(20)}`.slice(0, MAX_RANGE_CHARS).trimEnd();
  const padded = range.padEnd(MAX_RANGE_CHARS, ' ');
  assert.equal(padded.length, MAX_RANGE_CHARS);
  const at = parseInvokeCall(bytesOf({ module: { name: 'hello', range: padded } }));
  assert.deepEqual(at.module, { name: 'hello', range: padded });
  assert.throws(() => parseInvokeCall(bytesOf({ module: { name: 'hello', range: `${padded} ` } })), {
    code: 'bad_request',
  });
  // What the caller encodes parses back the same.
  const call = {
    module: { name: 'hello', range: '^1.0.0' },
    request,
    deadlineMs: MAX_DEADLINE_MS,
    hops: MAX_HOPS,
  };
  assert.deepEqual(parseInvokeCall(encodeInvokeCall(call)), call);
});
