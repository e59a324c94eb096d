/**
 * The fail-closed instruction table: every instruction the rewriter accepts, with the shape of
 * its immediates and its effect on the operand stack. An opcode missing from this table is
 * rejected, so a new proposal shipped by V8 can never slip through the meter unnoticed.
 *
 * Instructions are keyed by a code in one flat space: single-byte opcodes are 0x000–0x0ff, the
 * 0xfc prefix (saturating truncation, bulk memory, tables) is 0x100 + sub-opcode and the 0xfd
 * prefix (fixed-width SIMD) is 0x200 + sub-opcode.
 */

export const MISC_PREFIX = 0xfc;
export const SIMD_PREFIX = 0xfd;
export const MISC_BASE = 0x100;
export const SIMD_BASE = 0x200;
export const CODE_SPACE = 0x300;

/** Immediate shapes. Plain numbers, not an enum: the project runs on type stripping. */
export const Imm = {
  /** Not in the table: reject. */
  unknown: 0,
  none: 1,
  blockType: 2,
  label: 3,
  brTable: 4,
  func: 5,
  callIndirect: 6,
  local: 7,
  global: 8,
  table: 9,
  memArg: 10,
  memIndex: 11,
  i32: 12,
  i64: 13,
  f32: 14,
  f64: 15,
  selectTyped: 16,
  refType: 17,
  tablePair: 18,
  elemAndTable: 19,
  dataAndMemory: 20,
  memoryPair: 21,
  data: 22,
  elem: 23,
  v128: 24,
  shuffle: 25,
  lane: 26,
  memArgLane: 27,
} as const;

/** Marks a stack effect the rewriter works out itself (calls, blocks, branches, locals). */
export const VARIABLE = 255;

/** Immediate shape per code; `Imm.unknown` (0) for anything not accepted. */
export const IMMEDIATE = new Uint8Array(CODE_SPACE);
/** Operand stack values popped / pushed per code (VARIABLE when it depends on types). */
export const POPS = new Uint8Array(CODE_SPACE);
export const PUSHES = new Uint8Array(CODE_SPACE);
/** Mnemonic per code ('' when unknown). */
export const NAMES: string[] = new Array<string>(CODE_SPACE).fill('');
const CODE_BY_NAME = new Map<string, number>();

function define(code: number, name: string, imm: number, pops: number, pushes: number): void {
  IMMEDIATE[code] = imm;
  POPS[code] = pops;
  PUSHES[code] = pushes;
  NAMES[code] = name;
  CODE_BY_NAME.set(name, code);
}

/** Defines consecutive codes sharing one shape. */
function run(first: number, names: string, imm: number, pops: number, pushes: number): void {
  names
    .trim()
    .split(/\s+/)
    .forEach((name, i) => define(first + i, name, imm, pops, pushes));
}

const V = VARIABLE;

// Control. Branch, call and block arities come from the types; the rewriter computes them.
define(0x00, 'unreachable', Imm.none, 0, 0);
define(0x01, 'nop', Imm.none, 0, 0);
define(0x02, 'block', Imm.blockType, V, V);
define(0x03, 'loop', Imm.blockType, V, V);
define(0x04, 'if', Imm.blockType, V, V);
define(0x05, 'else', Imm.none, V, V);
define(0x0b, 'end', Imm.none, V, V);
define(0x0c, 'br', Imm.label, V, V);
define(0x0d, 'br_if', Imm.label, 1, 0);
define(0x0e, 'br_table', Imm.brTable, V, V);
define(0x0f, 'return', Imm.none, V, V);
define(0x10, 'call', Imm.func, V, V);
define(0x11, 'call_indirect', Imm.callIndirect, V, V);

// Parametric.
define(0x1a, 'drop', Imm.none, 1, 0);
define(0x1b, 'select', Imm.none, 3, 1);
define(0x1c, 'select_typed', Imm.selectTyped, 3, 1);

// Variables and tables.
define(0x20, 'local.get', Imm.local, 0, 1);
define(0x21, 'local.set', Imm.local, 1, 0);
define(0x22, 'local.tee', Imm.local, 1, 1);
define(0x23, 'global.get', Imm.global, 0, 1);
define(0x24, 'global.set', Imm.global, 1, 0);
define(0x25, 'table.get', Imm.table, 1, 1);
define(0x26, 'table.set', Imm.table, 2, 0);

