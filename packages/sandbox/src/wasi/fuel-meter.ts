/**
 * The invocation's fuel, kept in the guest's own exported i64 global (`__gojinn_fuel`, see
 * meter-abi.ts) so that host-side charges and the instrumented guest code draw from one budget.
 */
export class FuelMeter {
  readonly limit: bigint;
  readonly #global: WebAssembly.Global;

  /** Sets the global to `limit`: nothing the guest runs before this is metered, so call it before any guest code. */
  constructor(global: WebAssembly.Global, limit: bigint) {
    this.#global = global;
    this.limit = limit;
    global.value = limit;
  }

  remaining(): bigint {
    return this.#global.value as bigint;
  }

  /** Fuel consumed so far; the full limit once exhausted (the overdraft is not the guest's to report). */
  used(): bigint {
    const remaining = this.remaining();
    return remaining < 0n ? this.limit : this.limit - remaining;
  }

  /** Subtracts `units`. Returns false when that left the budget below zero (the global stays negative). */
  tryCharge(units: bigint): boolean {
    const remaining = (this.#global.value as bigint) - units;
    this.#global.value = remaining;
    return remaining >= 0n;
  }
}
