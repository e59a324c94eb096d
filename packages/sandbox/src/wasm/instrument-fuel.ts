/**
 * Fuel metering: the cost table and the instruction sequences the rewriter inserts.
 *
 * Cost model (docs/sandbox-rewriter.md): code is split into regions — straight-line runs that
 * start where control can enter (function entry, loop header, either arm of an `if`, the join
 * after an `if`, the end of a block some branch targets). A region is charged in full, once, as
 * it is entered; the check `fuel < 0 ⇒ unreachable` runs only at function entries and loop
 * headers, because only calls and back edges can repeat work. Bulk operations and `memory.grow`
 * are charged in proportion to their operand and checked at once, before they run.
 */
import { CODE_SPACE, NAMES, codeOfName } from './opcodes.ts';
import { ValType } from './types.ts';
import type { ByteWriter } from './writer.ts';

/** What each instruction costs, in fuel units. */
export interface FuelCosts {
  /** Units per instruction, unless `byInstruction` names it. */
  instruction: number;
  /** Overrides by mnemonic (e.g. `{ 'i64.div_s': 4 }`). Unknown mnemonics are rejected. */
  byInstruction: Readonly<Record<string, number>>;
  /** Units per 64 KiB page a `memory.grow` adds, charged before growing; a denied grow is not charged per page. */
  memoryGrowPerPage: number;
  /** `memory.fill`/`copy`/`init` cost one unit per this many bytes (a power of two). */
  memoryBytesPerUnit: number;
  /** Units per element for `table.fill`/`copy`/`init`/`grow`. */
  tableElement: number;
}

/**
 * Default costs: one unit per instruction, except the purely structural ones that compile to no
 * machine code. A byte of bulk memory work is far cheaper than an instruction (memset moves
 * tens of bytes per nanosecond), so bulk operations cost one unit per 8 bytes, and a grown page
 * costs what filling it would.
 */
export const DEFAULT_FUEL_COSTS: Readonly<FuelCosts> = Object.freeze({
  instruction: 1,
  byInstruction: Object.freeze({ nop: 0, block: 0, loop: 0, else: 0, end: 0 }),
  memoryGrowPerPage: 8192,
  memoryBytesPerUnit: 8,
  tableElement: 1,
});

/** Highest cost one instruction may have: keeps every region's total below 2^34 (its placeholder). */
export const MAX_INSTRUCTION_COST = 1000;
/** Highest per-page / per-element multiplier: a u32 operand times it stays far inside i64. */
export const MAX_OPERAND_COST = 1 << 20;

const tableCache = new WeakMap<FuelCosts, Uint16Array>();

/** The per-code cost array for `costs`, validated once and cached per costs object. */
export function costTable(costs: FuelCosts): Uint16Array {
  const cached = tableCache.get(costs);
  if (cached) return cached;
  checkCosts(costs);
  const table = new Uint16Array(CODE_SPACE);
  for (let code = 0; code < CODE_SPACE; code++) if (NAMES[code] !== '') table[code] = costs.instruction;
  for (const [name, cost] of Object.entries(costs.byInstruction)) table[codeOfName(name)!] = cost;
  tableCache.set(costs, table);
  return table;
}

function checkCosts(costs: FuelCosts): void {
  const integer = (value: number, max: number, what: string): void => {
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new RangeError(`fuel cost ${what} must be an integer from 0 to ${max}, got ${value}`);
    }
  };
  integer(costs.instruction, MAX_INSTRUCTION_COST, 'instruction');
  for (const [name, cost] of Object.entries(costs.byInstruction)) {
    if (codeOfName(name) === undefined) throw new RangeError(`fuel cost for unknown instruction "${name}"`);
    integer(cost, MAX_INSTRUCTION_COST, name);
  }
  integer(costs.memoryGrowPerPage, MAX_OPERAND_COST, 'memoryGrowPerPage');
  integer(costs.tableElement, MAX_OPERAND_COST, 'tableElement');
  const bytesPerUnit = costs.memoryBytesPerUnit;
  if (
    !Number.isInteger(bytesPerUnit) ||
    bytesPerUnit < 1 ||
    bytesPerUnit > 2 ** 30 ||
    (bytesPerUnit & (bytesPerUnit - 1)) !== 0
  ) {
    throw new RangeError(
      `fuel cost memoryBytesPerUnit must be a power of two up to 2^30, got ${bytesPerUnit}`,
    );
  }
}