// Memory.
run(
  0x28,
  `i32.load i64.load f32.load f64.load i32.load8_s i32.load8_u i32.load16_s i32.load16_u
   i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u`,
  Imm.memArg,
  1,
  1,
);
run(
  0x36,
  'i32.store i64.store f32.store f64.store i32.store8 i32.store16 i64.store8 i64.store16 i64.store32',
  Imm.memArg,
  2,
  0,
);
define(0x3f, 'memory.size', Imm.memIndex, 0, 1);
define(0x40, 'memory.grow', Imm.memIndex, 1, 1);

// Constants.
define(0x41, 'i32.const', Imm.i32, 0, 1);
define(0x42, 'i64.const', Imm.i64, 0, 1);
define(0x43, 'f32.const', Imm.f32, 0, 1);
define(0x44, 'f64.const', Imm.f64, 0, 1);

// Numeric: tests and comparisons.
define(0x45, 'i32.eqz', Imm.none, 1, 1);
run(
  0x46,
  'i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u',
  Imm.none,
  2,
  1,
);
define(0x50, 'i64.eqz', Imm.none, 1, 1);
run(
  0x51,
  'i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u',
  Imm.none,
  2,
  1,
);
run(0x5b, 'f32.eq f32.ne f32.lt f32.gt f32.le f32.ge', Imm.none, 2, 1);
run(0x61, 'f64.eq f64.ne f64.lt f64.gt f64.le f64.ge', Imm.none, 2, 1);

// Numeric: arithmetic.
run(0x67, 'i32.clz i32.ctz i32.popcnt', Imm.none, 1, 1);
run(
  0x6a,
  `i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u i32.and i32.or i32.xor
   i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr`,
  Imm.none,
  2,
  1,
);
run(0x79, 'i64.clz i64.ctz i64.popcnt', Imm.none, 1, 1);
run(
  0x7c,
  `i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u i64.and i64.or i64.xor
   i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr`,
  Imm.none,
  2,
  1,
);
run(0x8b, 'f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt', Imm.none, 1, 1);
run(0x92, 'f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign', Imm.none, 2, 1);
run(0x99, 'f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt', Imm.none, 1, 1);
run(0xa0, 'f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign', Imm.none, 2, 1);

// Numeric: conversions and sign extension.
run(
  0xa7,
  `i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u
   i64.extend_i32_s i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u
   f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u f32.demote_f64
   f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u f64.promote_f32
   i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64
   i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s`,
  Imm.none,
  1,
  1,
);

// Reference types.
define(0xd0, 'ref.null', Imm.refType, 0, 1);
define(0xd1, 'ref.is_null', Imm.none, 1, 1);
define(0xd2, 'ref.func', Imm.func, 0, 1);

// 0xfc: non-trapping float-to-int, bulk memory, table instructions.
const M = MISC_BASE;
run(
  M + 0x00,
  `i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u
   i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u`,
  Imm.none,
  1,
  1,
);
define(M + 0x08, 'memory.init', Imm.dataAndMemory, 3, 0);
define(M + 0x09, 'data.drop', Imm.data, 0, 0);
define(M + 0x0a, 'memory.copy', Imm.memoryPair, 3, 0);
define(M + 0x0b, 'memory.fill', Imm.memIndex, 3, 0);
define(M + 0x0c, 'table.init', Imm.elemAndTable, 3, 0);
define(M + 0x0d, 'elem.drop', Imm.elem, 0, 0);
define(M + 0x0e, 'table.copy', Imm.tablePair, 3, 0);
define(M + 0x0f, 'table.grow', Imm.table, 2, 1);
define(M + 0x10, 'table.size', Imm.table, 0, 1);
define(M + 0x11, 'table.fill', Imm.table, 3, 0);

