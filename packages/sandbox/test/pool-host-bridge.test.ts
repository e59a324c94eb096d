import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GojinnError } from '@gojinn/errors';
import { DEFAULT_POOL_OPTIONS, MAX_HOST_METHOD_LENGTH } from '../src/pool/pool-options.ts';
import type { HostHandler } from '../src/pool/host-call-server.ts';
import { callHost } from '../src/pool/call-host.ts';
import { GUESTS, fixturePool, replyOf, sleep, specFor, type FixtureCall } from './pool-fixtures.ts';

const caller = GUESTS.hostCaller();

/** Answers `size:N` with N bytes of 7, echoes anything else. */
const sized: HostHandler = async (method, payload) => {
  await Promise.resolve();
  const wanted = /^size:(\d+)$/.exec(method);
  return wanted ? new Uint8Array(Number(wanted[1])).fill(7) : payload;
};

function call(method: string, size = 1, fill = 1): FixtureCall {
  return { method, size, fill };
}

void test('a host call round-trips bytes through an async handler that sees method, payload and context', async () => {
  const pool = fixturePool({ size: 1 });
  try {
    const seen: string[] = [];
    const spec = specFor(caller, { calls: [call('echo', 5, 3), call('twice', 2, 9)] });
    const outcome = await pool.run(caller, spec, {
      hostHandler: async (method, payload, context) => {
        seen.push(
          `${method}:${payload.length}:${context.spec.moduleHash === caller.hash}:${context.signal.aborted}`,
        );
        await sleep(1);
        return method === 'twice' ? new Uint8Array([...payload, ...payload]) : payload;
      },
    });
    assert.deepEqual(replyOf(outcome).results, [
      { length: 5, sum: 15 },
      { length: 4, sum: 36 },
    ]);
    assert.deepEqual(seen, ['echo:5:true:false', 'twice:2:true:false']);
  } finally {
    await pool.close();
  }
});

void test('payloads and results exactly at their limits pass; one byte over fails with a message naming the limit', async () => {
  const limit = 64 * 1024;
  const pool = fixturePool({ size: 1, maxHostCallPayloadBytes: limit, maxHostCallResultBytes: limit });
  try {
    const atLimit = await pool.run(
      caller,
      specFor(caller, { calls: [call('echo', limit, 1), call(`size:${limit}`)] }),
      {
        hostHandler: sized,
      },
    );
    assert.deepEqual(replyOf(atLimit).results, [
      { length: limit, sum: limit },
      { length: limit, sum: 7 * limit },
    ]);

    const payloadOver = await pool.run(caller, specFor(caller, { calls: [call('echo', limit + 1, 1)] }), {
      hostHandler: sized,
    });
    assert.equal(payloadOver.ok, false);
    assert.equal(payloadOver.error?.code, 'output_limit');
    assert.match(
      payloadOver.error?.message ?? '',
      /echo payload is 65537 bytes; limit maxHostCallPayloadBytes is 65536/,
    );

    const resultOver = await pool.run(caller, specFor(caller, { calls: [call(`size:${limit + 1}`)] }), {
      hostHandler: sized,
    });
    assert.equal(resultOver.ok, false);
    assert.equal(resultOver.error?.code, 'internal');
    assert.match(
      resultOver.error?.message ?? '',
      /result is 65537 bytes; limit maxHostCallResultBytes is 65536/,
    );
    assert.equal(pool.workerRestarts, 0, 'limits are enforced without killing the worker');
  } finally {
    await pool.close();
  }
});

void test('the default limits carry a 1 MiB payload and a 1 MiB result', async () => {
  const pool = fixturePool({ size: 1 });
  try {
    const mib = DEFAULT_POOL_OPTIONS.maxHostCallResultBytes;
    const outcome = await pool.run(
      caller,
      specFor(caller, { calls: [call('echo', mib, 2), call(`size:${mib}`)] }),
      {
        hostHandler: sized,
      },
    );
    assert.deepEqual(replyOf(outcome).results, [
      { length: mib, sum: 2 * mib },
      { length: mib, sum: 7 * mib },
    ]);
  } finally {
    await pool.close();
  }
});

