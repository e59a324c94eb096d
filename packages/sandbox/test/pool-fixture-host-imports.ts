/**
 * Worker-side host functions for the pool's runtime tests (PoolOptions.hostImportsUrl): the
 * shape capability host functions take — read the guest's arguments from its memory, forward
 * them through `callHost` to the main thread, write the answer back.
 */
import type { HostImports } from '../src/runtime/types.ts';
import { callHost } from '../src/pool/call-host.ts';

export const hostImports: HostImports = {
  /** kv_get(keyPtr, keyLen, outPtr, outCap) → bytes written, or -1 when the value does not fit. */
  kv_get: (ctx, keyPtr = 0, keyLen = 0, outPtr = 0, outCap = 0) => {
    const value = callHost('kv_get', ctx.read(keyPtr, keyLen));
    if (value.byteLength > outCap) return -1;
    ctx.write(outPtr, value);
    return value.byteLength;
  },
};
