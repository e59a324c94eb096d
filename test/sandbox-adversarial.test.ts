/**
 * The adversarial suite through the public Sandbox API and its worker pool — the path a node
 * serves with. Each hostile guest must end with exactly its error code, and the same sandbox
 * must go on serving an ordinary guest right after it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import {
  DEFAULT_MODULE_LIMITS,
  Sandbox,
  type InvocationLimits,
  type InvocationOutcome,
  type PreparedModule,
} from '@gojinn/sandbox';
import {
  minimalCommand,
  moduleOfSize,
  truncatedModule,
  withBadMagic,
  withBadSectionId,
  withBadVersion,
  withTrailingGarbage,
} from './support/fixtures.ts';
import { readExample } from './support/guests.ts';
import { listFixtures, loadFixture, readFixtureHeader } from './support/wat.ts';

/** Enough for every fixture that ends on its own (memory-cpu-hungry needs ~1.1e8 fuel). */
const FUEL = 200_000_000n;
const SEED = '5eed'.repeat(16);

let sandbox: Sandbox;
let hello: PreparedModule;

before(() => {
  sandbox = new Sandbox({ pool: { size: 2 }, defaults: { fuel: FUEL, timeoutMs: 20_000 } });
  hello = sandbox.prepare(readExample('hello'));
});
after(() => sandbox.close());

/** The outcome of preparing and invoking through the pool; a refusal while preparing becomes an outcome too. */
async function attempt(
  bytes: Uint8Array,
  limits: Partial<InvocationLimits> = {},
): Promise<InvocationOutcome> {
  try {
    return await sandbox.invoke(sandbox.prepare(bytes), {}, { limits, seed: SEED });
  } catch (error) {
    if (!(error instanceof GojinnError)) throw error;
    return {
      ok: false,
      error: error.toJSON(),
      fuelUsed: 0n,
      durationMs: 0,
      seed: SEED,
      stderr: new Uint8Array(0),
      stderrTruncated: false,
      deterministic: true,
    };
  }
}

const codeOf = (outcome: InvocationOutcome): string => (outcome.ok ? 'ok' : (outcome.error?.code ?? '?'));

async function assertStillServing(): Promise<void> {
  const outcome = await sandbox.invoke(hello, { uri: '/?name=next' });
  assert.equal(codeOf(outcome), 'ok', `the sandbox stopped serving: ${outcome.error?.message ?? ''}`);
  assert.equal(outcome.response?.status, 200);
}

void describe('every fixture ends with its code through the pool, and the pool keeps serving', () => {
  for (const name of listFixtures()) {
    void test(name, async () => {
      const { expect } = readFixtureHeader(name);
      const outcome = await attempt(await loadFixture(name));
      assert.equal(codeOf(outcome), expect, `${name}: ${outcome.error?.message ?? ''}`);
      if (!outcome.ok) assert.ok((outcome.error?.message.length ?? 0) > 0, 'the message says what happened');
      await assertStillServing();
    });
  }
});

void describe('the timeout stops what fuel would not stop in time', () => {
  const unlimitedFuel = { fuel: 2n ** 62n, timeoutMs: 300 };
  for (const name of ['loop-in-start-export', 'loop-in-start-function']) {
    void test(`${name} with unbounded fuel ⇒ timeout`, async () => {
      const outcome = await attempt(await loadFixture(name), unlimitedFuel);
      assert.equal(codeOf(outcome), 'timeout', outcome.error?.message);
      assert.match(outcome.error?.message ?? '', /300 ms/);
      await assertStillServing();
    });
  }
});

void describe('limit errors name the limit', () => {
  void test('fuel', async () => {
    const outcome = await attempt(await loadFixture('loop-in-start-export'), { fuel: 12_345n });
    assert.equal(codeOf(outcome), 'fuel_exhausted');
    assert.match(outcome.error?.message ?? '', /12345/);
    assert.equal(outcome.fuelUsed, 12_345n);
  });
  void test('memory', async () => {
    const outcome = await attempt(await loadFixture('memory-grow-bomb'), { memoryBytes: 2 * 1024 * 1024 });
    assert.equal(codeOf(outcome), 'memory_limit');
    assert.match(outcome.error?.message ?? '', /32 pages|2097152/);
  });
  void test('stdout', async () => {
    const outcome = await attempt(await loadFixture('stdout-flood'), { maxStdoutBytes: 1000 });
    assert.equal(codeOf(outcome), 'output_limit');
    assert.match(outcome.error?.message ?? '', /1000/);
  });
});

