/**
 * The caller checks its own call with `checkOwnInvokeCall` (JSON.parse of what it encoded) instead
 * of the server's strict parse: on anything `encodeInvokeCall` produces, both must agree —
 * the same call back, or the same refusal word for word.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import { checkOwnInvokeCall, encodeInvokeCall, parseInvokeCall } from '../src/invoke/messages.ts';
import type { InvokeCall } from '../src/invoke/messages.ts';
import { guestRequest } from './support/invoke-executor.ts';

const good: InvokeCall = {
  module: { name: 'hello', range: '^1.0.0' },
  request: guestRequest('/hello?x=1', 'ab'.repeat(16)),
  deadlineMs: 5000,
  fuel: 1000,
  seed: 'c'.repeat(64),
  hops: 0,
};

const outcome = (check: (bytes: Uint8Array) => InvokeCall, value: unknown): unknown => {
  try {
    return { call: check(encodeInvokeCall(value as InvokeCall)) };
  } catch (error) {
    assert.ok(error instanceof GojinnError, String(error));
    return { code: error.code, message: error.message };
  }
};

void test('checkOwnInvokeCall and parseInvokeCall agree on valid and malformed calls', () => {
  const cases: [string, unknown][] = [
    ['valid', good],
    ['valid by hash', { ...good, module: { sha256: 'd'.repeat(64) } }],
    ['valid with publisher', { ...good, module: { ...good.module, publisher: 'ed25519:' + 'A'.repeat(43) } }],
    ['deadline 0', { ...good, deadlineMs: 0 }],
    ['fuel fractional', { ...good, fuel: 1.5 }],
    ['seed uppercase', { ...good, seed: 'C'.repeat(64) }],
    ['hops 9', { ...good, hops: 9 }],
    ['unknown field', { ...good, extra: true }],
    ['__proto__ field', JSON.parse(`{"__proto__": 1, "deadlineMs": 5}`)],
    ['bad range', { ...good, module: { name: 'hello', range: 'not a range' } }],
    ['bad name', { ...good, module: { name: 'Hello!', range: '1' } }],
    ['module with both', { ...good, module: { sha256: 'd'.repeat(64), name: 'x' } }],
    ['nested header', { ...good, request: { ...good.request, headers: { a: { b: 'c' } } } }],
    ['missing trace id', { ...good, request: { ...good.request, trace_id: undefined } }],
    ['request extra field', { ...good, request: { ...good.request, more: 1 } }],
    ['not an object', [good]],
    ['null', null],
  ];
  for (const [what, value] of cases) {
    assert.deepEqual(outcome(checkOwnInvokeCall, value), outcome(parseInvokeCall, value), what);
  }
  assert.deepEqual(checkOwnInvokeCall(encodeInvokeCall(good)), good);
});
