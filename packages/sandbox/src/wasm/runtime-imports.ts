/**
 * The one import the runtime itself provides to a prepared module: its linear memory.
 *
 * With `importMemory` (prepare.ts), the rewriter turns the guest's memory definition into an
 * import of `RUNTIME_IMPORT_MODULE`.`RUNTIME_MEMORY_IMPORT`, so that the runtime can hand each
 * new instance a recycled, zeroed `WebAssembly.Memory` instead of having the engine allocate
 * (and later unmap) one per instance (runtime/memory-pool.ts; docs/sandbox.md, "Fresh instances
 * and recycled memories").
 *
 * The module name is reserved: a guest may not import anything from it (parse-module.ts refuses
 * it at preparation, and the linker refuses any other import from it), so only the runtime
 * ever decides what that memory is. The name contains a colon, which no WASI or Gojinn module
 * name has.
 */
export const RUNTIME_IMPORT_MODULE = 'gojinn:runtime';

/** The field under which the runtime provides the module's linear memory. */
export const RUNTIME_MEMORY_IMPORT = 'memory';