// Opcodes used by the emitted sequences.
const GLOBAL_GET = 0x23;
const GLOBAL_SET = 0x24;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I64_CONST = 0x42;
const I64_SUB = 0x7d;
const I64_MUL = 0x7e;
const I64_SHR_U = 0x88;
const I64_LT_S = 0x53;
const I64_ADD = 0x7c;
const I64_GT_U = 0x56;
const I64_EXTEND_I32_U = 0xad;
const I32_EQZ = 0x45;
const IF = 0x04;
const ELSE = 0x05;
const END = 0x0b;
const UNREACHABLE = 0x00;
const EMPTY = 0x40;
const MEMORY_SIZE = 0x3f;
const MEMORY_GROW = 0x40;

/** Indices of the meter globals and the two scratch locals of the function being rewritten. */
export interface MeterSlots {
  fuelGlobal: number;
  stackGlobal: number;
  memoryLimitGlobal: number;
  memoryDeniedGlobal: number;
  /** i64 local holding the fuel while the function runs. */
  scratch64: number;
  /** i32 scratch local. */
  scratch32: number;
}

/** Operand stack slots the inserted sequences use above the guest's own height. */
export const INSTRUMENTATION_STACK_SLOTS = 4;

/**
 * Fuel lives in the i64 scratch local while a function runs (a register once compiled) and in
 * the `__gojinn_fuel` global whenever control may leave the function: the local is stored
 * before every call and at every exit, and reloaded after every call (a host function may
 * have charged fuel). Every check also stores it (see emitTeeAndCheck), so a meter trap always
 * leaves the true value in the global.
 */

/** Pushes `value - C` where value is read by `loadOp index`; returns C's placeholder. */
function emitMinusPlaceholder(w: ByteWriter, loadOp: number, index: number): number {
  w.u8(loadOp);
  w.u32(index);
  w.u8(I64_CONST);
  const at = w.padded(0);
  w.u8(I64_SUB);
  return at;
}

/** Function entry: `f = fuel - C; fuel = f; if (f < 0) unreachable`; returns C's placeholder. */
export function emitEntryCharge(w: ByteWriter, s: MeterSlots): number {
  const at = emitMinusPlaceholder(w, GLOBAL_GET, s.fuelGlobal);
  emitTeeAndCheck(w, s);
  return at;
}

/** Loop header: `f -= C; fuel = f; if (f < 0) unreachable`; returns C's placeholder. */
export function emitChargeAndCheck(w: ByteWriter, s: MeterSlots): number {
  const at = emitMinusPlaceholder(w, LOCAL_GET, s.scratch64);
  emitTeeAndCheck(w, s);
  return at;
}

/** Any other region: `f -= C`; returns C's placeholder. */
export function emitCharge(w: ByteWriter, s: MeterSlots): number {
  const at = emitMinusPlaceholder(w, LOCAL_GET, s.scratch64);
  w.u8(LOCAL_SET);
  w.u32(s.scratch64);
  return at;
}

/** `fuel = f`: before calls and at the function's exit. */
export function emitFuelStore(w: ByteWriter, s: MeterSlots): void {
  w.u8(LOCAL_GET);
  w.u32(s.scratch64);
  w.u8(GLOBAL_SET);
  w.u32(s.fuelGlobal);
}

/** `f = fuel`: after calls. */
export function emitFuelLoad(w: ByteWriter, s: MeterSlots): void {
  w.u8(GLOBAL_GET);
  w.u32(s.fuelGlobal);
  w.u8(LOCAL_SET);
  w.u32(s.scratch64);
}

/**
 * Stores the i64 on the stack into the fuel local and publishes it to the global, then traps
 * when it is negative. Publishing at every check (function entries, loop headers, bulk
 * operations) keeps the global close even when the guest later traps on its own: it then
 * misses only the straight-line code since the last check or call, never a loop's worth.
 */