// 0xfd: fixed-width SIMD, the complete final opcode list of the proposal. Reserved gaps stay unknown.
const S = SIMD_BASE;
run(
  S + 0x00,
  `v128.load v128.load8x8_s v128.load8x8_u v128.load16x4_s v128.load16x4_u v128.load32x2_s
   v128.load32x2_u v128.load8_splat v128.load16_splat v128.load32_splat v128.load64_splat`,
  Imm.memArg,
  1,
  1,
);
define(S + 0x0b, 'v128.store', Imm.memArg, 2, 0);
define(S + 0x0c, 'v128.const', Imm.v128, 0, 1);
define(S + 0x0d, 'i8x16.shuffle', Imm.shuffle, 2, 1);
define(S + 0x0e, 'i8x16.swizzle', Imm.none, 2, 1);
run(S + 0x0f, 'i8x16.splat i16x8.splat i32x4.splat i64x2.splat f32x4.splat f64x2.splat', Imm.none, 1, 1);
const lanes: [number, string, 'extract' | 'replace'][] = [
  [0x15, 'i8x16.extract_lane_s', 'extract'],
  [0x16, 'i8x16.extract_lane_u', 'extract'],
  [0x17, 'i8x16.replace_lane', 'replace'],
  [0x18, 'i16x8.extract_lane_s', 'extract'],
  [0x19, 'i16x8.extract_lane_u', 'extract'],
  [0x1a, 'i16x8.replace_lane', 'replace'],
  [0x1b, 'i32x4.extract_lane', 'extract'],
  [0x1c, 'i32x4.replace_lane', 'replace'],
  [0x1d, 'i64x2.extract_lane', 'extract'],
  [0x1e, 'i64x2.replace_lane', 'replace'],
  [0x1f, 'f32x4.extract_lane', 'extract'],
  [0x20, 'f32x4.replace_lane', 'replace'],
  [0x21, 'f64x2.extract_lane', 'extract'],
  [0x22, 'f64x2.replace_lane', 'replace'],
];
for (const [sub, name, kind] of lanes) define(S + sub, name, Imm.lane, kind === 'extract' ? 1 : 2, 1);
const compare = 'eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u';
run(S + 0x23, compare.replace(/(\S+)/g, 'i8x16.$1'), Imm.none, 2, 1);
run(S + 0x2d, compare.replace(/(\S+)/g, 'i16x8.$1'), Imm.none, 2, 1);
run(S + 0x37, compare.replace(/(\S+)/g, 'i32x4.$1'), Imm.none, 2, 1);
run(S + 0x41, 'f32x4.eq f32x4.ne f32x4.lt f32x4.gt f32x4.le f32x4.ge', Imm.none, 2, 1);
run(S + 0x47, 'f64x2.eq f64x2.ne f64x2.lt f64x2.gt f64x2.le f64x2.ge', Imm.none, 2, 1);
define(S + 0x4d, 'v128.not', Imm.none, 1, 1);
run(S + 0x4e, 'v128.and v128.andnot v128.or v128.xor', Imm.none, 2, 1);
define(S + 0x52, 'v128.bitselect', Imm.none, 3, 1);
define(S + 0x53, 'v128.any_true', Imm.none, 1, 1);
run(S + 0x54, 'v128.load8_lane v128.load16_lane v128.load32_lane v128.load64_lane', Imm.memArgLane, 2, 1);
run(S + 0x58, 'v128.store8_lane v128.store16_lane v128.store32_lane v128.store64_lane', Imm.memArgLane, 2, 0);
run(S + 0x5c, 'v128.load32_zero v128.load64_zero', Imm.memArg, 1, 1);
run(S + 0x5e, 'f32x4.demote_f64x2_zero f64x2.promote_low_f32x4', Imm.none, 1, 1);

