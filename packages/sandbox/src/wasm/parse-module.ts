/**
 * Reads the module structure (everything but instruction streams) in one bounded pass,
 * checking the static limits and refusing unsupported features as each count or type byte is
 * read. Function bodies are only located here; body-rewriter.ts decodes their instructions.
 */
import { MAX_MEMORY_PAGES, type ModuleLimits } from '../limits.ts';
import { SIMD_PREFIX } from './opcodes.ts';
import { ByteReader, invalidModule } from './reader.ts';
import { RUNTIME_IMPORT_MODULE } from './runtime-imports.ts';
import {
  EXTERN_KINDS,
  SECTION_ORDER,
  SectionId,
  type ExportInfo,
  type FuncType,
  type ImportInfo,
} from './types.ts';
import { checkExportName, checkLimit, checkRefType, checkValueType, unsupported } from './validate.ts';

export const WASM_MAGIC = 0x6d736100; // "\0asm" read little-endian
export const WASM_VERSION = 1;

/** A section's place in the original bytes: `start`/`end` bound its payload. */
export interface SectionRef {
  id: number;
  /** Offset of the section id byte. */
  headerStart: number;
  start: number;
  end: number;
  /** For custom sections, the name. */
  name?: string;
}

export interface TableRef {
  refType: number;
  min: number;
  max: number | null;
}

export interface MemoryRef {
  min: number;
  max: number | null;
}

/** A function body's place in the original bytes. */
export interface BodyRef {
  /** Start of the locals declarations. */
  start: number;
  /** Start of the instructions (after the locals). */
  codeStart: number;
  end: number;
  /** Locals declared (not counting params). */
  localCount: number;
}

/** A global the module defines: whether it is mutable, and where its initializer is (constant expression, `end` excluded). */
export interface DefinedGlobal {
  index: number;
  mutable: boolean;
  initStart: number;
  initEnd: number;
}

export interface ParsedModule {
  bytes: Uint8Array;
  sections: SectionRef[];
  types: FuncType[];
  imports: ImportInfo[];
  /** Type index of every function, imported ones first (the function index space). */
  functionTypes: number[];
  importedFunctionCount: number;
  /** Value type of every global, imported ones first (the global index space). */
  globalTypes: number[];
  importedGlobalCount: number;
  /** Offset of the first global entry in the global section payload (after the count). */
  globalEntriesStart: number;
  /** The globals the module defines, in index order (what the reset function re-initializes). */
  definedGlobals: DefinedGlobal[];
  tables: TableRef[];
  memory: MemoryRef | null;
  exports: ExportInfo[];
  exportEntriesStart: number;
  start: number | null;
  elementSegmentCount: number;
  dataSegmentCount: number;
  bodies: BodyRef[];
}

export function parseModule(bytes: Uint8Array, limits: ModuleLimits): ParsedModule {
  const r = new ByteReader(bytes);
  readHeader(r);
  const m: ParsedModule = {
    bytes,
    sections: [],
    types: [],
    imports: [],
    functionTypes: [],
    importedFunctionCount: 0,
    globalTypes: [],
    importedGlobalCount: 0,
    globalEntriesStart: -1,
    definedGlobals: [],
    tables: [],
    memory: null,
    exports: [],
    exportEntriesStart: -1,
    start: null,
    elementSegmentCount: 0,
    dataSegmentCount: 0,
    bodies: [],
  };
  let lastOrder = 0;
  let definedFunctionCount = 0;
  let sawCode = false;
  while (!r.atEnd()) {
    const headerStart = r.pos;
    const id = r.u8();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    const end = r.pos;
    const section: SectionRef = { id, headerStart, start, end };
    const s = new ByteReader(bytes, start, end);
    if (id !== SectionId.custom) {
      const order = SECTION_ORDER[id];
      if (order === undefined) throw invalidModule(`malformed module: unknown section id ${id}`);
      if (order <= lastOrder) throw invalidModule(`malformed module: section ${id} out of order or repeated`);
      lastOrder = order;
    }
    switch (id) {
      case SectionId.custom:
        section.name = s.name();
        s.pos = end;
        break;
      case SectionId.type:
        readTypes(s, m, limits);
        break;
      case SectionId.import:
        readImports(s, m, limits);
        break;
      case SectionId.function: {
        const count = s.u32();
        checkLimit(limits, 'maxFunctions', m.importedFunctionCount + count, 'module has', 'functions');
        for (let i = 0; i < count; i++) m.functionTypes.push(typeIndex(s, m));
        definedFunctionCount = count;
        break;
      }
      case SectionId.table:
        readTables(s, m, limits);
        break;
      case SectionId.memory:
        readMemories(s, m);
        break;
      case SectionId.tag:
        throw unsupported('module', 'exception handling (tag section)');
      case SectionId.global:
        readGlobals(s, m, limits);
        break;
      case SectionId.export:
        readExports(s, m, limits);
        break;
      case SectionId.start:
        m.start = functionIndex(s, m);
        break;
      case SectionId.element:
        readElements(s, m, limits);
        break;
      case SectionId.dataCount:
        checkLimit(limits, 'maxDataSegments', s.u32(), 'module has', 'data segments');
        break;
      case SectionId.code:
        readCode(s, m, limits, definedFunctionCount);
        sawCode = true;
        break;
      case SectionId.data:
        readData(s, m, limits);
        break;
    }
    if (s.pos !== end)
      throw invalidModule(`malformed module: section ${id} has ${end - s.pos} trailing bytes`);
    m.sections.push(section);
  }
  if (definedFunctionCount > 0 && !sawCode) {
    throw invalidModule('malformed module: function section without code section');
  }
  return m;
}

