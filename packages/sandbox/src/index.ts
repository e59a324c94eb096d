/**
 * @gojinn/sandbox — runs untrusted WebAssembly under deterministic limits. Knows nothing of
 * libp2p or HTTP. Start with `Sandbox` (docs/sandbox.md); the lower layers are exported for
 * the packages that compose them (capabilities build host functions on `callHost`).
 */
export * from './limits.ts';
export * from './meter-abi.ts';
export { CompiledModuleCache } from './compiled-module-cache.ts';
export {
  DEFAULT_MODULE_CACHE_SIZE,
  Sandbox,
  WARMUP_FUEL,
  type InvokeOptions,
  type PreparedModule,
  type RequestInput,
  type SandboxOptions,
} from './sandbox.ts';
export * from './runtime/index.ts';
export * from './wasm/index.ts';
export * from './pool/index.ts';
