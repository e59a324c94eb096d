/**
 * The pool's default task runner: the sandbox runtime, run synchronously in the worker thread.
 * Host functions (`gojinn.*`) come from PoolOptions.hostImportsUrl, built on `callHost`.
 */
import { DEFAULT_INVOCATION_LIMITS, DEFAULT_MODULE_LIMITS } from '../limits.ts';
import { buildRequest, encodeRequest, runInvocation } from '../runtime/index.ts';
import type { RuntimeModuleInfo } from '../runtime/index.ts';
import { prepareWasm } from '../wasm/index.ts';
import type { PoolTaskRunner } from './task-runner.ts';

/**
 * A WASI command that writes `{"status":200,"headers":{},"body":""}` and returns:
 *   (module
 *     (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
 *     (memory (export "memory") 1)
 *     (data (i32.const 16) "{\"status\":200,\"headers\":{},\"body\":\"\"}")
 *     (func (export "_start")
 *       (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 37))
 *       (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
 * Running it once through the whole runtime path (link, instantiate, WASI, response parsing)
 * compiles that path in this thread: measured, the worker's first real invocation then takes
 * ~0.4 ms instead of ~1.6 ms. Instantiating a module without running it does not help.
 */
const WARM_UP_GUEST = Buffer.from(
  'AGFzbQEAAAABDAJgBH9/f38Bf2AAAAIjARZ3YXNpX3NuYXBzaG90X3ByZXZpZXcxCGZkX3dyaXRlAAADAgEBBQMBAAEHEwIGbWVtb3J5AgAGX3N0YXJ0AAEKHQEbAEEAQRA2AgBBBEElNgIAQQFBAEEBQQgQABoLCysBAEEQCyV7InN0YXR1cyI6MjAwLCJoZWFkZXJzIjp7fSwiYm9keSI6IiJ9',
  'base64',
);

export const runner: PoolTaskRunner = {
  warmUp() {
    // Prepared as the Sandbox prepares modules, so the warm-up compiles the recycled-memory path too.
    const prepared = prepareWasm(WARM_UP_GUEST, {
      limits: DEFAULT_MODULE_LIMITS,
      memoryCeilingPages: 1,
      importMemory: true,
    });
    const outcome = runInvocation(new WebAssembly.Module(prepared.bytes), prepared.info, {
      moduleHash: 'warm-up',
      stdin: encodeRequest(buildRequest({ trace_id: '0'.repeat(32) })),
      limits: DEFAULT_INVOCATION_LIMITS,
      seed: '0'.repeat(64),
      granted: [],
    });
    if (!outcome.ok) throw new Error(`runtime warm-up failed: ${JSON.stringify(outcome.error)}`);
  },
  run: (module, info, spec, host) => runInvocation(module, info as RuntimeModuleInfo, spec, host),
};