function readHeader(r: ByteReader): void {
  if (r.end < 8) throw invalidModule('malformed module: shorter than the 8-byte header');
  const b = r.bytes;
  const magic = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  if (magic !== WASM_MAGIC) throw invalidModule('malformed module: missing the \\0asm magic number');
  const version = b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24);
  if (version !== WASM_VERSION) {
    throw invalidModule(
      `malformed module: binary version 0x${(version >>> 0).toString(16)} (components are not accepted)`,
    );
  }
  r.pos = 8;
}

function typeIndex(r: ByteReader, m: ParsedModule): number {
  const at = r.pos;
  const index = r.u32();
  if (index >= m.types.length)
    throw invalidModule(`malformed module: type index ${index} out of range at byte offset ${at}`);
  return index;
}

function functionIndex(r: ByteReader, m: ParsedModule): number {
  const at = r.pos;
  const index = r.u32();
  if (index >= m.functionTypes.length) {
    throw invalidModule(`malformed module: function index ${index} out of range at byte offset ${at}`);
  }
  return index;
}

function valueType(r: ByteReader, where: string): number {
  const at = r.pos;
  const type = r.u8();
  checkValueType(type, where, at);
  return type;
}

function refType(r: ByteReader, where: string): number {
  const at = r.pos;
  const type = r.u8();
  checkRefType(type, where, at);
  return type;
}

function readTypes(r: ByteReader, m: ParsedModule, limits: ModuleLimits): void {
  const count = r.u32();
  checkLimit(limits, 'maxTypes', count, 'module has', 'types');
  for (let i = 0; i < count; i++) {
    const form = r.u8();
    if (form !== 0x60) {
      if (form === 0x4e || form === 0x50 || form === 0x4f || form === 0x5f || form === 0x5e) {
        throw unsupported(`type ${i}`, 'garbage collection (recursive, struct, array or sub types)');
      }
      if (form === 0x5d) throw unsupported(`type ${i}`, 'stack switching (continuation types)');
      throw invalidModule(
        `malformed module: type ${i} has form 0x${form.toString(16)}, expected a function type`,
      );
    }
    const params = valueTypes(r, `type ${i}`);
    const results = valueTypes(r, `type ${i}`);
    m.types.push({ params, results });
  }
}

function valueTypes(r: ByteReader, where: string): Uint8Array {
  const count = r.u32();
  if (count > r.end - r.pos) throw r.malformed(`${count} value types announced, fewer bytes remain`);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = valueType(r, where);
  return out;
}

function readImports(r: ByteReader, m: ParsedModule, limits: ModuleLimits): void {
  const count = r.u32();
  checkLimit(limits, 'maxImports', count, 'module has', 'imports');
  for (let i = 0; i < count; i++) {
    const module = r.name();
    const name = r.name();
    const kind = r.u8();
    const where = `import "${module}"."${name}"`;
    if (module === RUNTIME_IMPORT_MODULE) {
      // The runtime provides this module's one import (the memory) itself, after preparation.
      throw invalidModule(
        `${where} uses the module name "${RUNTIME_IMPORT_MODULE}", which is reserved for the runtime`,
      );
    }
    switch (kind) {
      case 0:
        m.functionTypes.push(typeIndex(r, m));
        m.importedFunctionCount++;
        checkLimit(limits, 'maxFunctions', m.functionTypes.length, 'module has', 'functions');
        break;
      case 1:
        throw unsupported(where, 'an imported table (a guest defines its own tables)');
      case 2:
        throw unsupported(where, 'an imported memory (a guest defines its own memory)');
      case 3:
        m.globalTypes.push(globalType(r, where).type);
        m.importedGlobalCount++;
        checkLimit(limits, 'maxGlobals', m.globalTypes.length, 'module has', 'globals');
        break;
      case 4:
        throw unsupported(where, 'exception handling (an imported tag)');
      default:
        throw invalidModule(`malformed module: ${where} has unknown kind ${kind}`);
    }
    m.imports.push({ module, name, kind: EXTERN_KINDS[kind]! });
  }
}

