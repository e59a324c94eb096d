/**
 * Instance reuse with the AssemblyScript example guests (real toolchain output: a runtime with a
 * heap, a shadow stack and internal globals), in this thread and through the worker pool: a
 * reused instance is restored to exactly a fresh instance's memory and globals, and outcomes
 * (response, fuelUsed, stderr, errors) are identical with reuse on and off.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, beforeEach, describe, test } from 'node:test';
import fc from 'fast-check';
import { readExample } from '../../../test/support/guests.ts';
import { Sandbox, type RequestInput } from '../src/sandbox.ts';
import { linkPlanFor, threadInstancePool, type InvocationOutcome } from '../src/runtime/index.ts';
import { keeperInput, contains, exportingAllGlobals, secretKeeperWat } from './runtime-reuse-guests.ts';
import { assemble } from './fixtures/wat-guest.ts';

const SEED = 'ab'.repeat(32);
/** The examples that need no capability (the others cannot link without a host behind them). */
const SELF_CONTAINED = ['fib', 'hello', 'inspect', 'sha256'] as const;
/** A fixed trace id: without one every request gets a random id, and outcomes could not be compared. */
const TRACE_ID = 'cd'.repeat(16);
const reusing = new Sandbox();
const freshOnly = new Sandbox({ reuseInstances: false });

function observable(outcome: InvocationOutcome): unknown {
  const { durationMs, ...rest } = outcome;
  assert.ok(durationMs >= 0);
  return { ...rest, stderr: Buffer.from(rest.stderr).toString('base64') };
}

/** Every global value and every byte of memory an instance holds. */
function stateOf(instance: WebAssembly.Instance): { memory: Buffer; globals: Record<string, unknown> } {
  const globals: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(instance.exports)) {
    if (value instanceof WebAssembly.Global) globals[name] = value.value;
  }
  const memory = instance.exports.memory as WebAssembly.Memory;
  return { memory: Buffer.from(new Uint8Array(memory.buffer).slice()), globals };
}

beforeEach(() => threadInstancePool.clear());

void describe('AssemblyScript guests in this thread', () => {
  void test('inspect: after echoing a secret, the instance is restored to a fresh instance, byte for byte', () => {
    const bytes = exportingAllGlobals(readExample('inspect'));
    const prepared = reusing.prepare(bytes);
    assert.ok(Object.keys(WebAssembly.Module.exports(prepared.module)).length > 0);
    const secret = `secret-${randomBytes(12).toString('hex')}`;
    const echoed = reusing.invokeInThread(
      prepared,
      { method: 'POST', body: secret, trace_id: TRACE_ID },
      { seed: SEED },
    );
    assert.equal(echoed.ok, true, JSON.stringify(echoed.error));
    assert.ok(echoed.response?.body.includes(secret), 'the secret went through guest memory');
    assert.equal(threadInstancePool.stats().idleInstances, 1);

    const restored = threadInstancePool.take(prepared.module);
    assert.ok(restored, 'the instance that echoed the secret was kept');
    const reused = stateOf(restored);
    const fresh = stateOf(
      new WebAssembly.Instance(prepared.module, linkPlanFor(prepared.module).importObject),
    );
    assert.ok(Object.keys(fresh.globals).filter((name) => name.startsWith('test_global_')).length >= 10);
    assert.deepEqual(reused.globals, fresh.globals);
    assert.equal(reused.memory.equals(fresh.memory), true, 'memory equals a fresh instance');
    assert.equal(contains(reused.memory, Buffer.from(secret, 'utf8')), false);
    assert.equal(contains(reused.memory, Buffer.from(secret, 'utf16le')), false);

    assert.equal(threadInstancePool.give(prepared.module, restored), true);
    const next = reusing.invokeInThread(prepared, { uri: '/next', trace_id: TRACE_ID }, { seed: SEED });
    assert.equal(threadInstancePool.stats().idleInstances, 1, 'the next invocation reused it');
    const alone = freshOnly.invokeInThread(
      freshOnly.prepare(bytes),
      { uri: '/next', trace_id: TRACE_ID },
      { seed: SEED },
    );
    assert.deepEqual(observable(next), observable(alone));
  });

  void test('inspect: any request body gives the same outcome with reuse on and off', () => {
    const onModule = reusing.prepare(readExample('inspect'));
    const offModule = freshOnly.prepare(readExample('inspect'));
    const body = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.json({ maxDepth: 4 }),
      fc.constantFrom('', '{', '[1,2', '"\\ud800"', '{"a":' + '['.repeat(40)),
    );
    const request = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT'),
      uri: fc.constantFrom('/', '/a?b=c', '/x?name=%F0%9F%98%80&n=1'),
      body,
      trace_id: fc.constant(TRACE_ID),
    });
    fc.assert(
      fc.property(request, (req: RequestInput) => {
        const reused = reusing.invokeInThread(onModule, req, { seed: SEED });
        const alone = freshOnly.invokeInThread(offModule, req, { seed: SEED });
        assert.deepEqual(observable(reused), observable(alone));
      }),
      { numRuns: 150 },
    );
    assert.equal(threadInstancePool.stats().idleInstances, 1, 'one instance served every reused run');
  });

  for (const name of SELF_CONTAINED) {
    void test(`${name}: outcomes and fuel are identical with reuse on and off, run after run`, () => {
      const onModule = reusing.prepare(readExample(name));
      const offModule = freshOnly.prepare(readExample(name));
      const requests: RequestInput[] = [
        { trace_id: TRACE_ID },
        { uri: '/?name=ada&n=20', trace_id: TRACE_ID },
        { method: 'POST', body: 'x'.repeat(5000), trace_id: TRACE_ID },
      ];
      for (let round = 0; round < 3; round++) {
        for (const req of requests) {
          const reused = reusing.invokeInThread(onModule, req, { seed: SEED });
          const alone = freshOnly.invokeInThread(offModule, req, { seed: SEED });
          assert.deepEqual(observable(reused), observable(alone));
        }
      }
      assert.equal(threadInstancePool.stats().modules, 1, `${name} is reused`);
    });
  }
});

