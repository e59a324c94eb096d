/**
 * Fresh instances on recycled memories must be indistinguishable from fresh instances on new
 * memories. The secret keeper (runtime-reuse-guests.ts), prepared with `importMemory`, hides a
 * random secret all over its memory and then finishes, traps, exits, runs out of fuel or stack,
 * or grows its memory; the next fresh invocation of the same module dumps ALL of its memory,
 * and that dump must be byte for byte the dump of the very first invocation (a new memory).
 * The memory pool's counters prove which runs got a recycled memory: it holds at most two idle
 * memories per module, so a run that quietly allocated a new memory would leave two behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, test } from 'node:test';
import { readExample, type ExampleGuest } from '../../../test/support/guests.ts';
import { DEFAULT_MODULE_LIMITS } from '../src/limits.ts';
import {
  buildRequest,
  encodeRequest,
  importsWithMemory,
  linkPlanFor,
  runInvocation,
  threadInstancePool,
  threadMemoryPool,
  type InvocationOutcome,
  type RuntimeModuleInfo,
} from '../src/runtime/index.ts';
import { prepareWasm } from '../src/wasm/index.ts';
import { assemble, compileGuest, specFor, WRITE_HELPER, watString } from './fixtures/wat-guest.ts';
import { SECRET_BYTES, contains, keeperInput, secretKeeperWat } from './runtime-reuse-guests.ts';

const CEILING_PAGES = 4;
const LIMITS = { fuel: 2_000_000n, maxStderrBytes: 4 * 65536 };
const OK_RESPONSE = '{"status":200,"headers":{},"body":"ok"}';

interface Guest {
  module: WebAssembly.Module;
  info: RuntimeModuleInfo;
}

/** Prepares WAT as the Sandbox does: memory imported from the runtime. */
function prepareImporting(wat: string, ceilingPages = CEILING_PAGES): Guest {
  const { bytes, info } = prepareWasm(assemble(wat), {
    limits: DEFAULT_MODULE_LIMITS,
    memoryCeilingPages: ceilingPages,
    importMemory: true,
  });
  return { module: new WebAssembly.Module(bytes), info };
}

const keeper = prepareImporting(secretKeeperWat(false));

function run(mode: string, secret?: Uint8Array, reuse = false): InvocationOutcome {
  const spec = specFor({
    stdin: keeperInput(mode, secret),
    limits: LIMITS,
    ...(reuse ? {} : { reuseInstances: false }),
  });
  return runInvocation(keeper.module, keeper.info, spec);
}

function idleMemories(): number {
  return threadMemoryPool.stats().idleMemories;
}

/** What an outcome says, without its timing. */
function observable(outcome: InvocationOutcome): unknown {
  const { durationMs, ...rest } = outcome;
  assert.ok(durationMs >= 0);
  return { ...rest, stderr: Buffer.from(rest.stderr).toString('base64') };
}

beforeEach(() => {
  threadMemoryPool.clear();
  threadInstancePool.clear();
});

