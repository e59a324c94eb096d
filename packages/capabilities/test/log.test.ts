/**
 * gojinn.log and gojinn.debug_event through the real pool: structured records, the limits per
 * invocation and per module (at the limit and one over), message cutting, debug opt-in.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { effectiveRights } from '../src/grants.ts';
import { DEFAULT_GUEST_LOG_LIMITS } from '../src/log/invocation-log.ts';
import { MAX_LOG_MESSAGE_BYTES } from '../src/limits.ts';
import { encodeScript, type ScriptCall } from './support/driver-guest.ts';
import { Harness, TRACE_ID, moduleIdentity } from './support/harness.ts';

let h: Harness;

before(() => {
  h = new Harness({ allowDebug: true });
});

after(() => h.close());

function lines(count: number, text: (i: number) => string = (i) => `line ${i}`, level = 1): ScriptCall[] {
  return Array.from({ length: count }, (_, i) => ({ fn: 'log', arg: text(i), cap: level }));
}

void test('a log line becomes one structured record: module, trace id, level, message', async () => {
  const module = moduleIdentity('logger');
  const before = h.records.length;
  const { outcome, results } = await h.run(
    ['log'],
    [
      { fn: 'log', arg: 'starting', cap: 1 },
      { fn: 'log', arg: 'careful', cap: 2 },
      { fn: 'log', arg: 'broken', cap: 3 },
      { fn: 'log', arg: 'way up', cap: 99 },
      { fn: 'log', arg: 'ünïcödé ✓', cap: 1 },
    ],
    {},
    { module },
  );
  assert.equal(outcome.ok, true);
  assert.deepEqual(
    results?.map((r) => r.result),
    [0, 0, 0, 0, 0],
  );
  assert.deepEqual(h.records.slice(before), [
    { type: 'guest_log', level: 'info', module, traceId: TRACE_ID, message: 'starting', truncated: false },
    { type: 'guest_log', level: 'warn', module, traceId: TRACE_ID, message: 'careful', truncated: false },
    { type: 'guest_log', level: 'error', module, traceId: TRACE_ID, message: 'broken', truncated: false },
    { type: 'guest_log', level: 'error', module, traceId: TRACE_ID, message: 'way up', truncated: false },
    { type: 'guest_log', level: 'info', module, traceId: TRACE_ID, message: 'ünïcödé ✓', truncated: false },
  ]);
  assert.equal(outcome.stderr.byteLength, 0, 'log lines go to the node log, not into stderr');
});

void test('messages are kept whole up to MAX_LOG_MESSAGE_BYTES and cut there, at a character boundary', async () => {
  const before = h.records.length;
  const euros = '€'.repeat(Math.ceil(MAX_LOG_MESSAGE_BYTES / 3) + 1); // 3 bytes each: the cut falls inside one
  await h.run(
    ['log'],
    [
      { fn: 'log', arg: 'a'.repeat(MAX_LOG_MESSAGE_BYTES), cap: 1 },
      { fn: 'log', arg: 'b'.repeat(MAX_LOG_MESSAGE_BYTES + 1), cap: 1 },
      { fn: 'log', arg: euros, cap: 1 },
    ],
    {},
    { module: moduleIdentity('long-lines') },
  );
  const records = h.recordsOf('guest_log').filter((r) => h.records.indexOf(r) >= before);
  assert.equal(records[0]?.message.length, MAX_LOG_MESSAGE_BYTES);
  assert.equal(records[0]?.truncated, false);
  assert.equal(records[1]?.message, 'b'.repeat(MAX_LOG_MESSAGE_BYTES));
  assert.equal(records[1]?.truncated, true);
  const cut = Math.floor(MAX_LOG_MESSAGE_BYTES / 3);
  assert.equal(records[2]?.message, '€'.repeat(cut));
  assert.equal(records[2]?.truncated, true);
});

void test('an invocation logs up to linesPerInvocation lines; past it lines are dropped, reported once, and log still returns 0', async () => {
  const module = moduleIdentity('chatty');
  const limit = DEFAULT_GUEST_LOG_LIMITS.linesPerInvocation;
  const before = h.records.length;
  const { results } = await h.run(['log'], lines(limit + 5), {}, { module });
  assert.ok(results?.every((r) => r.result === 0));
  const records = h.records.slice(before);
  assert.equal(records.filter((r) => r.type === 'guest_log').length, limit);
  assert.deepEqual(
    records.filter((r) => r.type === 'guest_log_dropped'),
    [{ type: 'guest_log_dropped', module, traceId: TRACE_ID, reason: 'invocation_lines' }],
  );
  const dropped = h.counted.filter(
    (c) => c.name === 'guest_log_dropped_total' && c.labels.module === 'chatty',
  );
  assert.equal(dropped.length, 5);
});

void test('an invocation logs up to bytesPerInvocation bytes; one more byte is dropped', async () => {
  const small = new Harness({ logLimits: { bytesPerInvocation: 1000 } });
  try {
    await small.run(['log'], [...lines(10, () => 'x'.repeat(100)), { fn: 'log', arg: 'y', cap: 1 }], {});
    assert.equal(small.recordsOf('guest_log').length, 10);
    assert.equal(small.recordsOf('guest_log_dropped')[0]?.reason, 'invocation_bytes');
  } finally {
    await small.close();
  }
});

void test('a module’s invocations share a log rate: the burst, then drops, then refills with time', async () => {
  let now = 0;
  const rated = new Harness({ logLimits: { moduleBurstLines: 5, moduleLinesPerSecond: 2 }, now: () => now });
  try {
    const module = moduleIdentity('bursty');
    await rated.run(['log'], lines(3), {}, { module });
    await rated.run(['log'], lines(3), {}, { module });
    assert.equal(rated.recordsOf('guest_log').length, 5);
    assert.equal(rated.recordsOf('guest_log_dropped')[0]?.reason, 'module_rate');
    await rated.run(['log'], lines(1), {}, { module: moduleIdentity('other') });
    assert.equal(rated.recordsOf('guest_log').length, 6, 'another module has its own bucket');
    now += 1000; // two lines' worth
    await rated.run(['log'], lines(3), {}, { module });
    assert.equal(rated.recordsOf('guest_log').length, 8);
  } finally {
    await rated.close();
  }
});

void test('debug: debug lines and debug_event need debug.enable, which a node must allow', async () => {
  const declared = { 'debug.enable': {} };
  const refused = effectiveRights({ declared, granted: declared, allowDebug: false });
  const allowed = effectiveRights({ declared, granted: declared, allowDebug: true });
  const module = moduleIdentity('debugger');

  const before = h.records.length;
  await h.run(['log'], [{ fn: 'log', arg: 'hidden detail', cap: 0 }], refused, { module });
  assert.equal(h.records.length, before, 'a debug line without debug.enable is dropped');

  const linked = await h.run(['debug_event'], [{ fn: 'debug_event', arg: '{"step":1}' }], refused, {
    module,
  });
  assert.equal(linked.outcome.error?.code, 'capability_denied');
  assert.match(linked.outcome.error?.message ?? '', /gojinn\.debug_event needs capability debug\.enable/);

  const { outcome, results } = await h.run(
    ['log', 'debug_event'],
    [
      { fn: 'log', arg: 'shown detail', cap: 0 },
      { fn: 'debug_event', arg: '{"step":1}' },
      { fn: 'debug_event', arg: 'e'.repeat(MAX_LOG_MESSAGE_BYTES + 1) },
    ],
    allowed,
    { module },
  );
  assert.equal(outcome.ok, true);
  assert.deepEqual(
    results?.map((r) => r.result),
    [0, 0, 0],
  );
  const records = h.records.slice(before);
  assert.deepEqual(records.slice(0, 2), [
    {
      type: 'guest_log',
      level: 'debug',
      module,
      traceId: TRACE_ID,
      message: 'shown detail',
      truncated: false,
    },
    { type: 'debug_event', module, traceId: TRACE_ID, event: '{"step":1}', truncated: false },
  ]);
  assert.deepEqual(records[2], {
    type: 'debug_event',
    module,
    traceId: TRACE_ID,
    event: 'e'.repeat(MAX_LOG_MESSAGE_BYTES),
    truncated: true,
  });
});

void test('a dispatcher of a node that does not allow debug never grants debug.enable, whatever the rights say', async () => {
  const strict = new Harness();
  try {
    const { outcome } = await strict.run(['debug_event'], [], { 'debug.enable': {} });
    assert.equal(outcome.error?.code, 'capability_denied');
    const before = strict.records.length;
    await strict.run(['log'], [{ fn: 'log', arg: 'detail', cap: 0 }], { 'debug.enable': {} });
    assert.equal(strict.records.length, before, 'debug lines stay dropped');
  } finally {
    await strict.close();
  }
});

void test('a guest that logs while run without a dispatcher keeps running (the line is dropped)', async () => {
  const prepared = await h.driver(['log']);
  const outcome = await h.sandbox.invoke(prepared, encodeScript(['log'], lines(2)));
  assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
});
