/**
 * Writes the prepared module: sections copied byte for byte where nothing changes, rewritten
 * where the meter needs it (types for wrapper blocks, clamped tables and memory, the meter
 * globals and exports, no start section, instrumented code, the reset function). Section sizes are written as
 * padded LEB128 placeholders and patched, so nothing is assembled twice.
 *
 * With `importMemory`, the guest's memory definition becomes an import of the runtime's
 * (runtime-imports.ts) with the same limits, appended after the guest's imports: the module
 * still has exactly one memory, index 0 (a guest may not import one, so the defined memory was
 * index 0 too), memory imports do not shift function or global indices, and the guest's own
 * export of memory 0 as "memory" exports the imported one. No instruction changes. The limits
 * also go in a last custom section, RUNTIME_MEMORY_SECTION, for the runtime to read.
 */
import { METER_EXPORTS } from '../meter-abi.ts';
import type { RewriteContext } from './body-rewriter.ts';
import { rewriteBody } from './body-rewriter.ts';
import type { ParsedModule, SectionRef } from './parse-module.ts';
import { ByteReader } from './reader.ts';
import { writeResetBody } from './reset-function.ts';
import {
  RUNTIME_IMPORT_MODULE,
  RUNTIME_MEMORY_IMPORT,
  RUNTIME_MEMORY_SECTION,
  writeMemoryShape,
} from './runtime-imports.ts';
import { SECTION_ORDER, SectionId, ValType, type FuncType } from './types.ts';
import { ByteWriter } from './writer.ts';

/** What the emitter adds or changes, decided by prepare.ts. */
export interface EmitPlan {
  /** Types appended to the type section (wrapper block types for multi-value functions). */
  addedTypes: FuncType[];
  /** Maximum of each table after clamping. */
  tableMax: number[];
  /** Maximum pages of the memory after clamping (ignored without a memory). */
  memoryMax: number;
  /**
   * The memory becomes an import of RUNTIME_IMPORT_MODULE.RUNTIME_MEMORY_IMPORT instead of a
   * definition (ignored without a memory).
   */
  importMemory: boolean;
  /** Initial values of the meter globals. */
  stackBudget: number;
  memoryLimitPages: number;
  /**
   * Type index ([] -> [i32]) of the reset function appended after the guest's functions and
   * exported as `__gojinn_reset` (reset-function.ts), or null when the module defines no
   * functions (and so gets none).
   */
  resetTypeIndex: number | null;
}

/** Custom sections kept: only `name`, for readable traps. Others (DWARF, source maps, branch hints) point into the original code and would lie. */
const KEPT_CUSTOM_SECTIONS: ReadonlySet<string> = new Set(['name']);

const KIND_FUNCTION = 0;
const KIND_MEMORY = 2;
const KIND_GLOBAL = 3;
/** Limits flag: a minimum and a maximum follow. */
const LIMITS_MIN_MAX = 0x01;

