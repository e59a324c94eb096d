export { runInvocation } from './run-invocation.ts';
export { checkGrants, importsWithMemory, linkPlanFor, type HostImport, type LinkPlan } from './linker.ts';
export {
  DEFAULT_MEMORY_RECYCLING_LIMITS,
  MemoryPool,
  threadMemoryPool,
  type MemoryPoolStats,
  type MemoryRecyclingLimits,
} from './memory-pool.ts';
export { HOST_CALL_FUEL, LOG_LEVELS } from './host-call-frame.ts';
export {
  DEFAULT_INSTANCE_REUSE_LIMITS,
  InstancePool,
  threadInstancePool,
  type InstancePoolStats,
  type InstanceReuseLimits,
} from './instance-pool.ts';
export { classifyFailure, type MeterReadings } from './failure.ts';
export { DEFAULT_REQUEST, buildRequest, encodeRequest, newTraceId } from './request.ts';
export { MAX_STATUS, MIN_STATUS, guestResponseFrom, parseGuestResponse } from './response.ts';
export { RANDOM_BLOCK_BYTES, randomHex } from './random-hex.ts';
export { SEED_BYTES, newSeed, parseSeed } from './seed.ts';
export type {
  GuestRequest,
  GuestResponse,
  HostCallContext,
  HostFunction,
  HostImports,
  InvocationOutcome,
  InvocationSpec,
  RuntimeModuleInfo,
} from './types.ts';
