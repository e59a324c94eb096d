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
  NAMES,
  POPS,
  PUSHES,
  REJECTED_OPCODES,
  SIMD_BASE,
  SIMD_PREFIX,
  formatOpcode,
  isRelaxedSimd,
} from './opcodes.ts';
import type { FuelCosts, MeterSlots } from './instrument-fuel.ts';
import { emitLengthCharge, emitMemoryGrow, shiftOf } from './instrument-fuel.ts';
import { emitStackExit, frameCost } from './instrument-stack.ts';
import { buildMeterSequences, emitPatchable, type MeterSequences } from './meter-sequences.ts';
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
  /** Prebuilt sequences by first scratch local index (see meter-sequences.ts). */
  sequences: Map<number, MeterSequences>;
  /**
   * Why instances of this module may not be reused, or null: the first instruction met that
   * changes state a reset cannot restore (a dropped segment, a table's contents or size).
   */
  reuseBlocker: string | null;
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
  new BodyRewriter(ctx, funcIndex, body, out).run();
}

/**
 * One function's rewrite. The hot per-instruction state (operand height, reachability, the
 * current region's cost) lives in locals of `run`; what the rarer steps share lives in fields.
 * No closures: a closure over a mutable local would move it to the heap for the whole loop.
 */
class BodyRewriter {
  readonly ctx: RewriteContext;
  readonly out: ByteWriter;
  readonly bytes: Uint8Array;
  readonly r: ByteReader;
  readonly where: string;
  readonly body: BodyRef;
  readonly typeIndex: number;
  readonly seq: MeterSequences;
  /** Start of the original bytes not yet copied to `out`. */
  copyFrom: number;
  /** Position of the current region's cost placeholder. */
  regionAt = 0;
  usesV128 = false;
  /** Arity of the block type read last. */
  btParams = 0;
  btResults = 0;

  constructor(ctx: RewriteContext, funcIndex: number, body: BodyRef, out: ByteWriter) {
    const m = ctx.module;
    this.ctx = ctx;
    this.out = out;
    this.bytes = m.bytes;
    this.body = body;
    this.where = `function ${funcIndex}`;
    this.typeIndex = m.functionTypes[funcIndex]!;
    const localCount = m.types[this.typeIndex]!.params.length + body.localCount;
    if (localCount + SCRATCH_LOCALS > ENGINE_MAX_LOCALS) {
      throw invalidModule(
        `${this.where} has ${localCount} params and locals; with the ${SCRATCH_LOCALS} the meter adds this exceeds the engine's limit of ${ENGINE_MAX_LOCALS}`,
      );
    }
    const slots = ctx.slots;
    slots.scratch64 = localCount;
    slots.scratch32 = localCount + 1;
    let seq = ctx.sequences.get(localCount);
    if (seq === undefined) {
      seq = buildMeterSequences(slots);
      ctx.sequences.set(localCount, seq);
    }
    this.seq = seq;
    this.r = new ByteReader(this.bytes, body.codeStart, body.end);
    this.copyFrom = body.codeStart;
  }

  /** Writes the locals (original groups plus the scratch locals); returns their frame bytes. */
  private writeLocals(): number {
    const { out, bytes, body } = this;
    const type = this.ctx.module.types[this.typeIndex]!;
    const header = new ByteReader(bytes, body.start, body.codeStart);
    const groups = header.u32();
    out.u32(groups + SCRATCH_LOCALS);
    let localsBytes = 0;
    // A param occupies a slot in this frame and one in the caller's outgoing-argument area.
    for (const t of type.params) {
      localsBytes += 2 * frameBytesOf(t);
      if (t === ValType.v128) this.usesV128 = true;
    }
    const groupsStart = header.pos;
    for (let g = 0; g < groups; g++) {
      const count = header.u32();
      const t = header.u8();
      localsBytes += count * frameBytesOf(t);
      if (t === ValType.v128) this.usesV128 = true;
    }
    out.bytes(bytes, groupsStart, body.codeStart);
    out.u8(1);
    out.u8(ValType.i64);
    out.u8(1);
    out.u8(ValType.i32);
    return localsBytes + frameBytesOf(ValType.i64) + frameBytesOf(ValType.i32);
  }