export function emitModule(m: ParsedModule, ctx: RewriteContext, plan: EmitPlan): Uint8Array {
  const bytes = m.bytes;
  const out = new ByteWriter(Math.ceil(bytes.length * 1.5) + 1024);
  out.bytes(bytes, 0, 8);
  const importsMemory = plan.importMemory && m.memory !== null;
  // Without a memory import to add, the import section (or its absence) is copied as it is.
  let importsWritten = !importsMemory;
  let globalsWritten = false;
  let exportsWritten = false;
  const importOrder = SECTION_ORDER[SectionId.import]!;
  const globalOrder = SECTION_ORDER[SectionId.global]!;
  const exportOrder = SECTION_ORDER[SectionId.export]!;

  const section = (id: number, write: () => void): void => {
    out.u8(id);
    const sizeAt = out.padded(0);
    const start = out.length;
    write();
    out.patchPadded(sizeAt, out.length - start);
  };
  const writeImports = (original: SectionRef | null): void => {
    section(SectionId.import, () => writeImportSection(out, m, original, plan));
    importsWritten = true;
  };
  const writeGlobals = (): void => {
    section(SectionId.global, () => writeGlobalSection(out, m, plan));
    globalsWritten = true;
  };
  const writeExports = (): void => {
    section(SectionId.export, () => writeExportSection(out, m, ctx, plan));
    exportsWritten = true;
  };

  for (const s of m.sections) {
    if (s.id === SectionId.custom) {
      if (KEPT_CUSTOM_SECTIONS.has(s.name!)) copySection(out, bytes, s);
      continue;
    }
    const order = SECTION_ORDER[s.id]!;
    if (!importsWritten && order > importOrder) writeImports(null);
    if (!globalsWritten && order > globalOrder) writeGlobals();
    if (!exportsWritten && order > exportOrder) writeExports();
    switch (s.id) {
      case SectionId.type:
        if (plan.addedTypes.length === 0) copySection(out, bytes, s);
        else section(s.id, () => writeTypeSection(out, bytes, s, plan.addedTypes));
        break;
      case SectionId.table:
        section(s.id, () => writeTableSection(out, m, plan));
        break;
      case SectionId.import:
        if (importsWritten) copySection(out, bytes, s);
        else writeImports(s);
        break;
      case SectionId.memory:
        // An imported memory leaves the module with no memory to define.
        if (!importsMemory) section(s.id, () => writeMemorySection(out, m, plan));
        break;
      case SectionId.global:
        writeGlobals();
        break;
      case SectionId.export:
        writeExports();
        break;
      case SectionId.function:
        if (plan.resetTypeIndex === null) copySection(out, bytes, s);
        else section(s.id, () => writeFunctionSection(out, bytes, s, plan.resetTypeIndex!));
        break;
      case SectionId.start:
        break; // the start function is exported instead, to run metered
      case SectionId.code:
        section(s.id, () => {
          const hasReset = plan.resetTypeIndex !== null;
          out.u32(m.bodies.length + (hasReset ? 1 : 0));
          for (let i = 0; i < m.bodies.length; i++)
            rewriteBody(ctx, m.importedFunctionCount + i, m.bodies[i]!, out);
          // Last, once every body has been read: only then is the reuse verdict known.
          if (hasReset) writeResetBody(out, m, ctx.slots, plan, ctx.reuseBlocker === null);
        });
        break;
      default:
        copySection(out, bytes, s);
    }
  }
  if (!importsWritten) writeImports(null);
  if (!globalsWritten) writeGlobals();
  if (!exportsWritten) writeExports();
  if (importsMemory) {
    section(SectionId.custom, () => {
      out.name(RUNTIME_MEMORY_SECTION);
      writeMemoryShape(out, { initialPages: m.memory!.min, maxPages: plan.memoryMax });
    });
  }
  return out.toBytes();
}

function copySection(out: ByteWriter, bytes: Uint8Array, s: SectionRef): void {
  out.bytes(bytes, s.headerStart, s.end);
}

/** The payload of a section after its leading count. */
function afterCount(bytes: Uint8Array, s: SectionRef): { count: number; rest: number } {
  const r = new ByteReader(bytes, s.start, s.end);
  const count = r.u32();
  return { count, rest: r.pos };
}

function writeTypeSection(out: ByteWriter, bytes: Uint8Array, s: SectionRef, added: FuncType[]): void {
  const { count, rest } = afterCount(bytes, s);
  out.u32(count + added.length);
  out.bytes(bytes, rest, s.end);
  for (const t of added) {
    out.u8(0x60);
    out.u32(t.params.length);
    out.bytes(t.params);
    out.u32(t.results.length);
    out.bytes(t.results);
  }
}

