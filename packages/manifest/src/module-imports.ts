import { DEFAULT_MODULE_LIMITS, MAX_MEMORY_CEILING_PAGES, prepareWasm } from '@gojinn/sandbox';
import type { ModuleImport } from './verify.ts';

/**
 * Reads a module's imports through the sandbox's one door for untrusted bytes, `prepareWasm`:
 * a bounded, fail-closed parse plus the engine's validator, without compiling or
 * instantiating. A module the sandbox would refuse is refused here with the same code
 * (`invalid_module`) and message. The memory ceiling is the largest there is: how much memory
 * a module may have is the node's decision at run time, not part of whether it is a module.
 * This is the one place that wiring lives (`gojinn sign`, `gojinn verify`, the registry).
 */
export function readModuleImports(moduleBytes: Uint8Array): ModuleImport[] {
  const { info } = prepareWasm(moduleBytes, {
    limits: DEFAULT_MODULE_LIMITS,
    memoryCeilingPages: MAX_MEMORY_CEILING_PAGES,
  });
  return info.imports.map(({ module, name, kind }) => ({ module, name, kind }));
}
