/**
 * The reset function the rewriter appends to every module that defines functions, exported as
 * `__gojinn_reset` ([] -> [i32]). It lets the runtime reuse an instance: internal globals are
 * invisible to JS, so only code inside the module can put them back.
 *
 * In a reusable module it re-evaluates the initializer of every mutable global the guest
 * defines (the constant expression's own bytes, so every type and bit pattern comes back
 * exactly: NaN payloads, v128, references), sets the meter globals to the values an
 * instance starts with, and returns 1. In a module that is not reusable it changes nothing and
 * returns 0: the verdict is part of the compiled module, so the runtime never has to trust a
 * separately carried flag. Linear memory is restored by the runtime (a copy of the memory as
 * instantiation left it); tables never need restoring because a module that can change one is
 * not reusable.
 *
 * The body is not metered: only the runtime calls it, between invocations.
 */
import { ENGINE_MAX_FUNCTION_BODY_BYTES } from './body-rewriter.ts';
import type { MeterSlots } from './instrument-fuel.ts';
import type { ParsedModule } from './parse-module.ts';
import type { ByteWriter } from './writer.ts';

/** Bytes of the reset body besides the guest's globals: locals, meter globals, result, end. */
const FIXED_BODY_BYTES = 64;

const GLOBAL_SET = 0x24;
const I32_CONST = 0x41;
const I64_CONST = 0x42;
const END = 0x0b;

/** Initial values of the meter globals (the same the emitted global section gives them). */
export interface MeterInitialValues {
  stackBudget: number;
  memoryLimitPages: number;
}

/**
 * Why no instance of `m` may be reused, as far as the module's structure says (the rewriter adds
 * what the code says), or null.
 */
export function structuralReuseBlocker(m: ParsedModule): string | null {
  if (m.memory === null) return 'module defines no memory';
  if (m.importedGlobalCount > 0) return 'module imports a global, whose value a reset cannot restore';
  let bytes = FIXED_BODY_BYTES;
  for (const g of m.definedGlobals) if (g.mutable) bytes += g.initEnd - g.initStart + 6;
  if (bytes > ENGINE_MAX_FUNCTION_BODY_BYTES) {
    return `resetting its mutable globals would take a function of ${bytes} bytes; the engine's limit is ${ENGINE_MAX_FUNCTION_BODY_BYTES}`;
  }
  return null;
}

/** Appends the reset function's body, size-prefixed, to the code section being written. */
export function writeResetBody(
  out: ByteWriter,
  m: ParsedModule,
  slots: MeterSlots,
  initial: MeterInitialValues,
  reusable: boolean,
): void {
  const sizeAt = out.padded(0);
  const start = out.length;
  out.u32(0); // no locals
  if (reusable) {
    for (const g of m.definedGlobals) {
      if (!g.mutable) continue;
      out.bytes(m.bytes, g.initStart, g.initEnd);
      out.u8(GLOBAL_SET);
      out.u32(g.index);
    }
    const set = (opcode: number, value: number, global: number): void => {
      out.u8(opcode);
      out.signed(value);
      out.u8(GLOBAL_SET);
      out.u32(global);
    };
    set(I64_CONST, 0, slots.fuelGlobal);
    set(I32_CONST, initial.stackBudget, slots.stackGlobal);
    set(I32_CONST, initial.memoryLimitPages, slots.memoryLimitGlobal);
    set(I32_CONST, 0, slots.memoryDeniedGlobal);
  }
  out.u8(I32_CONST);
  out.signed(reusable ? 1 : 0);
  out.u8(END);
  out.patchPadded(sizeAt, out.length - start);
}
