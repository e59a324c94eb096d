/** Value types the sandbox accepts (binary encoding). Any other type byte is rejected. */
export const ValType = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
} as const;

export const EMPTY_BLOCK_TYPE = 0x40;

/** Section ids of the binary format. */
export const SectionId = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  tag: 13,
} as const;

/** Where each known section must appear (the binary format's order; tag sits after memory). */
export const SECTION_ORDER: Readonly<Record<number, number>> = {
  [SectionId.type]: 1,
  [SectionId.import]: 2,
  [SectionId.function]: 3,
  [SectionId.table]: 4,
  [SectionId.memory]: 5,
  [SectionId.tag]: 6,
  [SectionId.global]: 7,
  [SectionId.export]: 8,
  [SectionId.start]: 9,
  [SectionId.element]: 10,
  [SectionId.dataCount]: 11,
  [SectionId.code]: 12,
  [SectionId.data]: 13,
};

export type ExternKind = 'function' | 'table' | 'memory' | 'global';
export const EXTERN_KINDS: readonly ExternKind[] = ['function', 'table', 'memory', 'global'];

export interface FuncType {
  params: Uint8Array;
  results: Uint8Array;
}

export interface ImportInfo {
  module: string;
  name: string;
  kind: ExternKind;
}

export interface ExportInfo {
  name: string;
  kind: ExternKind;
}

export interface MemoryInfo {
  /** Initial size in 64 KiB pages. */
  initialPages: number;
  /** Maximum size in pages after clamping to the ceiling. */
  maxPages: number;
}

/**
 * Whether instances of a prepared module may be reused (reset to their initial state between
 * invocations instead of created afresh): decided at preparation, conservatively. A module is
 * not reusable when it can change state the reset cannot restore (a dropped data or element
 * segment, a table's contents or size) or imports a global.
 */
export type ReuseVerdict = { reusable: true } | { reusable: false; reason: string };

/** What the runtime and the manifest checks need to know about a prepared module. */
export interface ModuleInfo {
  imports: ImportInfo[];
  /** The guest's own exports (the meter exports of meter-abi.ts are not listed). */
  exports: ExportInfo[];
  /** The module's memory after clamping, or null when it defines none. */
  memory: MemoryInfo | null;
  /** The module had a start function (now exported as `__gojinn_start`). */
  hasStart: boolean;
  /** Functions imported plus defined. */
  functionCount: number;
  /** Size of the original module in bytes. */
  sizeBytes: number;
  /** Size of the rewritten module in bytes. */
  preparedSizeBytes: number;
  /** Whether the runtime may reuse its instances (docs/sandbox.md, "Instance reuse"). */
  reuse: ReuseVerdict;
}

/** Bytes a value of this type takes in a stack frame, for the call-depth model. */
export function frameBytesOf(type: number): number {
  return type === ValType.v128 ? 16 : 8;
}
