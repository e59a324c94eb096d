export { ERRNO, type Errno } from './errno.ts';
export {
  DEFAULT_PROGRAM_NAME,
  MAX_IOVECS,
  MAX_POLL_SUBSCRIPTIONS,
  WASI_BYTE_FUEL,
  WASI_CALL_FUEL,
} from './costs.ts';
export { WASI_SIGNATURES, type WasiSignature } from './signatures.ts';
export { FuelMeter } from './fuel-meter.ts';
export { GuestFault, GuestMemory } from './guest-memory.ts';
export { GuestHalt, type HaltReason } from './halt.ts';
export { OutputBuffer } from './output-buffer.ts';
export { SeededRandom } from './seeded-random.ts';
export {
  CLOCK_ID,
  CLOCK_READ_STEP_NS,
  CLOCK_RESOLUTION_NS,
  MONOTONIC_WINDOW_NS,
  NS_PER_FUEL,
  REALTIME_EPOCH_NS,
  REALTIME_WINDOW_NS,
  VirtualClock,
} from './virtual-clock.ts';
export { STDERR, STDIN, STDOUT, WasiContext, type WasiContextInit } from './wasi-context.ts';
export { createPreview1Imports, type WasiBinding, type WasiFunction } from './preview1.ts';
