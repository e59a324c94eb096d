import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { entryKey, listRange, namespaceOf, userKeyOf, usageKey } from '../src/kv/kv-keys.ts';

// Owners drawn to collide on purpose: separators, escapes, and names that are prefixes of each other.
const partArb = fc.string({
  unit: fc.constantFrom('a', '/', '%', '2', 'F', ':', 'e', 'u', '.'),
  minLength: 1,
  maxLength: 6,
});
const ownerArb = fc.record({ publisher: partArb, name: partArb });
const keyArb = fc.uint8Array({ minLength: 1, maxLength: 8 });

function inRange(key: string, range: { gte?: string; gt?: string; lt: string }): boolean {
  if (range.gte !== undefined && key < range.gte) return false;
  if (range.gt !== undefined && key <= range.gt) return false;
  return key < range.lt;
}

void test('stored keys are injective in (owner, key) and never fall in another owner’s ranges', () => {
  fc.assert(
    fc.property(
      ownerArb,
      keyArb,
      ownerArb,
      keyArb,
      fc.uint8Array({ maxLength: 3 }),
      (o1, k1, o2, k2, prefix) => {
        const ns1 = namespaceOf(o1);
        const ns2 = namespaceOf(o2);
        const a = entryKey(ns1, k1);
        const b = entryKey(ns2, k2);
        const same = ns1 === ns2 && Buffer.compare(k1, k2) === 0;
        assert.equal(a === b, same);
        if (ns1 !== ns2) {
          assert.notEqual(o1.publisher === o2.publisher && o1.name === o2.name, true);
          assert.equal(inRange(a, listRange(ns2, prefix, undefined)), false);
          assert.equal(inRange(a, listRange(ns2, new Uint8Array(0), k2)), false);
          assert.equal(userKeyOf(ns2, a), undefined);
          assert.notEqual(a, usageKey(ns2));
        } else {
          assert.deepEqual(userKeyOf(ns1, a), new Uint8Array(k1));
        }
      },
    ),
    { numRuns: 2000 },
  );
});

void test('entry keys keep the bytewise order of user keys, so list ranges are exact', () => {
  fc.assert(
    fc.property(ownerArb, keyArb, keyArb, fc.uint8Array({ maxLength: 3 }), (owner, k1, k2, prefix) => {
      const ns = namespaceOf(owner);
      const order = Math.sign(Buffer.compare(k1, k2));
      const a = entryKey(ns, k1);
      const b = entryKey(ns, k2);
      assert.equal(a < b ? -1 : a > b ? 1 : 0, order);
      const startsWith = Buffer.from(k1).subarray(0, prefix.byteLength).equals(prefix);
      assert.equal(inRange(a, listRange(ns, prefix, undefined)), startsWith);
      assert.equal(inRange(a, listRange(ns, prefix, k2)), startsWith && order > 0);
    }),
    { numRuns: 2000 },
  );
});
