/**
 * Rewrites one function body in a single pass over its instructions, writing straight into the
 * output. Unchanged instruction bytes are copied in runs; the meter's code is inserted at region
 * starts, before bulk operations, in place of `memory.grow` and `return`, and around the body.
 *
 * Alongside, it tracks what the meter needs: the control stack (to know where regions start
 * and which labels are branched to), whether code is reachable (dead code is not charged), and
 * the operand stack height (for the frame cost of the call-depth limit). The module has passed
 * WebAssembly.validate, so arities can be trusted; every read is still bounds-checked and every
 * opcode goes through the fail-closed table.
 */
import {
  IMMEDIATE,
  Imm,
  MISC_BASE,
  MISC_PREFIX,
  POPS,
  PUSHES,
  REJECTED_OPCODES,
  SIMD_BASE,
  SIMD_PREFIX,
  formatOpcode,
  isRelaxedSimd,
} from './opcodes.ts';
import type { FuelCosts, MeterSlots } from './instrument-fuel.ts';
import {
  emitCharge,
  emitChargeAndCheck,
  emitEntryCharge,
  emitFuelLoad,
  emitFuelStore,
  emitLengthCharge,
  emitMemoryGrow,
  shiftOf,
} from './instrument-fuel.ts';
import { emitStackEntry, emitStackExit, frameCost } from './instrument-stack.ts';
import type { BodyRef, ParsedModule } from './parse-module.ts';
import { ByteReader, invalidModule } from './reader.ts';
import { EMPTY_BLOCK_TYPE, ValType, frameBytesOf } from './types.ts';
import { checkRefType, checkValueType, unsupported } from './validate.ts';
import type { ByteWriter } from './writer.ts';

/** Locals the meter adds to every function: one i64 (fuel check) and one i32 (stack check, operands). */
export const SCRATCH_LOCALS = 2;

/** V8's limits (wasm-limits.h); a rewritten function must stay inside them to compile. */
export const ENGINE_MAX_FUNCTION_BODY_BYTES = 7_654_321;
export const ENGINE_MAX_LOCALS = 50_000;

/** Everything about the module the body rewriter needs, computed once per module. */
export interface RewriteContext {
  module: ParsedModule;
  /** Cost per instruction code (see costTable). */
  costs: Uint16Array;
  fuelCosts: FuelCosts;
  /** Globals and scratch locals; scratch indices are set per function. */
  slots: MeterSlots;
  /** Encoded block type of the wrapper block, per type index (the type's results, no params). */
  wrapperBlockTypes: Uint8Array[];
  /** 1 where a type mentions v128. */
  typeHasV128: Uint8Array;
  /** 1 where a global (index space) is a v128. */
  globalIsV128: Uint8Array;
}

const FRAME_FUNCTION = 0;
const FRAME_BLOCK = 1;
const FRAME_LOOP = 2;
const FRAME_IF = 3;
const FRAME_ELSE = 4;

/** The control stack as parallel arrays, reused across functions to avoid per-frame objects. */
class ControlStack {
  kind: number[] = [];
  base: number[] = [];
  params: number[] = [];
  results: number[] = [];
  entryReachable: boolean[] = [];
  thenReachable: boolean[] = [];
  targeted: boolean[] = [];
  depth = 0;

  push(kind: number, base: number, params: number, results: number, reachable: boolean): void {
    const d = this.depth++;
    this.kind[d] = kind;
    this.base[d] = base;
    this.params[d] = params;
    this.results[d] = results;
    this.entryReachable[d] = reachable;
    this.thenReachable[d] = false;
    this.targeted[d] = false;
  }
}

const control = new ControlStack();