void describe('fresh instances on recycled memories', () => {
  void test('the prepared keeper imports its memory, so the runtime provides it', () => {
    const plan = linkPlanFor(keeper.module);
    assert.equal(plan.error, null);
    assert.deepEqual(plan.memoryShape, { initialPages: 2, maxPages: CEILING_PAGES });
  });

  void test('after any outcome, the next fresh invocation sees exactly what a new memory shows', () => {
    const baseline = run('D');
    assert.equal(baseline.ok, true, JSON.stringify(baseline.error));
    assert.equal(baseline.stderr.byteLength, 2 * 65536, 'the dump is all of memory');
    assert.equal(idleMemories(), 1, 'the first memory went back to the pool');

    const outcomes: Record<string, { ok: boolean; code?: string; dumps: boolean }> = {
      W: { ok: true, dumps: true },
      E: { ok: true, dumps: true }, // proc_exit(0) after answering
      B: { ok: false, code: 'bad_response', dumps: true },
      T: { ok: false, code: 'trap', dumps: false },
      F: { ok: false, code: 'fuel_exhausted', dumps: false },
      S: { ok: false, code: 'stack_overflow', dumps: false },
    };
    for (const [mode, expected] of Object.entries(outcomes)) {
      const secret = randomBytes(SECRET_BYTES);
      const dirty = run(mode, secret);
      assert.equal(dirty.ok, expected.ok, `${mode}: ${JSON.stringify(dirty.error)}`);
      if (expected.code !== undefined) assert.equal(dirty.error?.code, expected.code, mode);
      // Where the guest dumps, the dump proves its memory held the secret when it was given back.
      if (expected.dumps) assert.equal(contains(dirty.stderr, secret), true, `${mode} wrote the secret`);
      assert.equal(idleMemories(), 1, `${mode}: the dirty memory went back (and was the recycled one)`);

      const clean = run('D');
      assert.equal(idleMemories(), 1, `${mode}: the next run took the recycled memory, not a new one`);
      assert.equal(contains(clean.stderr, secret), false, `${mode}: the secret is gone`);
      assert.deepEqual(observable(clean), observable(baseline), `${mode}: identical to a new memory`);
    }
  });

  void test('a grown memory is never recycled: the next invocation gets a new one', () => {
    const baseline = run('D');
    const secret = randomBytes(SECRET_BYTES);
    const grown = run('G', secret);
    assert.equal(grown.ok, true, JSON.stringify(grown.error));
    assert.equal(grown.stderr.byteLength, 3 * 65536, 'the guest grew its memory by a page');
    // The baseline's memory served 'G' and was dropped, grown; nothing is left to recycle.
    assert.equal(idleMemories(), 0);
    const next = run('D');
    assert.equal(contains(next.stderr, secret), false);
    assert.deepEqual(observable(next), observable(baseline));
    assert.equal(idleMemories(), 1);
  });

  void test('a reused instance keeps its memory; once dropped, its memory is recycled zeroed', () => {
    const baseline = run('D');
    threadMemoryPool.clear();
    const secret = randomBytes(SECRET_BYTES);
    assert.equal(run('W', secret, true).ok, true);
    assert.equal(threadInstancePool.stats().idleInstances, 1, 'the instance pool kept the instance');
    assert.equal(idleMemories(), 0, 'so its memory, still in use, is not in the memory pool');

    // The kept instance runs again (restored), traps, and is dropped: now its memory comes back.
    const trapped = run('T', secret, true);
    assert.equal(trapped.error?.code, 'trap');
    assert.equal(threadInstancePool.stats().idleInstances, 0);
    assert.equal(idleMemories(), 1);

    const next = run('D');
    assert.equal(idleMemories(), 1, 'the fresh run took the dropped instance’s memory');
    assert.equal(contains(next.stderr, secret), false);
    assert.deepEqual(observable(next), observable(baseline));
  });

  void test('a data segment out of bounds: the partial write of instantiation is zeroed before reuse', () => {
    const secret = randomBytes(SECRET_BYTES);
    const guest = prepareImporting(`(module
      ${WRITE_HELPER}
      (memory (export "memory") 1)
      (data (i32.const 100) "${watString(secret)}")
      (data (i32.const 65530) "0123456789")
      (func (export "_start")))`);
    const plan = linkPlanFor(guest.module);
    const shape = plan.memoryShape!;

    // The engine applies the first segment, then traps on the second, leaving the secret behind.
    const memory = threadMemoryPool.take(guest.module, shape);
    assert.throws(
      () => new WebAssembly.Instance(guest.module, importsWithMemory(plan, memory)),
      WebAssembly.RuntimeError,
    );
    assert.equal(contains(new Uint8Array(memory.buffer), secret), true, 'a partial write happened');
    assert.equal(threadMemoryPool.give(guest.module, memory, shape), true);
    const again = threadMemoryPool.take(guest.module, shape);
    assert.equal(again, memory, 'the same memory is handed out again');
    assert.equal(
      new Uint8Array(again.buffer).every((byte) => byte === 0),
      true,
      'every byte zeroed',
    );

    // Through the runtime: the invocation fails as a trap and its memory still goes back.
    const outcome = runInvocation(guest.module, guest.info, specFor({ limits: LIMITS }));
    assert.equal(outcome.error?.code, 'trap');
    assert.equal(idleMemories(), 1);
    const recycled = threadMemoryPool.take(guest.module, shape);
    assert.equal(recycled.buffer.byteLength, 65536);
    assert.equal(
      new Uint8Array(recycled.buffer).every((byte) => byte === 0),
      true,
    );
  });

  void test('a memory whose maximum is its initial size still runs, and cannot grow', () => {
    const guest = prepareImporting(`(module
      ${WRITE_HELPER}
      (memory (export "memory") 1 1)
      (data (i32.const 1024) "${watString(Buffer.from(OK_RESPONSE))}")
      (func (export "_start")
        (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
        (drop (call $write (i32.const 1) (i32.const 1024) (i32.const ${OK_RESPONSE.length})))))`);
    assert.deepEqual(linkPlanFor(guest.module).memoryShape, { initialPages: 1, maxPages: 1 });
    for (let i = 0; i < 3; i++) {
      const outcome = runInvocation(guest.module, guest.info, specFor({ reuseInstances: false }));
      assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
      assert.equal(outcome.response?.body, 'ok');
    }
    assert.equal(idleMemories(), 1);
  });

  void test('memory.grow past the invocation ceiling is still denied on a recycled memory', () => {
    // Grows by one page (allowed: 2 pages = the ceiling), then by one more (denied).
    const guest = prepareImporting(`(module
      ${WRITE_HELPER}
      (memory (export "memory") 1)
      (data (i32.const 1024) "${watString(Buffer.from(OK_RESPONSE))}")
      (func (export "_start")
        (if (i32.ne (memory.grow (i32.const 1)) (i32.const 1)) (then unreachable))
        (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
        (drop (call $write (i32.const 1) (i32.const 1024) (i32.const ${OK_RESPONSE.length})))))`);
    const spec = specFor({ reuseInstances: false, limits: { memoryBytes: 2 * 65536 } });
    for (let i = 0; i < 3; i++) {
      const outcome = runInvocation(guest.module, guest.info, spec);
      assert.equal(outcome.ok, true, JSON.stringify(outcome.error));
    }
    assert.equal(idleMemories(), 0, 'every memory grew, so none was recycled');
  });
});

