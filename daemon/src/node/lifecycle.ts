/**
 * Graceful shutdown as a stack: each part registers how to close itself right after it opened,
 * and `run` closes them newest first — so the gateway stops accepting and drains before the
 * pool it calls into closes, and the store (which everything writes to) closes last. A start
 * that fails half-way runs the same stack, so it leaves no port bound and no store locked.
 */
export class Shutdown {
  readonly #steps: { name: string; close: () => Promise<void> }[] = [];
  #running: Promise<void> | undefined;

  /** Registers a part to close; parts close in the reverse order of registration. */
  add(name: string, close: () => Promise<void>): void {
    if (this.#running !== undefined) throw new Error(`shutdown already started; cannot add ${name}`);
    this.#steps.push({ name, close });
  }

  /**
   * Closes every registered part, newest first. A part that fails does not stop the others from
   * closing; the first failure is rethrown (naming the part) once all have run. Idempotent: a
   * second call returns the first call's promise.
   */
  run(): Promise<void> {
    this.#running ??= this.#closeAll();
    return this.#running;
  }

  async #closeAll(): Promise<void> {
    const failures: Error[] = [];
    for (const { name, close } of this.#steps.toReversed()) {
      try {
        await close();
      } catch (error) {
        failures.push(new Error(`closing the ${name} failed: ${(error as Error).message}`, { cause: error }));
      }
    }
    if (failures.length > 0) throw failures[0] as Error;
  }
}
