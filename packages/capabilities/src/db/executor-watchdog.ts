/**
 * A thread inside each SQLite executor process that kills the process when the node cannot:
 * SQLite runs on the executor's main thread and blocks it for as long as a statement runs, but
 * this thread keeps its own event loop. It SIGKILLs its own process when
 *
 * - the running query is past its deadline by more than the grace period (the node normally
 *   kills the executor AT the deadline; this covers a node that is itself stuck), or
 * - the node is gone (the parent pid changed): a query that never ends would otherwise keep an
 *   orphan burning a core after `kill -9` of the node.
 *
 * Shared with the executor's main thread: a Float64Array of one element, the running query's
 * deadline in epoch ms, 0 while idle.
 */
import { workerData } from 'node:worker_threads';

/** How often the watchdog looks, in ms: the self-kill happens at most this late. */
export const WATCHDOG_INTERVAL_MS = 50;

interface WatchdogData {
  deadline: SharedArrayBuffer;
  graceMs: number;
  parentPid: number;
}

const data = workerData as WatchdogData | undefined;
if (data !== undefined) {
  const deadline = new Float64Array(data.deadline);
  setInterval(() => {
    const due = deadline[0] ?? 0;
    const overdue = due !== 0 && Date.now() > due + data.graceMs;
    if (overdue || process.ppid !== data.parentPid) process.kill(process.pid, 'SIGKILL');
  }, WATCHDOG_INTERVAL_MS);
}
