import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GojinnError } from '@gojinn/errors';
import { nextState, pinnedState, unpinnedState } from '@gojinn/registry';
import type { ModuleState } from '@gojinn/store';
import semver from 'semver';

const version = fc
  .tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.option(fc.constantFrom('alpha', 'rc.1'), { nil: undefined }))
  .map(([major, minor, patch, pre]) => `${major}.${minor}.${patch}${pre === undefined ? '' : `-${pre}`}`);

void test('without a pin, an install succeeds exactly when it is above every version before it', () => {
  fc.assert(
    fc.property(fc.array(version, { maxLength: 30 }), (versions) => {
      let state: ModuleState | undefined;
      let highest: string | undefined;
      for (const v of versions) {
        const shouldPass = highest === undefined || semver.gt(v, highest);
        try {
          state = nextState(state, undefined, v, `m@${v}`);
          assert.ok(shouldPass, `${v} accepted after ${highest}`);
          highest = v;
          assert.deepEqual(state, { active: v, highest: v });
        } catch (error) {
          assert.ok(error instanceof GojinnError && error.code === 'rollback', String(error));
          assert.ok(!shouldPass, `${v} refused after ${highest}`);
        }
      }
    }),
  );
});

void test('a pinned version is always accepted, and stays active while higher versions arrive', () => {
  fc.assert(
    fc.property(version, version, fc.array(version, { maxLength: 10 }), (first, pin, later) => {
      let state = nextState(undefined, undefined, first, 'm');
      if (semver.eq(pin, first)) return;
      state = nextState(state, pin, pin, 'm');
      assert.equal(state.active, pin);
      const bar = state.highest;
      assert.equal(bar, semver.gt(pin, first) ? pin : first);
      for (const v of later) {
        if (v === pin) continue;
        try {
          state = nextState(state, pin, v, 'm');
          assert.equal(state.active, pin, 'the pin holds');
        } catch (error) {
          assert.equal((error as GojinnError).code, 'rollback');
          assert.ok(semver.lte(v, state.highest));
        }
      }
      assert.deepEqual(unpinnedState(state), { active: state.highest, highest: state.highest });
    }),
  );
});

void test('pinning changes the active version only when the version is installed', () => {
  const state = { active: '2.0.0', highest: '2.0.0' };
  assert.deepEqual(pinnedState(state, '1.0.0', true), { active: '1.0.0', highest: '2.0.0' });
  assert.equal(pinnedState(state, '1.0.0', false), undefined);
  assert.equal(pinnedState(undefined, '1.0.0', false), undefined);
  assert.equal(unpinnedState(undefined), undefined);
});