void describe('determinism', () => {
  void test('the same module, request and seed give identical responses and fuel over 100 runs (through tier-up)', async () => {
    const sha = sandbox.prepare(readExample('sha256'));
    const request = { uri: '/?n=3', body: 'determinism', trace_id: '0'.repeat(32) };
    const first = sandbox.invokeInThread(sha, request, { seed: SEED });
    assert.equal(codeOf(first), 'ok', first.error?.message);
    for (let run = 0; run < 100; run++) {
      const again =
        run % 2 === 0
          ? sandbox.invokeInThread(sha, request, { seed: SEED })
          : await sandbox.invoke(sha, request, { seed: SEED });
      assert.equal(again.fuelUsed, first.fuelUsed, `run ${run}`);
      assert.deepEqual(again.response, first.response, `run ${run}`);
    }
  });

  void test('a recursion bomb overflows at the same point every time, in-thread and in workers', async () => {
    const bomb = sandbox.prepare(await loadFixture('deep-recursion'));
    const fuels = new Set<bigint>();
    for (let run = 0; run < 40; run++) {
      const outcome =
        run % 2 === 0
          ? sandbox.invokeInThread(bomb, {}, { seed: SEED })
          : await sandbox.invoke(bomb, {}, { seed: SEED });
      assert.equal(codeOf(outcome), 'stack_overflow', outcome.error?.message);
      fuels.add(outcome.fuelUsed);
    }
    assert.equal(fuels.size, 1, `fuel at overflow varied: ${[...fuels].join(', ')}`);
  });
});

void describe('isolation', () => {
  void test('a memory- and CPU-hungry guest beside hello does not make hello fail', async () => {
    const hungry = sandbox.prepare(await loadFixture('memory-cpu-hungry'));
    const hungryRuns = Array.from({ length: 4 }, () => sandbox.invoke(hungry, {}));
    const helloRuns = Array.from({ length: 50 }, (_, i) => sandbox.invoke(hello, { uri: `/?name=n${i}` }));
    for (const outcome of await Promise.all(helloRuns))
      assert.equal(codeOf(outcome), 'ok', outcome.error?.message);
    for (const outcome of await Promise.all(hungryRuns))
      assert.equal(codeOf(outcome), 'ok', outcome.error?.message);
  });

  void test('no data of one invocation is visible to the next (fresh instance each time)', async () => {
    const inspect = sandbox.prepare(readExample('inspect'));
    const secret = 'first-invocation-secret-' + 'x'.repeat(40);
    const one = await sandbox.invoke(inspect, { body: secret });
    assert.match(one.response?.body ?? '', new RegExp(secret));
    for (let i = 0; i < 10; i++) {
      const next = await sandbox.invoke(inspect, { body: 'other' });
      assert.doesNotMatch(next.response?.body ?? '', /first-invocation-secret/);
    }
  });
});

void describe('malformed and oversized modules are refused with invalid_module, and the pool keeps serving', () => {
  const valid = minimalCommand();
  const limit = DEFAULT_MODULE_LIMITS.maxModuleBytes;
  for (const [label, bytes] of [
    ['truncated', truncatedModule(valid)],
    ['bad magic', withBadMagic(valid)],
    ['bad version', withBadVersion(valid)],
    ['unknown section id', withBadSectionId(valid)],
    ['trailing garbage', withTrailingGarbage(valid)],
    ['empty', new Uint8Array(0)],
    ['one byte over maxModuleBytes', moduleOfSize(limit + 1)],
  ] as const) {
    void test(label, async () => {
      const outcome = await attempt(bytes);
      assert.equal(codeOf(outcome), 'invalid_module', outcome.error?.message);
      await assertStillServing();
    });
  }

  void test('exactly maxModuleBytes is accepted', () => {
    assert.doesNotThrow(() => sandbox.prepare(moduleOfSize(limit)));
  });
});
