/**
 * The worker pool and the host-call bridge (docs/sandbox-pool.md). `WorkerPool` runs
 * invocations in worker threads with a wall-clock timeout; `callHost` is the worker-side half
 * of the bridge, for host functions that must reach an async handler on the main thread.
 */
export { WorkerPool, type CloseOptions, type RunOptions } from './worker-pool.ts';
export type { PooledModule } from './worker-slot.ts';
export {
  DEFAULT_POOL_OPTIONS,
  MAX_HOST_METHOD_LENGTH,
  RESULT_POLL_MS,
  defaultPoolSize,
  type PoolOptions,
} from './pool-options.ts';
export type { HostHandler, HostHandlerContext } from './host-call-server.ts';
export { callHost } from './call-host.ts';
export type { PoolTaskRunner } from './task-runner.ts';
