/**
 * Runs writes one at a time, in arrival order. Each install reads the install state, decides
 * (rollback rule) and writes; two installs of the same module interleaving between read and
 * write could both pass the rule, so registry writes never overlap.
 */
export class WriteQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
