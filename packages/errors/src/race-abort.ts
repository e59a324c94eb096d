/**
 * `promise`'s outcome, or a rejection as soon as `signal` aborts — for work that cannot itself be
 * cancelled (a DNS lookup, a shared load others still wait for, a stream being opened): the
 * caller that gave up is released at once, the work goes on for whoever else awaits it. The
 * abort listener is removed when the promise settles, so a long-lived signal collects none.
 *
 * The rejection is `reasonOf(signal)` (default: the signal's own reason). A non-Error rejection
 * of `promise` is wrapped in an Error, so callers always catch Errors.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  reasonOf: (signal: AbortSignal) => Error = (aborted) => aborted.reason as Error,
): Promise<T> {
  if (signal.aborted) return Promise.reject(reasonOf(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