function globalType(r: ByteReader, where: string): { type: number; mutable: boolean } {
  const type = valueType(r, where);
  const mutability = r.u8();
  if (mutability === 0x02 || mutability === 0x03) throw unsupported(where, 'shared globals (threads)');
  if (mutability > 1) throw invalidModule(`malformed module: ${where} has mutability flag ${mutability}`);
  return { type, mutable: mutability === 1 };
}

/** Limits of a table or memory. Flags beyond min/max name the proposal they belong to. */
function readLimits(
  r: ByteReader,
  where: string,
  kind: 'memory' | 'table',
): { min: number; max: number | null } {
  const flags = r.u8();
  if (flags === 0x02 || flags === 0x03) throw unsupported(where, `shared ${kind} (threads)`);
  if (flags >= 0x04 && flags <= 0x07) throw unsupported(where, kind === 'memory' ? 'memory64' : 'table64');
  if (flags >= 0x08 && flags <= 0x0f) throw unsupported(where, 'custom page sizes');
  if (flags > 0x01)
    throw invalidModule(`malformed module: ${where} has limits flags 0x${flags.toString(16)}`);
  const min = r.u32();
  const max = flags === 0x01 ? r.u32() : null;
  if (max !== null && max < min)
    throw invalidModule(`malformed module: ${where} has maximum ${max} below minimum ${min}`);
  return { min, max };
}

function readTables(r: ByteReader, m: ParsedModule, limits: ModuleLimits): void {
  const count = r.u32();
  checkLimit(limits, 'maxTables', m.tables.length + count, 'module has', 'tables');
  for (let i = 0; i < count; i++) {
    const where = `table ${i}`;
    if (r.peek() === 0x40) throw unsupported(where, 'function references (table initializer)');
    const type = refType(r, where);
    const { min, max } = readLimits(r, where, 'table');
    checkLimit(limits, 'maxTableElements', min, `${where} has`, 'initial elements');
    m.tables.push({ refType: type, min, max });
  }
}

function readMemories(r: ByteReader, m: ParsedModule): void {
  const count = r.u32();
  if (count > 1) throw unsupported('module', `multi-memory (${count} memories)`);
  if (count === 0) return;
  const { min, max } = readLimits(r, 'memory 0', 'memory');
  if (min > MAX_MEMORY_PAGES || (max !== null && max > MAX_MEMORY_PAGES)) {
    throw invalidModule(`malformed module: memory 0 exceeds ${MAX_MEMORY_PAGES} pages`);
  }
  m.memory = { min, max };
}

function readGlobals(r: ByteReader, m: ParsedModule, limits: ModuleLimits): void {
  const count = r.u32();
  checkLimit(limits, 'maxGlobals', m.globalTypes.length + count, 'module has', 'globals');
  m.globalEntriesStart = r.pos;
  for (let i = 0; i < count; i++) {
    const index = m.globalTypes.length;
    const where = `global ${index}`;
    const { type, mutable } = globalType(r, where);
    m.globalTypes.push(type);
    const initStart = r.pos;
    skipConstExpr(r, m, where);
    m.definedGlobals.push({ index, mutable, initStart, initEnd: r.pos - 1 });
  }
}

function readExports(r: ByteReader, m: ParsedModule, limits: ModuleLimits): void {
  const count = r.u32();
  checkLimit(limits, 'maxExports', count, 'module has', 'exports');
  m.exportEntriesStart = r.pos;
  for (let i = 0; i < count; i++) {
    const name = r.name();
    checkExportName(name);
    const kind = r.u8();
    if (kind === 4) throw unsupported(`export "${name}"`, 'exception handling (an exported tag)');
    const externKind = EXTERN_KINDS[kind];
    if (externKind === undefined)
      throw invalidModule(`malformed module: export "${name}" has unknown kind ${kind}`);
    r.u32();
    m.exports.push({ name, kind: externKind });
  }
}

