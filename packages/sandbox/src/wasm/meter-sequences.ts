/**
 * The inserted sequences, prebuilt once per distinct local layout: a function's scratch local
 * indices depend only on its params+locals count and the meter globals are fixed per module,
 * so most functions share one set. Emitting then is a short copy instead of dozens of
 * single-byte writes, which keeps a 5 MB module's rewrite well under a second.
 */
import type { MeterSlots } from './instrument-fuel.ts';
import {
  emitChargeAndCheck,
  emitCharge,
  emitEntryCharge,
  emitFuelLoad,
  emitFuelStore,
} from './instrument-fuel.ts';
import { emitStackEntry } from './instrument-stack.ts';
import { ByteWriter } from './writer.ts';

/** A byte sequence with one padded LEB128 placeholder at `patchOffset`. */
export interface PatchableSequence {
  bytes: Uint8Array;
  patchOffset: number;
}

export interface MeterSequences {
  entryCharge: PatchableSequence;
  loopCharge: PatchableSequence;
  charge: PatchableSequence;
  stackEntry: PatchableSequence;
  fuelStore: Uint8Array;
  fuelLoad: Uint8Array;
}

function patchable(emit: (w: ByteWriter, s: MeterSlots) => number, slots: MeterSlots): PatchableSequence {
  const w = new ByteWriter(64);
  const patchOffset = emit(w, slots);
  return { bytes: w.toBytes(), patchOffset };
}

function plain(emit: (w: ByteWriter, s: MeterSlots) => void, slots: MeterSlots): Uint8Array {
  const w = new ByteWriter(64);
  emit(w, slots);
  return w.toBytes();
}

export function buildMeterSequences(slots: MeterSlots): MeterSequences {
  return {
    entryCharge: patchable(emitEntryCharge, slots),
    loopCharge: patchable(emitChargeAndCheck, slots),
    charge: patchable(emitCharge, slots),
    stackEntry: patchable(emitStackEntry, slots),
    fuelStore: plain(emitFuelStore, slots),
    fuelLoad: plain(emitFuelLoad, slots),
  };
}

/** Appends `sequence` and returns the position of its placeholder. */
export function emitPatchable(w: ByteWriter, sequence: PatchableSequence): number {
  return w.append(sequence.bytes) + sequence.patchOffset;
}