function emitTeeAndCheck(w: ByteWriter, s: MeterSlots): void {
  w.u8(LOCAL_TEE);
  w.u32(s.scratch64);
  w.u8(GLOBAL_SET);
  w.u32(s.fuelGlobal);
  w.u8(LOCAL_GET);
  w.u32(s.scratch64);
  w.u8(I64_CONST);
  w.u8(0);
  w.u8(I64_LT_S);
  w.u8(IF);
  w.u8(EMPTY);
  w.u8(UNREACHABLE);
  w.u8(END);
}

/** Charges `f -= (operand * multiplier) >> shift` for the u32 operand held in scratch32, then checks. */
function emitOperandChargeAndCheck(w: ByteWriter, s: MeterSlots, multiplier: number, shift: number): void {
  w.u8(LOCAL_GET);
  w.u32(s.scratch64);
  w.u8(LOCAL_GET);
  w.u32(s.scratch32);
  w.u8(I64_EXTEND_I32_U);
  if (multiplier !== 1) {
    w.u8(I64_CONST);
    w.signed(multiplier);
    w.u8(I64_MUL);
  }
  if (shift !== 0) {
    w.u8(I64_CONST);
    w.signed(shift);
    w.u8(I64_SHR_U);
  }
  w.u8(I64_SUB);
  emitTeeAndCheck(w, s);
}

/**
 * Inserted before a bulk memory or table instruction, whose length operand is on top of the
 * stack: charge for the length and trap at once if the fuel is gone, so a 1 GiB fill never starts.
 */
export function emitLengthCharge(w: ByteWriter, s: MeterSlots, multiplier: number, shift: number): void {
  if (multiplier === 0) return;
  w.u8(LOCAL_TEE);
  w.u32(s.scratch32);
  emitOperandChargeAndCheck(w, s, multiplier, shift);
}

/** Shift for a power-of-two bytes-per-unit. */
export function shiftOf(bytesPerUnit: number): number {
  return Math.log2(bytesPerUnit);
}

/**
 * Replaces `memory.grow` (page delta on the stack): if the result would pass the per-invocation
 * ceiling global, push -1 without growing and record the first denied request; otherwise charge
 * for the pages, check fuel (so a grow the fuel cannot pay for traps before growing), then grow.
 * A denied grow costs only its base: it does no work, and a guest probing with a huge request
 * (wasm semantics: -1) must not lose its whole fuel budget to it.
 */
export function emitMemoryGrow(w: ByteWriter, s: MeterSlots, perPage: number): void {
  w.u8(LOCAL_SET);
  w.u32(s.scratch32);
  // memory.size + delta > limit, in i64 so no sum can wrap.
  w.u8(MEMORY_SIZE);
  w.u8(0);
  w.u8(I64_EXTEND_I32_U);
  w.u8(LOCAL_GET);
  w.u32(s.scratch32);
  w.u8(I64_EXTEND_I32_U);
  w.u8(I64_ADD);
  w.u8(GLOBAL_GET);
  w.u32(s.memoryLimitGlobal);
  w.u8(I64_EXTEND_I32_U);
  w.u8(I64_GT_U);
  w.u8(IF);
  w.u8(ValType.i32);
  w.u8(GLOBAL_GET);
  w.u32(s.memoryDeniedGlobal);
  w.u8(I32_EQZ);
  w.u8(IF);
  w.u8(EMPTY);
  w.u8(LOCAL_GET);
  w.u32(s.scratch32);
  w.u8(GLOBAL_SET);
  w.u32(s.memoryDeniedGlobal);
  w.u8(END);
  w.u8(I32_CONST);
  w.signed(-1);
  w.u8(ELSE);
  if (perPage !== 0) emitOperandChargeAndCheck(w, s, perPage, 0);
  w.u8(LOCAL_GET);
  w.u32(s.scratch32);
  w.u8(MEMORY_GROW);
  w.u8(0);
  w.u8(END);
}
