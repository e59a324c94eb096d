/**
 * A token bucket for one peer's call rate: it holds at most `ratePerSecond` tokens (a burst of
 * one second's worth) and refills continuously at `ratePerSecond`. Time comes from the caller
 * (monotonic milliseconds), so tests can stand exactly at a limit.
 */
export class TokenBucket {
  // In thousandths of a token: with whole-millisecond times every step is an integer, so a
  // call exactly at a refill boundary is admitted (no floating-point drift).
  #rate: number;
  #milliTokens: number;
  #at: number;

  constructor(ratePerSecond: number, now: number) {
    this.#rate = ratePerSecond;
    this.#milliTokens = ratePerSecond * 1000;
    this.#at = now;
  }

  /** A new rate keeps the tokens already earned, capped at the new burst. */
  setRate(ratePerSecond: number, now: number): void {
    this.#refill(now);
    this.#rate = ratePerSecond;
    this.#milliTokens = Math.min(this.#milliTokens, ratePerSecond * 1000);
  }

  /** Takes one token: 0 when taken, else the milliseconds until one is available. */
  take(now: number): number {
    this.#refill(now);
    if (this.#milliTokens >= 1000) {
      this.#milliTokens -= 1000;
      return 0;
    }
    return Math.max(1, Math.ceil((1000 - this.#milliTokens) / this.#rate));
  }

  /** True when the bucket is full (nothing to remember about this peer's rate). */
  full(now: number): boolean {
    this.#refill(now);
    return this.#milliTokens >= this.#rate * 1000;
  }

  #refill(now: number): void {
    const elapsed = now - this.#at;
    if (elapsed > 0) {
      // rate tokens per second = rate thousandths per millisecond.
      this.#milliTokens = Math.min(this.#rate * 1000, this.#milliTokens + elapsed * this.#rate);
      this.#at = now;
    }
  }
}
