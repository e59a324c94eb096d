/** raceAbort: the promise's outcome, or the abort's reason at once; no listener is left behind. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { raceAbort } from '../src/index.ts';

void test('settles with the promise when the signal never fires, and removes its listener', async () => {
  const controller = new AbortController();
  assert.equal(await raceAbort(Promise.resolve(7), controller.signal), 7);
  await assert.rejects(raceAbort(Promise.reject(new Error('boom')), controller.signal), /boom/);
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
});

void test('rejects with the reason as soon as the signal fires, while the promise is still pending', async () => {
  const controller = new AbortController();
  const pending = new Promise<number>(() => undefined);
  const raced = raceAbort(pending, controller.signal);
  controller.abort(new Error('caller left'));
  await assert.rejects(raced, /caller left/);
});

void test('an already aborted signal rejects without waiting; reasonOf shapes the rejection', async () => {
  const controller = new AbortController();
  controller.abort(new Error('first'));
  await assert.rejects(raceAbort(Promise.resolve(1), controller.signal), /first/);
  await assert.rejects(
    raceAbort(Promise.resolve(1), controller.signal, () => new RangeError('mapped')),
    (error: unknown) => error instanceof RangeError && error.message === 'mapped',
  );
});

void test('a non-Error rejection comes back as an Error', async () => {
  const controller = new AbortController();
  await assert.rejects(
    raceAbort(Promise.reject('plain string'), controller.signal),
    (error: unknown) => error instanceof Error && error.message === 'plain string',
  );
});