function readElements(r: ByteReader, m: ParsedModule, limits: ModuleLimits): void {
  const count = r.u32();
  checkLimit(limits, 'maxElementSegments', count, 'module has', 'element segments');
  m.elementSegmentCount = count;
  for (let i = 0; i < count; i++) {
    const where = `element segment ${i}`;
    const flags = r.u32();
    if (flags > 7) throw invalidModule(`malformed module: ${where} has flags ${flags}`);
    const active = (flags & 0x01) === 0;
    const explicitTable = (flags & 0x02) !== 0;
    const usesExpressions = (flags & 0x04) !== 0;
    if (active && explicitTable) r.u32();
    if (active) skipConstExpr(r, m, where);
    if (!active || explicitTable) {
      if (usesExpressions) refType(r, where);
      else if (r.u8() !== 0x00) throw invalidModule(`malformed module: ${where} has an unknown element kind`);
    }
    const items = r.u32();
    if (items > r.end - r.pos) throw r.malformed(`${items} elements announced, fewer bytes remain`);
    for (let j = 0; j < items; j++) {
      if (usesExpressions) skipConstExpr(r, m, where);
      else functionIndex(r, m);
    }
  }
}

function readCode(r: ByteReader, m: ParsedModule, limits: ModuleLimits, definedCount: number): void {
  const count = r.u32();
  if (count !== definedCount) {
    throw invalidModule(`malformed module: code section has ${count} bodies for ${definedCount} functions`);
  }
  for (let i = 0; i < count; i++) {
    const index = m.importedFunctionCount + i;
    const size = r.u32();
    checkLimit(limits, 'maxFunctionBodyBytes', size, `function ${index} body is`, 'bytes');
    const start = r.pos;
    r.skip(size);
    const body = new ByteReader(r.bytes, start, r.pos);
    const params = m.types[m.functionTypes[index]!]!.params.length;
    let locals = 0;
    const groups = body.u32();
    for (let g = 0; g < groups; g++) {
      locals += body.u32();
      checkLimit(
        limits,
        'maxLocalsPerFunction',
        params + locals,
        `function ${index} has`,
        'params and locals',
      );
      valueType(body, `function ${index} locals`);
    }
    m.bodies.push({ start, codeStart: body.pos, end: r.pos, localCount: locals });
  }
}

function readData(r: ByteReader, m: ParsedModule, limits: ModuleLimits): void {
  const count = r.u32();
  checkLimit(limits, 'maxDataSegments', count, 'module has', 'data segments');
  m.dataSegmentCount = count;
  for (let i = 0; i < count; i++) {
    const where = `data segment ${i}`;
    const flags = r.u32();
    if (flags === 2) {
      const memory = r.u32();
      if (memory !== 0) throw unsupported(where, `multi-memory (memory index ${memory})`);
    } else if (flags > 2) {
      throw invalidModule(`malformed module: ${where} has flags ${flags}`);
    }
    if (flags !== 1) skipConstExpr(r, m, where);
    r.skip(r.u32());
  }
}

/** Opcodes of extended constant expressions, named when refused. */
const EXTENDED_CONST_OPCODES: ReadonlySet<number> = new Set([0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e]);

/**
 * Skips a constant expression, accepting only the MVP/reference-types forms: one constant,
 * `ref.null`, `ref.func` or `global.get`, then `end`. Extended constant expressions are refused
 * like every proposal not in the accepted list.
 */
function skipConstExpr(r: ByteReader, m: ParsedModule, where: string): void {
  const at = r.pos;
  const op = r.u8();
  switch (op) {
    case 0x41:
      r.skipSigned(5);
      break;
    case 0x42:
      r.skipSigned(10);
      break;
    case 0x43:
      r.skip(4);
      break;
    case 0x44:
      r.skip(8);
      break;
    case 0x23:
      if (r.u32() >= m.globalTypes.length)
        throw invalidModule(`malformed module: ${where} reads an unknown global`);
      break;
    case 0xd0:
      refType(r, where);
      break;
    case 0xd2:
      functionIndex(r, m);
      break;
    case SIMD_PREFIX:
      if (r.u32() !== 0x0c) throw invalidModule(`malformed module: ${where} has a non-constant initializer`);
      r.skip(16);
      break;
    case 0xfb:
      throw unsupported(where, 'garbage collection (constant expression)');
    default:
      throw invalidModule(
        `malformed module: ${where} has an invalid constant expression at byte offset ${at}`,
      );
  }
  const next = r.u8();
  if (next === 0x0b) return;
  if (EXTENDED_CONST_OPCODES.has(next) || next === 0x41 || next === 0x42 || next === 0x23) {
    throw unsupported(where, 'extended constant expressions');
  }
  throw invalidModule(
    `malformed module: ${where} has an unterminated constant expression at byte offset ${r.pos - 1}`,
  );
}
