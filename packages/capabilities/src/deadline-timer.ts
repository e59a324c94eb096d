/**
 * A timer for an epoch-ms deadline that never fires before `Date.now()` reaches it.
 *
 * `setTimeout(fn, deadline - Date.now())` can fire a little early by the wall clock: Node
 * measures the delay from the event loop's cached time, which lags behind while a turn runs.
 * A query stopped "at the deadline" a moment before the dispatcher's own clock reads the
 * deadline would let the guest's next host call start in the gap; re-arming until the clock
 * agrees closes it (one extra timer at most, in practice).
 */
export interface DeadlineTimer {
  cancel(): void;
}

/** `unref`: the timer alone does not keep the process running (as AbortSignal.timeout's). */
export function atDeadline(
  deadline: number,
  fire: () => void,
  options: { unref?: boolean } = {},
): DeadlineTimer {
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    timer = setTimeout(
      () => {
        if (Date.now() >= deadline) fire();
        else arm();
      },
      Math.max(0, deadline - Date.now()),
    );
    if (options.unref === true) timer.unref();
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}

/**
 * An AbortSignal that aborts (with a TimeoutError, like AbortSignal.timeout's) once `Date.now()`
 * has reached `deadline`, never before: what a host call's backend sees as its deadline.
 */
export function deadlineSignal(deadline: number): AbortSignal {
  const controller = new AbortController();
  atDeadline(deadline, () => controller.abort(new DOMException('the deadline passed', 'TimeoutError')), {
    unref: true,
  });
  return controller.signal;
}
