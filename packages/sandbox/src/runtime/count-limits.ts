/**
 * The per-thread pools' limits (instance-pool.ts, memory-pool.ts) are all counts and byte
 * sizes: defaults overridden field by field, each a non-negative safe integer, frozen.
 */
export function countLimits<T extends object>(defaults: Readonly<T>, overrides: Partial<T>): Readonly<T> {
  const merged = { ...defaults, ...overrides };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      throw new RangeError(`${name} must be a non-negative integer, got ${String(value)}`);
    }
  }
  return Object.freeze(merged);
}