/** SIMD opcodes from 0x60 on, by sub-opcode: [name, pops] (each pushes one v128 or scalar). */
const SIMD_ARITHMETIC: Record<number, [string, number]> = {
  0x60: ['i8x16.abs', 1],
  0x61: ['i8x16.neg', 1],
  0x62: ['i8x16.popcnt', 1],
  0x63: ['i8x16.all_true', 1],
  0x64: ['i8x16.bitmask', 1],
  0x65: ['i8x16.narrow_i16x8_s', 2],
  0x66: ['i8x16.narrow_i16x8_u', 2],
  0x67: ['f32x4.ceil', 1],
  0x68: ['f32x4.floor', 1],
  0x69: ['f32x4.trunc', 1],
  0x6a: ['f32x4.nearest', 1],
  0x6b: ['i8x16.shl', 2],
  0x6c: ['i8x16.shr_s', 2],
  0x6d: ['i8x16.shr_u', 2],
  0x6e: ['i8x16.add', 2],
  0x6f: ['i8x16.add_sat_s', 2],
  0x70: ['i8x16.add_sat_u', 2],
  0x71: ['i8x16.sub', 2],
  0x72: ['i8x16.sub_sat_s', 2],
  0x73: ['i8x16.sub_sat_u', 2],
  0x74: ['f64x2.ceil', 1],
  0x75: ['f64x2.floor', 1],
  0x76: ['i8x16.min_s', 2],
  0x77: ['i8x16.min_u', 2],
  0x78: ['i8x16.max_s', 2],
  0x79: ['i8x16.max_u', 2],
  0x7a: ['f64x2.trunc', 1],
  0x7b: ['i8x16.avgr_u', 2],
  0x7c: ['i16x8.extadd_pairwise_i8x16_s', 1],
  0x7d: ['i16x8.extadd_pairwise_i8x16_u', 1],
  0x7e: ['i32x4.extadd_pairwise_i16x8_s', 1],
  0x7f: ['i32x4.extadd_pairwise_i16x8_u', 1],
  0x80: ['i16x8.abs', 1],
  0x81: ['i16x8.neg', 1],
  0x82: ['i16x8.q15mulr_sat_s', 2],
  0x83: ['i16x8.all_true', 1],
  0x84: ['i16x8.bitmask', 1],
  0x85: ['i16x8.narrow_i32x4_s', 2],
  0x86: ['i16x8.narrow_i32x4_u', 2],
  0x87: ['i16x8.extend_low_i8x16_s', 1],
  0x88: ['i16x8.extend_high_i8x16_s', 1],
  0x89: ['i16x8.extend_low_i8x16_u', 1],
  0x8a: ['i16x8.extend_high_i8x16_u', 1],
  0x8b: ['i16x8.shl', 2],
  0x8c: ['i16x8.shr_s', 2],
  0x8d: ['i16x8.shr_u', 2],
  0x8e: ['i16x8.add', 2],
  0x8f: ['i16x8.add_sat_s', 2],
  0x90: ['i16x8.add_sat_u', 2],
  0x91: ['i16x8.sub', 2],
  0x92: ['i16x8.sub_sat_s', 2],
  0x93: ['i16x8.sub_sat_u', 2],
  0x94: ['f64x2.nearest', 1],
  0x95: ['i16x8.mul', 2],
  0x96: ['i16x8.min_s', 2],
  0x97: ['i16x8.min_u', 2],
  0x98: ['i16x8.max_s', 2],
  0x99: ['i16x8.max_u', 2],
  0x9b: ['i16x8.avgr_u', 2],
  0x9c: ['i16x8.extmul_low_i8x16_s', 2],
  0x9d: ['i16x8.extmul_high_i8x16_s', 2],
  0x9e: ['i16x8.extmul_low_i8x16_u', 2],
  0x9f: ['i16x8.extmul_high_i8x16_u', 2],
  0xa0: ['i32x4.abs', 1],
  0xa1: ['i32x4.neg', 1],
  0xa3: ['i32x4.all_true', 1],
  0xa4: ['i32x4.bitmask', 1],
  0xa7: ['i32x4.extend_low_i16x8_s', 1],
  0xa8: ['i32x4.extend_high_i16x8_s', 1],
  0xa9: ['i32x4.extend_low_i16x8_u', 1],
  0xaa: ['i32x4.extend_high_i16x8_u', 1],
  0xab: ['i32x4.shl', 2],
  0xac: ['i32x4.shr_s', 2],
  0xad: ['i32x4.shr_u', 2],
  0xae: ['i32x4.add', 2],
  0xb1: ['i32x4.sub', 2],
  0xb5: ['i32x4.mul', 2],
  0xb6: ['i32x4.min_s', 2],
  0xb7: ['i32x4.min_u', 2],
  0xb8: ['i32x4.max_s', 2],
  0xb9: ['i32x4.max_u', 2],
  0xba: ['i32x4.dot_i16x8_s', 2],
  0xbc: ['i32x4.extmul_low_i16x8_s', 2],
  0xbd: ['i32x4.extmul_high_i16x8_s', 2],
  0xbe: ['i32x4.extmul_low_i16x8_u', 2],
  0xbf: ['i32x4.extmul_high_i16x8_u', 2],
  0xc0: ['i64x2.abs', 1],
  0xc1: ['i64x2.neg', 1],
  0xc3: ['i64x2.all_true', 1],
  0xc4: ['i64x2.bitmask', 1],
  0xc7: ['i64x2.extend_low_i32x4_s', 1],
  0xc8: ['i64x2.extend_high_i32x4_s', 1],
  0xc9: ['i64x2.extend_low_i32x4_u', 1],
  0xca: ['i64x2.extend_high_i32x4_u', 1],
  0xcb: ['i64x2.shl', 2],
  0xcc: ['i64x2.shr_s', 2],
  0xcd: ['i64x2.shr_u', 2],
  0xce: ['i64x2.add', 2],
  0xd1: ['i64x2.sub', 2],
  0xd5: ['i64x2.mul', 2],
  0xd6: ['i64x2.eq', 2],
  0xd7: ['i64x2.ne', 2],
  0xd8: ['i64x2.lt_s', 2],
  0xd9: ['i64x2.gt_s', 2],
  0xda: ['i64x2.le_s', 2],
  0xdb: ['i64x2.ge_s', 2],
  0xdc: ['i64x2.extmul_low_i32x4_s', 2],
  0xdd: ['i64x2.extmul_high_i32x4_s', 2],
  0xde: ['i64x2.extmul_low_i32x4_u', 2],
  0xdf: ['i64x2.extmul_high_i32x4_u', 2],
  0xe0: ['f32x4.abs', 1],
  0xe1: ['f32x4.neg', 1],
  0xe3: ['f32x4.sqrt', 1],
  0xe4: ['f32x4.add', 2],
  0xe5: ['f32x4.sub', 2],
  0xe6: ['f32x4.mul', 2],
  0xe7: ['f32x4.div', 2],
  0xe8: ['f32x4.min', 2],
  0xe9: ['f32x4.max', 2],
  0xea: ['f32x4.pmin', 2],
  0xeb: ['f32x4.pmax', 2],
  0xec: ['f64x2.abs', 1],
  0xed: ['f64x2.neg', 1],
  0xef: ['f64x2.sqrt', 1],
  0xf0: ['f64x2.add', 2],
  0xf1: ['f64x2.sub', 2],
  0xf2: ['f64x2.mul', 2],
  0xf3: ['f64x2.div', 2],
  0xf4: ['f64x2.min', 2],
  0xf5: ['f64x2.max', 2],
  0xf6: ['f64x2.pmin', 2],
  0xf7: ['f64x2.pmax', 2],
  0xf8: ['i32x4.trunc_sat_f32x4_s', 1],
  0xf9: ['i32x4.trunc_sat_f32x4_u', 1],
  0xfa: ['f32x4.convert_i32x4_s', 1],
  0xfb: ['f32x4.convert_i32x4_u', 1],
  0xfc: ['i32x4.trunc_sat_f64x2_s_zero', 1],
  0xfd: ['i32x4.trunc_sat_f64x2_u_zero', 1],
  0xfe: ['f64x2.convert_low_i32x4_s', 1],
  0xff: ['f64x2.convert_low_i32x4_u', 1],
};
for (const [sub, [name, pops]] of Object.entries(SIMD_ARITHMETIC))
  define(S + Number(sub), name, Imm.none, pops, 1);

