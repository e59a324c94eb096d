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
 *
 * The memory's limits travel inside the compiled module, in the custom section
 * `RUNTIME_MEMORY_SECTION` (initial pages, then maximum pages, each a u32 LEB128): JavaScript
 * cannot read an import's limits back from a `WebAssembly.Module`, and the runtime must create
 * memories of exactly those limits without trusting a separately carried description. The
 * rewriter drops every custom section of the guest but `name`, so a guest cannot supply it.
 */
import { GojinnError } from '@gojinn/errors';
import { MAX_MEMORY_PAGES } from '../limits.ts';
import { ByteReader } from './reader.ts';
import type { ByteWriter } from './writer.ts';

export const RUNTIME_IMPORT_MODULE = 'gojinn:runtime';

/** The field under which the runtime provides the module's linear memory. */
export const RUNTIME_MEMORY_IMPORT = 'memory';

/** The custom section that carries the imported memory's limits. */
export const RUNTIME_MEMORY_SECTION = 'gojinn:memory';

/** The limits of the memory a module imports: every memory given to its instances has them. */
export interface MemoryShape {
  initialPages: number;
  maxPages: number;
}

/** Writes the payload of the RUNTIME_MEMORY_SECTION custom section (after its name). */
export function writeMemoryShape(out: ByteWriter, shape: MemoryShape): void {
  out.u32(shape.initialPages);
  out.u32(shape.maxPages);
}

/**
 * The limits of the memory `module` imports from the runtime, read from its
 * RUNTIME_MEMORY_SECTION; throws GojinnError `invalid_module` when the section is missing,
 * repeated or malformed.
 */
export function readMemoryShape(module: WebAssembly.Module): MemoryShape {
  const sections = WebAssembly.Module.customSections(module, RUNTIME_MEMORY_SECTION);
  const section = sections[0];
  if (sections.length !== 1 || section === undefined) {
    throw new GojinnError(
      'invalid_module',
      `module imports ${RUNTIME_IMPORT_MODULE}.${RUNTIME_MEMORY_IMPORT} but has ${sections.length} "${RUNTIME_MEMORY_SECTION}" sections giving its limits; exactly one is required`,
    );
  }
  const r = new ByteReader(new Uint8Array(section));
  const initialPages = r.u32();
  const maxPages = r.u32();
  if (!r.atEnd() || maxPages < initialPages || maxPages > MAX_MEMORY_PAGES) {
    throw new GojinnError(
      'invalid_module',
      `module's "${RUNTIME_MEMORY_SECTION}" section is malformed (expected initial then maximum pages)`,
    );
  }
  return { initialPages, maxPages };
}
