/**
 * Deterministic call depth. Every function entry subtracts a static frame cost from the
 * `__gojinn_stack` global and traps when the budget goes below zero; every exit adds it back.
 * The depth at which a guest stops is therefore a pure function of the module and the budget,
 * identical in Liftoff and TurboFan, on the main thread and in workers — unlike V8's own
 * "Maximum call stack size exceeded", which depends on the tier and the thread's stack.
 *
 * Units are bytes of a modelled frame: a fixed overhead, 8 bytes per scalar or reference
 * param/local, 16 per v128, and one slot per operand stack value at the function's deepest
 * point. Measured in Node 24 (V8 13.6), Liftoff frames take about 48 bytes plus 4 (i32/f32),
 * 8 (i64/f64/references) or 16 (v128) bytes per local, and a call's arguments occupy slots in
 * both the caller's operand stack and the callee's frame; the model charges at least that.
 */
import type { MeterSlots } from './instrument-fuel.ts';
import { INSTRUMENTATION_STACK_SLOTS } from './instrument-fuel.ts';
import type { ByteWriter } from './writer.ts';

/** Modelled bytes of a frame with no locals and an empty operand stack (return address, frame pointer, instance, spill area). */
export const FRAME_OVERHEAD_UNITS = 64;

/**
 * Default stack budget, in frame-model bytes: 512 KiB. Node's main thread gives V8 984 KiB of
 * stack and a worker 4 MiB, so a guest at its deepest still leaves about half the main
 * thread's stack to the host functions it calls and to the runtime below it. The test
 * `wasm-stack.test.ts` pins that this budget trips before V8 overflows for every frame shape
 * `maxLocalsPerFunction` allows, in both tiers and in a worker.
 */
export const DEFAULT_STACK_BUDGET = 512 * 1024;

/** Largest budget accepted: the global is an i32. */
export const MAX_STACK_BUDGET = 2 ** 31 - 1;

/** Frame cost of a function, from its locals (bytes) and operand stack depth. */
export function frameCost(localsBytes: number, maxOperandHeight: number, operandSlotBytes: number): number {
  return (
    FRAME_OVERHEAD_UNITS + localsBytes + (maxOperandHeight + INSTRUMENTATION_STACK_SLOTS) * operandSlotBytes
  );
}

const GLOBAL_GET = 0x23;
const GLOBAL_SET = 0x24;
const LOCAL_TEE = 0x22;
const LOCAL_GET = 0x20;
const I32_CONST = 0x41;
const I32_SUB = 0x6b;
const I32_ADD = 0x6a;
const I32_LT_S = 0x48;
const IF = 0x04;
const END = 0x0b;
const EMPTY = 0x40;
const UNREACHABLE = 0x00;

/** `stack -= F; if (stack < 0) unreachable` with F a placeholder; returns its position. */
export function emitStackEntry(w: ByteWriter, s: MeterSlots): number {
  w.u8(GLOBAL_GET);
  w.u32(s.stackGlobal);
  w.u8(I32_CONST);
  const at = w.padded(0);
  w.u8(I32_SUB);
  w.u8(LOCAL_TEE);
  w.u32(s.scratch32);
  w.u8(GLOBAL_SET);
  w.u32(s.stackGlobal);
  w.u8(LOCAL_GET);
  w.u32(s.scratch32);
  w.u8(I32_CONST);
  w.u8(0);
  w.u8(I32_LT_S);
  w.u8(IF);
  w.u8(EMPTY);
  w.u8(UNREACHABLE);
  w.u8(END);
  return at;
}

/** `stack += F`, emitted after the body's wrapper block, where every exit path meets. */
export function emitStackExit(w: ByteWriter, s: MeterSlots, cost: number): void {
  w.u8(GLOBAL_GET);
  w.u32(s.stackGlobal);
  w.u8(I32_CONST);
  w.signed(cost);
  w.u8(I32_ADD);
  w.u8(GLOBAL_SET);
  w.u32(s.stackGlobal);
}