void describe('through the worker pool', () => {
  const pooledOn = new Sandbox({ pool: { size: 1 } });
  const pooledOff = new Sandbox({ pool: { size: 1 }, reuseInstances: false });
  after(async () => {
    await pooledOn.close();
    await pooledOff.close();
  });

  void test('inspect: a stream of random requests gives identical outcomes with reuse on and off', async () => {
    const onModule = pooledOn.prepare(readExample('inspect'));
    const offModule = pooledOff.prepare(readExample('inspect'));
    const bodies = fc.sample(fc.string({ unit: 'binary', maxLength: 200 }), { numRuns: 40, seed: 7 });
    for (const body of bodies) {
      const [reused, alone] = await Promise.all([
        pooledOn.invoke(onModule, { method: 'POST', body, trace_id: TRACE_ID }, { seed: SEED }),
        pooledOff.invoke(offModule, { method: 'POST', body, trace_id: TRACE_ID }, { seed: SEED }),
      ]);
      assert.deepEqual(observable(reused), observable(alone));
    }
  });

  void test('the secret keeper: after a run hiding a secret, the next run in the worker sees a fresh state', async () => {
    const bytes = assemble(secretKeeperWat(false));
    const onModule = pooledOn.prepare(bytes);
    const limits = { maxStderrBytes: 4 * 65536 };
    const fresh = freshOnly.invokeInThread(freshOnly.prepare(bytes), keeperInput('D'), {
      seed: SEED,
      limits,
    });
    assert.equal(fresh.ok, true, JSON.stringify(fresh.error));
    for (let i = 0; i < 5; i++) {
      const secret = randomBytes(16);
      const hid = await pooledOn.invoke(onModule, keeperInput('W', secret), { seed: SEED, limits });
      assert.equal(contains(hid.stderr, secret), true);
      const dump = await pooledOn.invoke(onModule, keeperInput('D'), { seed: SEED, limits });
      assert.equal(contains(dump.stderr, secret), false);
      assert.deepEqual(observable(dump), observable(fresh));
    }
  });
});