/** The guest's function declarations, then the reset function's type. */
function writeFunctionSection(out: ByteWriter, bytes: Uint8Array, s: SectionRef, resetType: number): void {
  const { count, rest } = afterCount(bytes, s);
  out.u32(count + 1);
  out.bytes(bytes, rest, s.end);
  out.u32(resetType);
}

function writeTableSection(out: ByteWriter, m: ParsedModule, plan: EmitPlan): void {
  out.u32(m.tables.length);
  m.tables.forEach((table, i) => {
    out.u8(table.refType);
    out.u8(0x01);
    out.u32(table.min);
    out.u32(plan.tableMax[i]!);
  });
}

function writeMemorySection(out: ByteWriter, m: ParsedModule, plan: EmitPlan): void {
  out.u32(1);
  writeMemoryLimits(out, m, plan);
}

/** The guest's imports (copied), then the runtime's memory with the limits the definition had. */
function writeImportSection(
  out: ByteWriter,
  m: ParsedModule,
  original: SectionRef | null,
  plan: EmitPlan,
): void {
  if (original === null) {
    out.u32(1);
  } else {
    const { count, rest } = afterCount(m.bytes, original);
    out.u32(count + 1);
    out.bytes(m.bytes, rest, original.end);
  }
  out.name(RUNTIME_IMPORT_MODULE);
  out.name(RUNTIME_MEMORY_IMPORT);
  out.u8(KIND_MEMORY);
  writeMemoryLimits(out, m, plan);
}

/** Initial pages as the guest declared them, maximum clamped to the ceiling (always present). */
function writeMemoryLimits(out: ByteWriter, m: ParsedModule, plan: EmitPlan): void {
  out.u8(LIMITS_MIN_MAX);
  out.u32(m.memory!.min);
  out.u32(plan.memoryMax);
}

/** The guest's globals, then fuel (i64), stack budget, memory ceiling and denied request (i32), all mutable. */
function writeGlobalSection(out: ByteWriter, m: ParsedModule, plan: EmitPlan): void {
  const defined = m.globalTypes.length - m.importedGlobalCount;
  out.u32(defined + 4);
  const original = m.sections.find((s) => s.id === SectionId.global);
  if (original) out.bytes(m.bytes, m.globalEntriesStart, original.end);
  const global = (type: number, init: number): void => {
    out.u8(type);
    out.u8(0x01);
    out.u8(type === ValType.i64 ? 0x42 : 0x41);
    out.signed(init);
    out.u8(0x0b);
  };
  global(ValType.i64, 0);
  global(ValType.i32, plan.stackBudget);
  global(ValType.i32, plan.memoryLimitPages);
  global(ValType.i32, 0);
}

function writeExportSection(out: ByteWriter, m: ParsedModule, ctx: RewriteContext, plan: EmitPlan): void {
  const hasStart = m.start !== null;
  const hasReset = plan.resetTypeIndex !== null;
  out.u32(m.exports.length + 4 + (hasStart ? 1 : 0) + (hasReset ? 1 : 0));
  const original = m.sections.find((s) => s.id === SectionId.export);
  if (original) out.bytes(m.bytes, m.exportEntriesStart, original.end);
  const entry = (name: string, kind: number, index: number): void => {
    out.name(name);
    out.u8(kind);
    out.u32(index);
  };
  const s = ctx.slots;
  entry(METER_EXPORTS.fuel, KIND_GLOBAL, s.fuelGlobal);
  entry(METER_EXPORTS.stack, KIND_GLOBAL, s.stackGlobal);
  entry(METER_EXPORTS.memoryLimitPages, KIND_GLOBAL, s.memoryLimitGlobal);
  entry(METER_EXPORTS.memoryDenied, KIND_GLOBAL, s.memoryDeniedGlobal);
  if (hasStart) entry(METER_EXPORTS.start, KIND_FUNCTION, m.start!);
  // The reset function follows every function of the guest's index space.
  if (hasReset) entry(METER_EXPORTS.reset, KIND_FUNCTION, m.functionTypes.length);
}
