/**
 * Which modules may have their instances reused, decided at preparation (ModuleInfo.reuse and
 * the value `__gojinn_reset` returns), and that a module refused reuse still behaves exactly as
 * with a fresh instance every time. Each guest below changes state a reset could not restore
 * (a dropped segment, a table's contents or size) in a way its next run would notice: reusing
 * one of them would change its answer or make it trap.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { runInvocation, threadInstancePool, type InvocationOutcome } from '../src/runtime/index.ts';
import { WRITE_HELPER, specFor, watString } from './fixtures/wat-guest.ts';
import { prepareWat, type PreparedGuest } from './runtime-reuse-guests.ts';

const ANSWER_A = '{"status":200,"headers":{},"body":"a"}';
const ANSWER_B = '{"status":200,"headers":{},"body":"b"}';
/** Function index of `_start` below: fd_write (imported), $write, $a, $b, then _start. */
const START_INDEX = 4;

/**
 * A guest whose answer is whatever function table slot 0 holds ($a: "a", $b: "b"); `before`
 * runs first, `after` once the answer is written. Slot 1 holds $b, and a passive element
 * segment and a passive data segment (ANSWER_B) are there for the bulk instructions.
 */
function tableGuest(before: string, after: string): string {
  return `(module
    ${WRITE_HELPER}
    (memory (export "memory") 1)
    (table $t 2 4 funcref)
    (type $answer (func (result i32)))
    (elem (table $t) (i32.const 0) func $a $b)
    (elem $passive func $b)
    (data (i32.const 1024) "${watString(Buffer.from(ANSWER_A))}")
    (data (i32.const 1100) "${watString(Buffer.from(ANSWER_B))}")
    (data $answer_b "${watString(Buffer.from(ANSWER_B))}")
    (func $a (result i32) (i32.const 1024))
    (func $b (result i32) (i32.const 1100))
    (func (export "_start")
      ${before}
      (drop (call $write (i32.const 1) (call_indirect $t (type $answer) (i32.const 0)) (i32.const ${ANSWER_A.length})))
      ${after}))`;
}

function run(guest: PreparedGuest, reuse = true): InvocationOutcome {
  return runInvocation(guest.module, guest.info, specFor(reuse ? {} : { reuseInstances: false }));
}

function observable(outcome: InvocationOutcome): unknown {
  const { durationMs, ...rest } = outcome;
  assert.ok(durationMs >= 0);
  return rest;
}

beforeEach(() => threadInstancePool.clear());

const NOT_REUSABLE: [instruction: string, before: string, after: string, body: string][] = [
  ['table.set', '', '(table.set $t (i32.const 0) (ref.func $b))', 'a'],
  ['table.fill', '', '(table.fill $t (i32.const 0) (ref.func $b) (i32.const 1))', 'a'],
  ['table.copy', '', '(table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))', 'a'],
  ['table.init', '', '(table.init $t $passive (i32.const 0) (i32.const 0) (i32.const 1))', 'a'],
  [
    'table.grow',
    '(if (i32.gt_u (table.size $t) (i32.const 2)) (then unreachable))',
    '(drop (table.grow $t (ref.null func) (i32.const 1)))',
    'a',
  ],
  // Only table.init (itself refused) could notice a dropped element segment.
  ['elem.drop', '', '(elem.drop $passive)', 'a'],
  [
    'data.drop',
    `(memory.init $answer_b (i32.const 1024) (i32.const 0) (i32.const ${ANSWER_B.length}))`,
    '(data.drop $answer_b)',
    'b',
  ],
];

void describe('modules whose state a reset cannot restore', () => {
  for (const [instruction, before, after, body] of NOT_REUSABLE) {
    void test(`${instruction}: not reusable, and every run answers as a fresh instance does`, () => {
      const guest = prepareWat(tableGuest(before, after));
      assert.deepEqual(guest.info.reuse, {
        reusable: false,
        reason: `function ${START_INDEX} uses ${instruction}, whose effect a reset cannot undo`,
      });
      const fresh = run(guest, false);
      assert.equal(fresh.response?.body, body, JSON.stringify(fresh.error));
      for (let i = 0; i < 3; i++) assert.deepEqual(observable(run(guest)), observable(fresh));
      assert.deepEqual(threadInstancePool.stats(), { modules: 0, idleInstances: 0, retainedBytes: 0 });
    });
  }

  void test('an instruction in code that never runs still makes the module not reusable', () => {
    const guest = prepareWat(
      tableGuest('', '(if (i32.const 0) (then (table.set $t (i32.const 0) (ref.func $b))))'),
    );
    assert.equal(guest.info.reuse.reusable, false);
    run(guest);
    assert.equal(threadInstancePool.stats().modules, 0);
  });

  void test('a blocker in a function other than _start is named with its index', () => {
    const guest = prepareWat(`(module
      (memory (export "memory") 1)
      (data $d "x")
      (func $never (data.drop $d))
      (func (export "_start")))`);
    assert.deepEqual(guest.info.reuse, {
      reusable: false,
      reason: 'function 0 uses data.drop, whose effect a reset cannot undo',
    });
  });

  void test('a module importing a global, one without memory and one without functions are not reusable', () => {
    const importsGlobal = prepareWat(`(module
      (import "env" "g" (global i32))
      (memory (export "memory") 1)
      (func (export "_start")))`);
    assert.deepEqual(importsGlobal.info.reuse, {
      reusable: false,
      reason: 'module imports a global, whose value a reset cannot restore',
    });
    const noMemory = prepareWat('(module (func (export "_start")))');
    assert.deepEqual(noMemory.info.reuse, { reusable: false, reason: 'module defines no memory' });
    const noFunctions = prepareWat('(module (memory (export "memory") 1))');
    assert.deepEqual(noFunctions.info.reuse, { reusable: false, reason: 'module defines no functions' });
  });
});

void describe('modules that stay reusable', () => {
  void test('memory.init without data.drop: the segment survives, every run on one instance answers the same', () => {
    const guest = prepareWat(
      tableGuest(`(memory.init $answer_b (i32.const 1024) (i32.const 0) (i32.const ${ANSWER_B.length}))`, ''),
    );
    assert.deepEqual(guest.info.reuse, { reusable: true });
    const fresh = run(guest, false);
    assert.equal(fresh.response?.body, 'b');
    for (let i = 0; i < 3; i++) assert.deepEqual(observable(run(guest)), observable(fresh));
    assert.equal(threadInstancePool.stats().idleInstances, 1, 'one instance served every run');
  });

  void test('table.get, call_indirect, memory.copy/fill and global.set do not block reuse', () => {
    const guest = prepareWat(
      tableGuest(
        `(drop (table.get $t (i32.const 1)))
         (memory.copy (i32.const 2048) (i32.const 1024) (i32.const 8))
         (memory.fill (i32.const 3000) (i32.const 1) (i32.const 8))`,
        '',
      ),
    );
    assert.deepEqual(guest.info.reuse, { reusable: true });
    assert.equal(run(guest).response?.body, 'a');
    assert.equal(run(guest).response?.body, 'a');
    assert.equal(threadInstancePool.stats().idleInstances, 1);
  });
});
