import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODES } from '@gojinn/errors';
import { OUTCOME_FIELDS, decodeOutcome, encodeOutcome } from '../src/pool/outcome-codec.ts';
import type { InvocationOutcome } from '../src/runtime/types.ts';

const outcomeArbitrary: fc.Arbitrary<InvocationOutcome> = fc
  .record({
    ok: fc.boolean(),
    response: fc.option(
      fc.record({
        status: fc.integer({ min: 100, max: 599 }),
        headers: fc.dictionary(fc.string(), fc.string()),
        body: fc.string({ unit: 'grapheme', maxLength: 2000 }),
      }),
      { nil: undefined },
    ),
    error: fc.option(
      fc.record({ code: fc.constantFrom(...ERROR_CODES), message: fc.string({ unit: 'grapheme' }) }),
      {
        nil: undefined,
      },
    ),
    fuelUsed: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    durationMs: fc.double({ noNaN: true }),
    seed: fc.string(),
    stderr: fc.uint8Array({ maxLength: 3000 }),
    stderrTruncated: fc.boolean(),
    deterministic: fc.boolean(),
  })
  .map((outcome) => {
    // Plain objects, and absent rather than undefined fields: what the runtime produces.
    const { response, error, ...rest } = outcome;
    return {
      ...rest,
      ...(response === undefined ? {} : { response: { ...response, headers: { ...response.headers } } }),
      ...(error === undefined ? {} : { error: { ...error } }),
    };
  });

void test('every outcome survives encode → decode unchanged', () => {
  fc.assert(
    fc.property(outcomeArbitrary, (outcome) => {
      const bytes = encodeOutcome(outcome);
      assert.ok(bytes !== undefined);
      assert.deepEqual(decodeOutcome(bytes.slice()), outcome);
    }),
    { numRuns: 500 },
  );
});

void test('a decoded stderr owns its bytes; later encodings do not change earlier results', () => {
  const first = encodeOutcome({
    ok: true,
    fuelUsed: 1n,
    durationMs: 1,
    seed: 'a',
    stderr: Uint8Array.of(1, 2, 3),
    stderrTruncated: false,
    deterministic: true,
  });
  assert.ok(first !== undefined);
  const decoded = decodeOutcome(first.slice());
  assert.equal(decoded.stderr.buffer.byteLength, 3);
  encodeOutcome({ ...decoded, stderr: Uint8Array.of(9, 9, 9, 9) });
  assert.deepEqual([...decoded.stderr], [1, 2, 3]);
});

void test('a body with a lone surrogate is refused rather than altered; headers carry one exactly', () => {
  const base = {
    ok: true,
    fuelUsed: 0n,
    durationMs: 0,
    seed: '',
    stderr: new Uint8Array(0),
    stderrTruncated: false,
    deterministic: true,
  };
  const lone = JSON.parse('"a\\ud800b"') as string;
  assert.equal(encodeOutcome({ ...base, response: { status: 200, headers: {}, body: lone } }), undefined);
  // JSON.stringify escapes lone surrogates, so headers survive through their JSON form.
  const withHeader = { ...base, response: { status: 200, headers: { [lone]: lone }, body: '' } };
  const bytes = encodeOutcome(withHeader);
  assert.ok(bytes !== undefined);
  assert.deepEqual(decodeOutcome(bytes.slice()), withHeader);
});

void test('fuel outside int64 is refused (the pool then posts the outcome instead)', () => {
  const base = {
    ok: true,
    durationMs: 0,
    seed: '',
    stderr: new Uint8Array(0),
    stderrTruncated: false,
    deterministic: true,
  };
  assert.equal(encodeOutcome({ ...base, fuelUsed: 1n << 63n }), undefined);
  assert.notEqual(encodeOutcome({ ...base, fuelUsed: (1n << 63n) - 1n }), undefined);
});

void test('the codec covers exactly the fields of InvocationOutcome', () => {
  assert.deepEqual([...OUTCOME_FIELDS].sort(), [
    'deterministic',
    'durationMs',
    'error',
    'fuelUsed',
    'ok',
    'response',
    'seed',
    'stderr',
    'stderrTruncated',
  ]);
});
