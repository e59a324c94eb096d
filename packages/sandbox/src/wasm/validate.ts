/**
 * The rules a module must satisfy beyond being valid WebAssembly: the static limits of
 * ModuleLimits and the features the sandbox refuses. Parsing code calls these at the point the
 * relevant number or byte is read, so a hostile count is refused before anything is allocated.
 */
import type { GojinnError } from '@gojinn/errors';
import type { ModuleLimits } from '../limits.ts';
import { RESERVED_EXPORT_PREFIX } from '../meter-abi.ts';
import { invalidModule } from './reader.ts';
import { ValType } from './types.ts';

/**
 * Throws `invalid_module` naming the limit when `actual` exceeds `limits[key]`:
 * "<subject> <actual> <noun>; limit <key> is <limit>", e.g.
 * "module has 100001 functions; limit maxFunctions is 100000".
 */
export function checkLimit(
  limits: ModuleLimits,
  key: keyof ModuleLimits,
  actual: number,
  subject: string,
  noun: string,
): void {
  const limit = limits[key];
  if (actual > limit) throw invalidModule(`${subject} ${actual} ${noun}; limit ${key} is ${limit}`);
}

/** Throws `invalid_module` for a feature the sandbox refuses, naming the feature and where it was seen. */
export function unsupported(where: string, feature: string): GojinnError {
  return invalidModule(`${where} uses ${feature}, which the sandbox does not support`);
}

/** Value-type bytes of proposals the sandbox refuses, with the feature to name. */
const REJECTED_VALUE_TYPES: ReadonlyMap<number, string> = new Map([
  [0x63, 'typed function references (ref null)'],
  [0x64, 'typed function references (ref)'],
  [0x69, 'exception handling (exnref)'],
  [0x68, 'stack switching (contref)'],
  [0x6e, 'garbage collection (anyref)'],
  [0x6d, 'garbage collection (eqref)'],
  [0x6c, 'garbage collection (i31ref)'],
  [0x6b, 'garbage collection (structref)'],
  [0x6a, 'garbage collection (arrayref)'],
  [0x71, 'garbage collection (nullref)'],
  [0x72, 'garbage collection (nullexternref)'],
  [0x73, 'garbage collection (nullfuncref)'],
  [0x74, 'exception handling (nullexnref)'],
  [0x75, 'stack switching (nullcontref)'],
]);

const ACCEPTED_VALUE_TYPES: ReadonlySet<number> = new Set(Object.values(ValType));

/** Checks one value-type byte: accepted, refused with a named feature, or malformed. */
export function checkValueType(type: number, where: string, offset: number): void {
  if (ACCEPTED_VALUE_TYPES.has(type)) return;
  const feature = REJECTED_VALUE_TYPES.get(type);
  if (feature !== undefined) throw unsupported(where, feature);
  throw invalidModule(
    `malformed module: unknown value type 0x${type.toString(16)} in ${where} at byte offset ${offset}`,
  );
}

/** Checks a reference-type byte (tables, element segments, ref.null). */
export function checkRefType(type: number, where: string, offset: number): void {
  if (type === ValType.funcref || type === ValType.externref) return;
  checkValueType(type, where, offset);
  throw invalidModule(
    `malformed module: 0x${type.toString(16)} is not a reference type in ${where} at byte offset ${offset}`,
  );
}

/** Guest exports may not use the prefix of the meter exports the rewriter adds. */
export function checkExportName(name: string): void {
  if (name.startsWith(RESERVED_EXPORT_PREFIX)) {
    throw invalidModule(`export "${name}" uses the reserved prefix ${RESERVED_EXPORT_PREFIX}`);
  }
}
