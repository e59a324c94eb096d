/**
 * atDeadline fires once Date.now() has reached the deadline, never before, and not after cancel;
 * deadlineSignal aborts by the same rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atDeadline, deadlineSignal } from '../src/deadline-timer.ts';

void test('fires at or after the deadline by the wall clock, even when the loop is busy when it is armed', async () => {
  for (let round = 0; round < 20; round++) {
    const deadline = Date.now() + 5;
    const firedAt = await new Promise<number>((resolve) => {
      atDeadline(deadline, () => resolve(Date.now()));
      // A busy turn after arming: the loop's cached time lags behind the wall clock.
      const until = Date.now() + 8;
      while (Date.now() < until);
    });
    assert.ok(firedAt >= deadline, `fired at ${firedAt}, deadline ${deadline}`);
  }
});

void test('a past deadline fires on the next turn; a cancelled timer never fires', async () => {
  let fired = 0;
  await new Promise<void>((resolve) => atDeadline(Date.now() - 10, () => resolve()));
  const timer = atDeadline(Date.now() + 5, () => fired++);
  timer.cancel();
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(fired, 0);
});

void test('deadlineSignal aborts with a TimeoutError once the wall clock reaches the deadline, never before', async () => {
  for (let round = 0; round < 10; round++) {
    const deadline = Date.now() + 5;
    const signal = deadlineSignal(deadline);
    const until = Date.now() + 8;
    while (Date.now() < until);
    assert.equal(signal.aborted, false, 'aborts on a later turn, not while this one runs');
    const abortedAt = await new Promise<number>((resolve) =>
      signal.addEventListener('abort', () => resolve(Date.now()), { once: true }),
    );
    assert.ok(abortedAt >= deadline);
    assert.equal((signal.reason as DOMException).name, 'TimeoutError');
  }
});
