import type { WasiBinding, WasiContext } from '../wasi/index.ts';
import type { HostCallFrame } from './host-call-frame.ts';

/**
 * The invocation running on this thread right now. The WASI functions and the `gojinn`
 * dispatchers are created once and shared by every instance; they reach the running
 * invocation through this slot instead of closing over it, so an instance costs no closures.
 * The runtime is synchronous: exactly one invocation runs at a time per thread (a nested one,
 * started from inside a host function, saves and restores the slot).
 */
export interface ActiveInvocation extends WasiBinding {
  current: WasiContext | null;
  host: HostCallFrame | null;
}

export const ACTIVE: ActiveInvocation = { current: null, host: null };
