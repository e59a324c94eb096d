export { DEFAULT_STOP_DRAIN_MS, startNode, type RunningNode, type StartNodeOptions } from './start-node.ts';
export { Shutdown } from './lifecycle.ts';
export * from './dev-node.ts';
