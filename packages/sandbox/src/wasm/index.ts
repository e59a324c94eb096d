export { prepareWasm, MAX_MEMORY_CEILING_PAGES, type PrepareOptions, type PreparedWasm } from './prepare.ts';
export {
  DEFAULT_FUEL_COSTS,
  MAX_INSTRUCTION_COST,
  MAX_OPERAND_COST,
  type FuelCosts,
} from './instrument-fuel.ts';
export {
  DEFAULT_STACK_BUDGET,
  FRAME_OVERHEAD_UNITS,
  MAX_STACK_BUDGET,
  frameCost,
} from './instrument-stack.ts';
export {
  RUNTIME_IMPORT_MODULE,
  RUNTIME_MEMORY_IMPORT,
  RUNTIME_MEMORY_SECTION,
  readMemoryShape,
  type MemoryShape,
} from './runtime-imports.ts';
export type { ExportInfo, ExternKind, ImportInfo, MemoryInfo, ModuleInfo, ReuseVerdict } from './types.ts';