/** Rewrites function `funcIndex` (module index space) and appends it, size-prefixed, to `out`. */
export function rewriteBody(ctx: RewriteContext, funcIndex: number, body: BodyRef, out: ByteWriter): void {
  const m = ctx.module;
  const bytes = m.bytes;
  const typeIndex = m.functionTypes[funcIndex]!;
  const type = m.types[typeIndex]!;
  const where = `function ${funcIndex}`;
  const localCount = type.params.length + body.localCount;
  if (localCount + SCRATCH_LOCALS > ENGINE_MAX_LOCALS) {
    throw invalidModule(
      `${where} has ${localCount} params and locals; with the ${SCRATCH_LOCALS} the meter adds this exceeds the engine's limit of ${ENGINE_MAX_LOCALS}`,
    );
  }
  const slots = ctx.slots;
  slots.scratch64 = localCount;
  slots.scratch32 = localCount + 1;

  // Size placeholder, then locals: the original groups plus the two scratch locals.
  const sizeAt = out.padded(0);
  const bodyStart = out.length;
  const header = new ByteReader(bytes, body.start, body.codeStart);
  const groups = header.u32();
  out.u32(groups + SCRATCH_LOCALS);
  let localsBytes = 0;
  let usesV128 = false;
  for (const t of type.params) {
    localsBytes += frameBytesOf(t);
    if (t === ValType.v128) usesV128 = true;
  }
  const groupsStart = header.pos;
  for (let g = 0; g < groups; g++) {
    const count = header.u32();
    const t = header.u8();
    localsBytes += count * frameBytesOf(t);
    if (t === ValType.v128) usesV128 = true;
  }
  out.bytes(bytes, groupsStart, body.codeStart);
  out.u8(1);
  out.u8(ValType.i64);
  out.u8(1);
  out.u8(ValType.i32);
  localsBytes += 16;

  // Prologue: stack budget, then the wrapper block every exit leaves through, then the entry region.
  const frameCostAt = emitStackEntry(out, slots);
  out.u8(0x02);
  out.bytes(ctx.wrapperBlockTypes[typeIndex]!);
  let regionAt = emitEntryCharge(out, slots);
  let regionCost = 0;

  const costs = ctx.costs;
  const fuel = ctx.fuelCosts;
  const bulkShift = shiftOf(fuel.memoryBytesPerUnit);
  const r = new ByteReader(bytes, body.codeStart, body.end);
  const c = control;
  c.depth = 0;
  c.push(FRAME_FUNCTION, 0, 0, type.results.length, true);
  let curBase = 0;
  let height = 0;
  let maxHeight = 0;
  let reachable = true;
  let copyFrom = r.pos;
  // Scratch for block types.
  let btParams = 0;
  let btResults = 0;

  const readBlockType = (): void => {
    const b = r.peek();
    if (b === EMPTY_BLOCK_TYPE) {
      r.pos++;
      btParams = 0;
      btResults = 0;
      return;
    }
    if (b >= 0x40 && b < 0x80) {
      // A single value type: one byte, which as an s33 would be negative.
      checkValueType(b, where, r.pos);
      if (b === ValType.v128) usesV128 = true;
      r.pos++;
      btParams = 0;
      btResults = 1;
      return;
    }
    const at = r.pos;
    const index = r.s33();
    const bt = m.types[index];
    if (index < 0 || bt === undefined) {
      throw invalidModule(`malformed module: ${where} has block type ${index} at byte offset ${at}`);
    }
    if (ctx.typeHasV128[index]) usesV128 = true;
    btParams = bt.params.length;
    btResults = bt.results.length;
  };

  const pop = (n: number): void => {
    height -= n;
    if (height < curBase) height = curBase;
  };

  const markTarget = (label: number): void => {
    if (label >= c.depth)
      throw invalidModule(`malformed module: ${where} branches to unknown label ${label}`);
    if (reachable) c.targeted[c.depth - 1 - label] = true;
  };

  /** Closes the current region and opens one after the instruction just read. */
  const newRegion = (check: boolean): void => {
    out.patchPadded(regionAt, regionCost);
    if (r.pos > copyFrom) out.bytes(bytes, copyFrom, r.pos);
    copyFrom = r.pos;
    regionAt = check ? emitChargeAndCheck(out, slots) : emitCharge(out, slots);
    regionCost = 0;
  };

  /** The callee (or a host function) reads and charges the global: store before, reload after. */
  const aroundCall = (opStart: number): void => {
    flushBefore(opStart);
    emitFuelStore(out, slots);
    out.bytes(bytes, opStart, r.pos);
    emitFuelLoad(out, slots);
    copyFrom = r.pos;
  };

  const flushBefore = (at: number): void => {
    if (at > copyFrom) out.bytes(bytes, copyFrom, at);
    copyFrom = at;
  };

  for (;;) {
    const opStart = r.pos;
    if (opStart >= r.end) throw invalidModule(`malformed module: ${where} ends without its final end`);
    const op = bytes[r.pos++]!;
    let code = op;
    if (op === MISC_PREFIX || op === SIMD_PREFIX) {
      const sub = r.u32();
      if (op === SIMD_PREFIX) {
        if (isRelaxedSimd(sub))
          throw unsupported(where, `relaxed SIMD (${formatOpcode(SIMD_BASE)} 0x${sub.toString(16)})`);
        code = sub <= 0xff ? SIMD_BASE + sub : -1;
        usesV128 = true;
      } else {
        code = sub <= 0xff ? MISC_BASE + sub : -1;
      }
      if (code < 0 || IMMEDIATE[code] === Imm.unknown) {
        throw invalidModule(
          `${where} has unknown instruction 0x${op.toString(16)} 0x${sub.toString(16)} at byte offset ${opStart}`,
        );
      }
    }
    const imm = IMMEDIATE[code]!;
    if (imm === Imm.unknown) {
      const feature = REJECTED_OPCODES.get(op);
      if (feature !== undefined) throw unsupported(where, feature);
      throw invalidModule(`${where} has unknown opcode ${formatOpcode(op)} at byte offset ${opStart}`);
    }
    if (reachable) regionCost += costs[code]!;

    switch (code) {
      case 0x02: // block
        readBlockType();
        pop(btParams);
        c.push(FRAME_BLOCK, height, btParams, btResults, reachable);
        curBase = height;
        height += btParams;
        break;
      case 0x03: // loop: its header is a branch target, so a region with a check starts here
        readBlockType();
        pop(btParams);
        c.push(FRAME_LOOP, height, btParams, btResults, reachable);
        curBase = height;
        height += btParams;
        if (reachable) newRegion(true);
        break;
      case 0x04: // if: the then-arm runs conditionally, so it is a region of its own
        readBlockType();
        pop(1 + btParams);
        c.push(FRAME_IF, height, btParams, btResults, reachable);
        curBase = height;
        height += btParams;
        if (reachable) newRegion(false);
        break;
      case 0x05: {
        // else
        const d = c.depth - 1;
        if (c.kind[d] !== FRAME_IF) throw invalidModule(`malformed module: ${where} has else without if`);
        c.thenReachable[d] = reachable;
        c.kind[d] = FRAME_ELSE;
        reachable = c.entryReachable[d]!;
        height = c.base[d]! + c.params[d]!;
        if (reachable) newRegion(false);
        break;
      }
      case 0x0b: {
        // end
        const d = c.depth - 1;
        const kind = c.kind[d]!;
        if (kind === FRAME_FUNCTION) {
          out.patchPadded(regionAt, regionCost);
          flushBefore(opStart);
          const cost = frameCost(localsBytes, maxHeight, usesV128 ? 16 : 8);
          out.patchPadded(frameCostAt, cost);
          out.u8(0x0b); // closes the wrapper block
          emitFuelStore(out, slots);
          emitStackExit(out, slots, cost);
          out.u8(0x0b); // the function's own end
          copyFrom = r.pos;
          if (r.pos !== r.end)
            throw invalidModule(`malformed module: ${where} has bytes after its final end`);
          const size = out.length - bodyStart;
          if (size > ENGINE_MAX_FUNCTION_BODY_BYTES) {
            throw invalidModule(
              `${where} grows to ${size} bytes once metered; the engine's limit is ${ENGINE_MAX_FUNCTION_BODY_BYTES}`,
            );
          }
          out.patchPadded(sizeAt, size);
          c.depth = 0;
          return;
        }
        const targeted = c.targeted[d]!;
        let after: boolean;
        let fresh: boolean;
        if (kind === FRAME_BLOCK) {
          after = reachable || targeted;
          fresh = after && targeted;
        } else if (kind === FRAME_LOOP) {
          after = reachable;
          fresh = false;
        } else if (kind === FRAME_IF) {
          after = reachable || c.entryReachable[d]! || targeted;
          fresh = after;
        } else {
          after = reachable || c.thenReachable[d]! || targeted;
          fresh = after;
        }
        height = c.base[d]! + c.results[d]!;
        c.depth = d;
        curBase = c.base[d - 1]!;
        reachable = after;
        if (fresh) newRegion(false);
        break;
      }
      case 0x0c: // br
        markTarget(r.u32());
        reachable = false;
        height = curBase;
        break;
      case 0x0d: // br_if
        markTarget(r.u32());
        pop(1);
        break;
      case 0x0e: {
        // br_table
        const count = r.u32();
        if (count > r.end - r.pos)
          throw r.malformed(`${count} br_table targets announced, fewer bytes remain`);
        for (let i = 0; i <= count; i++) markTarget(r.u32());
        reachable = false;
        height = curBase;
        break;
      }
      case 0x0f: // return becomes a branch to the wrapper block, so the epilogue runs
        flushBefore(opStart);
        out.u8(0x0c);
        out.u32(c.depth - 1);
        copyFrom = r.pos;
        if (reachable) c.targeted[0] = true;
        reachable = false;
        height = curBase;
        break;
      case 0x00: // unreachable
        reachable = false;
        height = curBase;
        break;
      case 0x10: {
        // call
        const callee = r.u32();
        const t = m.functionTypes[callee];
        if (t === undefined)
          throw invalidModule(`malformed module: ${where} calls unknown function ${callee}`);
        const ft = m.types[t]!;
        if (ctx.typeHasV128[t]) usesV128 = true;
        pop(ft.params.length);
        height += ft.results.length;
        if (reachable) aroundCall(opStart);
        break;
      }
      case 0x11: {
        // call_indirect
        const t = r.u32();
        r.u32();
        const ft = m.types[t];
        if (ft === undefined) throw invalidModule(`malformed module: ${where} uses unknown type ${t}`);
        if (ctx.typeHasV128[t]) usesV128 = true;
        pop(1 + ft.params.length);
        height += ft.results.length;
        if (reachable) aroundCall(opStart);
        break;
      }
      case 0x40: // memory.grow: replaced by the ceiling-checked, charged sequence
        memoryIndex(r, where);
        flushBefore(opStart);
        emitMemoryGrow(out, slots, fuel.memoryGrowPerPage);
        copyFrom = r.pos;
        break;
      case MISC_BASE + 0x08: // memory.init
      case MISC_BASE + 0x0a: // memory.copy
      case MISC_BASE + 0x0b: // memory.fill
        skipImmediates(r, imm, where);
        flushBefore(opStart);
        emitLengthCharge(out, slots, 1, bulkShift);
        pop(3);
        break;
      case MISC_BASE + 0x0c: // table.init
      case MISC_BASE + 0x0e: // table.copy
      case MISC_BASE + 0x11: // table.fill
        skipImmediates(r, imm, where);
        flushBefore(opStart);
        emitLengthCharge(out, slots, fuel.tableElement, 0);
        pop(3);
        break;
      case MISC_BASE + 0x0f: // table.grow
        skipImmediates(r, imm, where);
        flushBefore(opStart);
        emitLengthCharge(out, slots, fuel.tableElement, 0);
        pop(2);
        height += 1;
        break;
      case 0x23: // global.get
      case 0x24: {
        // global.set
        const g = r.u32();
        if (ctx.globalIsV128[g]) usesV128 = true;
        if (code === 0x23) height += 1;
        else pop(1);
        break;
      }
      default:
        skipImmediates(r, imm, where);
        if (imm === Imm.selectTyped && r.bytes[r.pos - 1] === ValType.v128) usesV128 = true;
        pop(POPS[code]!);
        height += PUSHES[code]!;
    }
    if (height > maxHeight) maxHeight = height;
  }
}