  run(): void {
    const { ctx, out, bytes, r, where, seq } = this;
    const m = ctx.module;
    const type = m.types[this.typeIndex]!;
    const sizeAt = out.padded(0);
    const bodyStart = out.length;
    const localsBytes = this.writeLocals();

    // Prologue: stack budget, then the wrapper block every exit leaves through, then the entry region.
    const frameCostAt = emitPatchable(out, seq.stackEntry);
    out.u8(0x02);
    out.append(ctx.wrapperBlockTypes[this.typeIndex]!);
    this.regionAt = emitPatchable(out, seq.entryCharge);

    const costs = ctx.costs;
    const fuel = ctx.fuelCosts;
    const bulkShift = shiftOf(fuel.memoryBytesPerUnit);
    const typeHasV128 = ctx.typeHasV128;
    const c = control;
    c.depth = 0;
    c.push(FRAME_FUNCTION, 0, 0, type.results.length, true);
    let regionCost = 0;
    let curBase = 0;
    let height = 0;
    let maxHeight = 0;
    let reachable = true;

    for (;;) {
      const opStart = r.pos;
      if (opStart >= r.end) throw invalidModule(`malformed module: ${where} ends without its final end`);
      const op = bytes[r.pos++]!;
      let code = op;
      if (op === MISC_PREFIX || op === SIMD_PREFIX) code = this.prefixedCode(op, opStart);
      const imm = IMMEDIATE[code]!;
      if (imm === Imm.unknown) {
        const feature = REJECTED_OPCODES.get(op);
        if (feature !== undefined) throw unsupported(where, feature);
        throw invalidModule(`${where} has unknown opcode ${formatOpcode(op)} at byte offset ${opStart}`);
      }
      if (reachable) regionCost += costs[code]!;

      switch (code) {
        case 0x02: // block
        case 0x03: // loop
        case 0x04: {
          // if
          this.readBlockType();
          height -= this.btParams + (code === 0x04 ? 1 : 0);
          if (height < curBase) height = curBase;
          c.push(
            code === 0x02 ? FRAME_BLOCK : code === 0x03 ? FRAME_LOOP : FRAME_IF,
            height,
            this.btParams,
            this.btResults,
            reachable,
          );
          curBase = height;
          height += this.btParams;
          // A loop header is a branch target (a region with a check); an if's arm runs
          // conditionally (a region of its own).
          if (code !== 0x02 && reachable) {
            this.newRegion(code === 0x03, regionCost);
            regionCost = 0;
          }
          break;
        }
        case 0x05: {
          // else
          const d = c.depth - 1;
          if (c.kind[d] !== FRAME_IF) throw invalidModule(`malformed module: ${where} has else without if`);
          c.thenReachable[d] = reachable;
          c.kind[d] = FRAME_ELSE;
          reachable = c.entryReachable[d]!;
          height = c.base[d]! + c.params[d]!;
          if (reachable) {
            this.newRegion(false, regionCost);
            regionCost = 0;
          }
          break;
        }
        case 0x0b: {
          // end
          const d = c.depth - 1;
          const kind = c.kind[d]!;
          if (kind === FRAME_FUNCTION) {
            out.patchPadded(this.regionAt, regionCost);
            this.finish(
              opStart,
              sizeAt,
              bodyStart,
              frameCostAt,
              frameCost(localsBytes, maxHeight, this.usesV128 ? 16 : 8),
            );
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
          if (fresh) {
            this.newRegion(false, regionCost);
            regionCost = 0;
          }
          break;
        }
        case 0x0c: // br
          this.markTarget(r.u32(), reachable);
          reachable = false;
          height = curBase;
          break;
        case 0x0d: // br_if
          this.markTarget(r.u32(), reachable);
          height = height - 1 < curBase ? curBase : height - 1;
          break;
        case 0x0e: {
          // br_table
          const count = r.u32();
          if (count > r.end - r.pos)
            throw r.malformed(`${count} br_table targets announced, fewer bytes remain`);
          for (let i = 0; i <= count; i++) this.markTarget(r.u32(), reachable);
          reachable = false;
          height = curBase;
          break;
        }
        case 0x0f: // return becomes a branch to the wrapper block, so the epilogue runs
          this.flushBefore(opStart);
          out.u8(0x0c);
          out.u32(c.depth - 1);
          this.copyFrom = r.pos;
          if (reachable) c.targeted[0] = true;
          reachable = false;
          height = curBase;
          break;
        case 0x00: // unreachable
          reachable = false;
          height = curBase;
          break;
        case 0x10: // call
        case 0x11: {
          // call_indirect
          let t: number;
          if (code === 0x10) {
            const callee = r.u32();
            const calleeType = m.functionTypes[callee];
            if (calleeType === undefined)
              throw invalidModule(`malformed module: ${where} calls unknown function ${callee}`);
            t = calleeType;
          } else {
            t = r.u32();
            r.u32();
            if (t >= m.types.length) throw invalidModule(`malformed module: ${where} uses unknown type ${t}`);
            height -= 1;
          }
          const ft = m.types[t]!;
          if (typeHasV128[t]) this.usesV128 = true;
          height -= ft.params.length;
          if (height < curBase) height = curBase;
          height += ft.results.length;
          // The callee (or a host function) reads and charges the global: store before, reload after.
          if (reachable) this.aroundCall(opStart);
          break;
        }
        case 0x40: // memory.grow: replaced by the ceiling-checked, charged sequence
          memoryIndex(r, where);
          this.flushBefore(opStart);
          emitMemoryGrow(out, ctx.slots, fuel.memoryGrowPerPage);
          this.copyFrom = r.pos;
          break;
        case MISC_BASE + 0x08: // memory.init
        case MISC_BASE + 0x0a: // memory.copy
        case MISC_BASE + 0x0b: // memory.fill
        case MISC_BASE + 0x0c: // table.init
        case MISC_BASE + 0x0e: // table.copy
        case MISC_BASE + 0x0f: // table.grow
        case MISC_BASE + 0x11: {
          // table.fill: charge for the length operand on top of the stack, before the operation
          skipImmediates(r, imm, where);
          this.flushBefore(opStart);
          const isMemory = code <= MISC_BASE + 0x0b;
          if (!isMemory) this.blockReuse(code);
          emitLengthCharge(out, ctx.slots, isMemory ? 1 : fuel.tableElement, isMemory ? bulkShift : 0);
          height -= POPS[code]!;
          if (height < curBase) height = curBase;
          height += PUSHES[code]!;
          break;
        }
        case 0x26: // table.set
        case MISC_BASE + 0x09: // data.drop
        case MISC_BASE + 0x0d: // elem.drop
          this.blockReuse(code);
          skipImmediates(r, imm, where);
          height -= POPS[code]!;
          if (height < curBase) height = curBase;
          break;
        case 0x23: // global.get
        case 0x24: {
          // global.set
          const g = r.u32();
          if (ctx.globalIsV128[g]) this.usesV128 = true;
          if (code === 0x23) height += 1;
          else height = height - 1 < curBase ? curBase : height - 1;
          break;
        }
        default:
          if (imm !== Imm.none) {
            skipImmediates(r, imm, where);
            if (imm === Imm.selectTyped && bytes[r.pos - 1] === ValType.v128) this.usesV128 = true;
          }
          height -= POPS[code]!;
          if (height < curBase) height = curBase;
          height += PUSHES[code]!;
      }
      if (height > maxHeight) maxHeight = height;
    }
  }

  /** Records the first instruction that makes the module's instances impossible to reset (reachable or not). */
  private blockReuse(code: number): void {
    this.ctx.reuseBlocker ??= `${this.where} uses ${NAMES[code]!}, whose effect a reset cannot undo`;
  }

  /** Reads the sub-opcode of a 0xfc/0xfd instruction and returns its code, refusing unknown ones. */
  private prefixedCode(op: number, opStart: number): number {
    const sub = this.r.u32();
    let code = -1;
    if (op === SIMD_PREFIX) {
      if (isRelaxedSimd(sub)) throw unsupported(this.where, `relaxed SIMD (0xfd 0x${sub.toString(16)})`);
      if (sub <= 0xff) code = SIMD_BASE + sub;
      this.usesV128 = true;
    } else if (sub <= 0xff) {
      code = MISC_BASE + sub;
    }
    if (code < 0 || IMMEDIATE[code] === Imm.unknown) {
      throw invalidModule(
        `${this.where} has unknown instruction 0x${op.toString(16)} 0x${sub.toString(16)} at byte offset ${opStart}`,
      );
    }
    return code;
  }

  private readBlockType(): void {
    const r = this.r;
    const b = r.peek();
    if (b === EMPTY_BLOCK_TYPE) {
      r.pos++;
      this.btParams = 0;
      this.btResults = 0;
      return;
    }
    if (b >= 0x40 && b < 0x80) {
      // A single value type: one byte, which as an s33 would be negative.
      checkValueType(b, this.where, r.pos);
      if (b === ValType.v128) this.usesV128 = true;
      r.pos++;
      this.btParams = 0;
      this.btResults = 1;
      return;
    }
    const at = r.pos;
    const index = r.s33();
    const bt = this.ctx.module.types[index];
    if (index < 0 || bt === undefined) {
      throw invalidModule(`malformed module: ${this.where} has block type ${index} at byte offset ${at}`);
    }
    if (this.ctx.typeHasV128[index]) this.usesV128 = true;
    this.btParams = bt.params.length;
    this.btResults = bt.results.length;
  }

  private markTarget(label: number, reachable: boolean): void {
    const c = control;
    if (label >= c.depth)
      throw invalidModule(`malformed module: ${this.where} branches to unknown label ${label}`);
    if (reachable) c.targeted[c.depth - 1 - label] = true;
  }

  /** Closes the current region (patching its cost) and opens one after the instruction just read. */
  private newRegion(check: boolean, closingCost: number): void {
    const { out, r } = this;
    out.patchPadded(this.regionAt, closingCost);
    this.flushBefore(r.pos);
    this.regionAt = emitPatchable(out, check ? this.seq.loopCharge : this.seq.charge);
  }

  private aroundCall(opStart: number): void {
    const { out, r } = this;
    this.flushBefore(opStart);
    out.append(this.seq.fuelStore);
    out.bytes(this.bytes, opStart, r.pos);
    out.append(this.seq.fuelLoad);
    this.copyFrom = r.pos;
  }

  /** Copies the original bytes up to `at`. */
  private flushBefore(at: number): void {
    if (at > this.copyFrom) this.out.bytes(this.bytes, this.copyFrom, at);
    this.copyFrom = at;
  }

  /** The final `end`: close the wrapper block, store fuel, restore the stack budget, patch sizes. */
  private finish(
    opStart: number,
    sizeAt: number,
    bodyStart: number,
    frameCostAt: number,
    cost: number,
  ): void {
    const { out, r, where } = this;
    this.flushBefore(opStart);
    out.patchPadded(frameCostAt, cost);
    out.u8(0x0b); // closes the wrapper block
    out.append(this.seq.fuelStore);
    emitStackExit(out, this.ctx.slots, cost);
    out.u8(0x0b); // the function's own end
    this.copyFrom = r.pos;
    if (r.pos !== r.end) throw invalidModule(`malformed module: ${where} has bytes after its final end`);
    const size = out.length - bodyStart;
    if (size > ENGINE_MAX_FUNCTION_BODY_BYTES) {
      throw invalidModule(
        `${where} grows to ${size} bytes once metered; the engine's limit is ${ENGINE_MAX_FUNCTION_BODY_BYTES}`,
      );
    }
    out.patchPadded(sizeAt, size);
    control.depth = 0;
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