/**
 * Opcodes V8 may accept that Gojinn rejects on purpose, with the feature named in the error.
 * Single-byte opcodes and whole prefixes; see docs/sandbox-rewriter.md for why each is out.
 */
export const REJECTED_OPCODES: ReadonlyMap<number, string> = new Map([
  [0x06, 'exception handling (try)'],
  [0x07, 'exception handling (catch)'],
  [0x08, 'exception handling (throw)'],
  [0x09, 'exception handling (rethrow)'],
  [0x0a, 'exception handling (throw_ref)'],
  [0x12, 'tail calls (return_call)'],
  [0x13, 'tail calls (return_call_indirect)'],
  [0x14, 'function references (call_ref)'],
  [0x15, 'tail calls (return_call_ref)'],
  [0x18, 'exception handling (delegate)'],
  [0x19, 'exception handling (catch_all)'],
  [0x1f, 'exception handling (try_table)'],
  [0xd3, 'garbage collection (ref.eq)'],
  [0xd4, 'function references (ref.as_non_null)'],
  [0xd5, 'function references (br_on_null)'],
  [0xd6, 'function references (br_on_non_null)'],
  [0xfb, 'garbage collection (0xfb prefix)'],
  [0xfe, 'threads and atomics (0xfe prefix)'],
]);

/** The relaxed SIMD sub-opcodes (0xfd 0x100–0x1ff): non-deterministic by design, rejected. */
export function isRelaxedSimd(sub: number): boolean {
  return sub >= 0x100 && sub <= 0x1ff;
}

/** The code of a mnemonic, or undefined; used to resolve cost overrides by name. */
export function codeOfName(name: string): number | undefined {
  return CODE_BY_NAME.get(name);
}

/** A printable form of an opcode for error messages: "0xfc 0x12". */
export function formatOpcode(code: number): string {
  const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
  if (code >= SIMD_BASE) return `${hex(SIMD_PREFIX)} ${hex(code - SIMD_BASE)}`;
  if (code >= MISC_BASE) return `${hex(MISC_PREFIX)} ${hex(code - MISC_BASE)}`;
  return hex(code);
}
