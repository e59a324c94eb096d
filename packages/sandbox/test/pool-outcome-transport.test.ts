import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostHandler } from '../src/pool/host-call-server.ts';
import { GUESTS, fixturePool, replyOf, specFor, type FixtureCall } from './pool-fixtures.ts';

const caller = GUESTS.hostCaller();
const echo: HostHandler = (_method, payload) => payload;

function calls(count: number, fill: number): FixtureCall[] {
  return Array.from({ length: count }, (_, i) => ({ method: 'echo', size: i + 1, fill }));
}

void test('outcomes too large for the outcome ring, or arriving while it is full, still arrive intact', async () => {
  // The smallest ring carries records up to ~2 KiB; 150 results make a ~4 KiB outcome.
  const pool = fixturePool({ size: 1, pipelineDepth: 16, resultRingBytes: 4096, maxQueue: 200 });
  try {
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        pool.run(caller, specFor(caller, { calls: calls(i % 3 === 0 ? 150 : 20, i + 1) }), {
          hostHandler: echo,
        }),
      ),
    );
    outcomes.forEach((outcome, i) => {
      const count = i % 3 === 0 ? 150 : 20;
      assert.deepEqual(
        replyOf(outcome).results,
        Array.from({ length: count }, (_, j) => ({ length: j + 1, sum: (j + 1) * (i + 1) })),
      );
    });
  } finally {
    await pool.close();
  }
});