void test("a handler's GojinnError reaches the guest side with its code; any other throw arrives as a generic internal", async () => {
  const pool = fixturePool({ size: 1 });
  try {
    const denied = await pool.run(caller, specFor(caller, { calls: [call('kv_get')] }), {
      hostHandler: () => {
        throw new GojinnError('capability_denied', 'kv_get outside scope app/');
      },
    });
    assert.deepEqual(denied.error, { code: 'capability_denied', message: 'kv_get outside scope app/' });

    const leaky = await pool.run(caller, specFor(caller, { calls: [call('kv_get')] }), {
      hostHandler: async () => {
        throw new Error('ENOENT /etc/secret/path');
      },
    });
    assert.deepEqual(leaky.error, { code: 'internal', message: 'internal error' });

    const notBytes = await pool.run(caller, specFor(caller, { calls: [call('kv_get')] }), {
      hostHandler: async () => 'text' as unknown as Uint8Array,
    });
    assert.equal(notBytes.error?.code, 'internal');
  } finally {
    await pool.close();
  }
});

void test('without a host handler every host call is denied', async () => {
  const pool = fixturePool({ size: 1 });
  try {
    const outcome = await pool.run(caller, specFor(caller, { calls: [call('kv_get')] }));
    assert.equal(outcome.error?.code, 'capability_denied');
    assert.match(outcome.error?.message ?? '', /kv_get/);
  } finally {
    await pool.close();
  }
});

void test('many invocations making many concurrent host calls each get their own answers', async () => {
  const pool = fixturePool({ size: 2, pipelineDepth: 4, maxQueue: 256 });
  try {
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const calls = Array.from({ length: 5 }, (_, j) => call(`n${i}`, j + 1, (i % 200) + 1));
        return pool.run(caller, specFor(caller, { calls }), {
          hostHandler: async (method, payload) => {
            await sleep((i * 7) % 5);
            assert.equal(method, `n${i}`);
            return payload.map((byte) => byte + 1);
          },
        });
      }),
    );
    outcomes.forEach((outcome, i) => {
      const fill = (i % 200) + 2;
      assert.deepEqual(
        replyOf(outcome).results,
        [1, 2, 3, 4, 5].map((size) => ({ length: size, sum: size * fill })),
      );
    });
  } finally {
    await pool.close();
  }
});

void test("a handler that answers after its invocation timed out writes nothing into the replacement worker's calls", async () => {
  const pool = fixturePool({ size: 1 });
  try {
    const late = Promise.withResolvers<void>();
    let lateReturned = false;
    const timedOut = await pool.run(caller, specFor(caller, { timeoutMs: 50, calls: [call('slow')] }), {
      hostHandler: async () => {
        await late.promise;
        lateReturned = true;
        return new Uint8Array(16).fill(99);
      },
    });
    assert.equal(timedOut.error?.code, 'timeout');
    // The replacement worker is now blocked in a call of its own when the stale answer lands.
    const fresh = Promise.withResolvers<void>();
    const entered = Promise.withResolvers<void>();
    const next = pool.run(caller, specFor(caller, { calls: [call('fresh', 3, 1)] }), {
      hostHandler: async (_method, payload) => {
        entered.resolve();
        await fresh.promise;
        return payload;
      },
    });
    await entered.promise;
    late.resolve();
    await sleep(20);
    assert.equal(lateReturned, true);
    fresh.resolve();
    assert.deepEqual(replyOf(await next).results, [{ length: 3, sum: 3 }]);
  } finally {
    await pool.close();
  }
});

void test('callHost outside a pool invocation fails with internal instead of blocking', () => {
  assert.throws(
    () => callHost('kv_get', new Uint8Array(1)),
    (error: unknown) => error instanceof GojinnError && error.code === 'internal',
  );
});

void test('a method name of MAX_HOST_METHOD_LENGTH characters passes; one more fails with internal', async () => {
  const pool = fixturePool({ size: 1 });
  try {
    const atLimit = 'm'.repeat(MAX_HOST_METHOD_LENGTH);
    const seen: string[] = [];
    const handler: HostHandler = (method, payload) => {
      seen.push(method);
      return payload;
    };
    const ok = await pool.run(caller, specFor(caller, { calls: [call(atLimit)] }), { hostHandler: handler });
    assert.equal(ok.ok, true, JSON.stringify(ok.error));
    assert.deepEqual(seen, [atLimit]);
    const over = await pool.run(caller, specFor(caller, { calls: [call(`${atLimit}m`)] }), {
      hostHandler: handler,
    });
    assert.equal(over.error?.code, 'internal');
    assert.match(over.error?.message ?? '', /method name must be 1 to 128 characters/);
    assert.equal(seen.length, 1, 'the handler never saw the long name');
  } finally {
    await pool.close();
  }
});
