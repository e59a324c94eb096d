import { GojinnError } from '@gojinn/errors';
import type { ModuleImport } from './verify.ts';

/**
 * Reads a module's imports for `gojinn sign` and `gojinn verify`, throwing `invalid_module`
 * for bytes that are not a valid module. This is the one place that wiring lives.
 *
 * Interim: until the sandbox's parser (`prepareWasm(bytes).info.imports`, which reads imports
 * without compiling and applies the sandbox's own validation) is available, V8 validates the
 * module (`new WebAssembly.Module`) and lists its imports. Nothing is instantiated.
 */
export function readModuleImports(moduleBytes: Uint8Array): ModuleImport[] {
  let module: object;
  try {
    module = new wasm.Module(moduleBytes);
  } catch (error) {
    throw new GojinnError('invalid_module', `not a valid WebAssembly module: ${(error as Error).message}`);
  }
  return wasm.Module.imports(module).map(({ module, name, kind }) => ({ module, name, kind }));
}

// The project's TypeScript lib has no WebAssembly declarations; this is the slice used here.
interface WebAssemblyModuleApi {
  Module: { new (bytes: Uint8Array): object; imports(module: object): ModuleImport[] };
}
const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyModuleApi }).WebAssembly;