void describe('the module name reserved for the runtime', () => {
  void test('a guest importing from it is refused at preparation', () => {
    for (const entry of ['(memory 1)', '(func)', '(global i32)']) {
      assert.throws(
        () =>
          prepareImporting(`(module (import "gojinn:runtime" "memory" ${entry}) (func (export "_start")))`),
        {
          code: 'invalid_module',
          message:
            'import "gojinn:runtime"."memory" uses the module name "gojinn:runtime", which is reserved for the runtime',
        },
      );
    }
  });

  void test('the linker refuses any import from it but the memory', () => {
    const guest = compileGuest(`(module
      (import "gojinn:runtime" "clock" (func))
      (memory (export "memory") 1)
      (func (export "_start")))`);
    const outcome = runInvocation(guest.module, guest.info, specFor());
    assert.equal(outcome.error?.code, 'invalid_module');
    assert.equal(
      outcome.error?.message,
      'import gojinn:runtime.clock is a function of the module name reserved for the runtime, which provides only its memory',
    );
  });

  void test('a module importing the memory without the section giving its limits does not link', () => {
    const guest = compileGuest(`(module
      (import "gojinn:runtime" "memory" (memory 1))
      (export "memory" (memory 0))
      (func (export "_start")))`);
    const outcome = runInvocation(guest.module, { memory: { initialPages: 1 } }, specFor());
    assert.equal(outcome.error?.code, 'invalid_module');
    assert.match(outcome.error?.message ?? '', /0 "gojinn:memory" sections giving its limits; exactly one/);
  });
});

void describe('the example guests', () => {
  void test('answer byte for byte the same on recycled memories as on memories they define', () => {
    const examples: ExampleGuest[] = ['hello', 'fib', 'sha256', 'inspect'];
    for (const name of examples) {
      const bytes = readExample(name);
      const prepareAs = (importMemory: boolean): Guest => {
        const prepared = prepareWasm(bytes, {
          limits: DEFAULT_MODULE_LIMITS,
          memoryCeilingPages: 256,
          importMemory,
        });
        return { module: new WebAssembly.Module(prepared.bytes), info: prepared.info };
      };
      const defining = prepareAs(false);
      const importing = prepareAs(true);
      assert.equal(linkPlanFor(defining.module).memoryShape, null);
      assert.notEqual(linkPlanFor(importing.module).memoryShape, null);
      const bodies = ['', 'x', randomBytes(40).toString('hex'), '10', 'héllo 🌍'];
      for (const body of bodies) {
        const spec = specFor({
          stdin: encodeRequest(
            buildRequest({ method: 'POST', uri: '/?name=a&n=12', body, trace_id: '7'.repeat(32) }),
          ),
          reuseInstances: false,
          limits: { fuel: 100_000_000n },
        });
        const reference = runInvocation(defining.module, defining.info, spec);
        assert.equal(reference.ok, true, `${name}: ${JSON.stringify(reference.error)}`);
        const expected = observable(reference);
        // Twice: the second run is on the first one's recycled memory.
        for (let i = 0; i < 2; i++) {
          const outcome = runInvocation(importing.module, importing.info, spec);
          assert.deepEqual(observable(outcome), expected, `${name} ${JSON.stringify(body)} run ${i}`);
        }
      }
      assert.equal(threadMemoryPool.stats().modules > 0, true);
    }
  });
});