function memoryIndex(r: ByteReader, where: string): void {
  const index = r.u32();
  if (index !== 0) throw unsupported(where, `multi-memory (memory index ${index})`);
}

/** Skips the immediates of an instruction whose shape is `imm`, refusing multi-memory forms. */
function skipImmediates(r: ByteReader, imm: number, where: string): void {
  switch (imm) {
    case Imm.none:
      return;
    case Imm.label:
    case Imm.func:
    case Imm.local:
    case Imm.global:
    case Imm.table:
    case Imm.data:
    case Imm.elem:
      r.u32();
      return;
    case Imm.tablePair:
    case Imm.elemAndTable:
    case Imm.callIndirect:
      r.u32();
      r.u32();
      return;
    case Imm.memArg:
      memArg(r, where);
      return;
    case Imm.memArgLane:
      memArg(r, where);
      r.u8();
      return;
    case Imm.memIndex:
      memoryIndex(r, where);
      return;
    case Imm.memoryPair:
      memoryIndex(r, where);
      memoryIndex(r, where);
      return;
    case Imm.dataAndMemory:
      r.u32();
      memoryIndex(r, where);
      return;
    case Imm.i32:
      r.skipSigned(5);
      return;
    case Imm.i64:
      r.skipSigned(10);
      return;
    case Imm.f32:
      r.skip(4);
      return;
    case Imm.f64:
      r.skip(8);
      return;
    case Imm.v128:
    case Imm.shuffle:
      r.skip(16);
      return;
    case Imm.lane:
      r.u8();
      return;
    case Imm.refType: {
      const at = r.pos;
      const t = r.u8();
      if (t < 0x40 || t >= 0x80)
        throw unsupported(where, 'typed function references (ref.null of a type index)');
      checkRefType(t, where, at);
      return;
    }
    case Imm.selectTyped: {
      const count = r.u32();
      if (count !== 1)
        throw invalidModule(`malformed module: ${where} has a typed select with ${count} types`);
      const at = r.pos;
      const t = r.u8();
      if (t !== ValType.i32 && t !== ValType.i64 && t !== ValType.f32 && t !== ValType.f64) {
        if (t !== ValType.v128 && t !== ValType.funcref && t !== ValType.externref) {
          throw invalidModule(
            `malformed module: ${where} has select type 0x${t.toString(16)} at byte offset ${at}`,
          );
        }
      }
      return;
    }
    default:
      throw invalidModule(`${where}: instruction shape ${imm} cannot appear here`);
  }
}

function memArg(r: ByteReader, where: string): void {
  const align = r.u32();
  if (align & 0x40) throw unsupported(where, 'multi-memory (memory index in a memarg)');
  r.u32();
}
