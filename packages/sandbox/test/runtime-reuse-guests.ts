/**
 * Test support for instance reuse: a WAT guest that hides a secret everywhere an invocation can
 * leave state behind and dumps everything it can see, and helpers to prepare modules the way
 * the sandbox does (prepareWasm, so they carry the real `__gojinn_reset`).
 *
 * The secret keeper reads its stdin into 1024..1088. The first byte chooses the mode; in every
 * mode but 'D' the 16 bytes after it are the secret, which it copies into
 *   - the static data area (over a data segment, at 256),
 *   - the heap (a bump allocator whose pointer is a global),
 *   - a stack frame (below a shadow-stack pointer global, popped afterwards: its bytes stay),
 *   - every mutable global: i32, i64, an f32 and an f64 that start as NaNs with payloads (only a
 *     bit-exact reset restores them), v128, funcref, and an exported i32,
 * and then, by mode: 'W' finishes cleanly, 'T' traps, 'F' loops until the fuel runs out, 'S'
 * recurses until the stack budget runs out, 'G' grows memory by a page and finishes, 'E' answers
 * and then calls proc_exit(0) (a success that unwinds through the host), 'B' answers with bytes that are not JSON, 'K' calls the host's kv_get (and
 * finishes cleanly if the host lets it).
 * Every mode that gets that far dumps the globals into 8192..8252 and then ALL of memory to
 * stderr, so a run shows exactly what an invocation can observe; 'D' only dumps.
 */
import { DEFAULT_MODULE_LIMITS } from '../src/limits.ts';
import type { RuntimeModuleInfo } from '../src/runtime/index.ts';
import { prepareWasm } from '../src/wasm/index.ts';
import type { ModuleInfo } from '../src/wasm/index.ts';
import { parseModule } from '../src/wasm/parse-module.ts';
import { SectionId } from '../src/wasm/types.ts';
import { ByteWriter } from '../src/wasm/writer.ts';
import { assemble, watString } from './fixtures/wat-guest.ts';

export const SECRET_BYTES = 16;
export const STDIN_AT = 1024;
export const STATIC_AT = 256;
export const HEAP_START = 65536;
export const STACK_TOP = 131072;
export const STACK_FRAME = 32;
export const GLOBALS_AT = 8192;
export const KEEPER_PAGES = 2;
export const KEEPER_RESPONSE = '{"status":200,"headers":{},"body":"ok"}';
const STATIC_TEXT = 'public static data, the same in every run';

/** Initial values as the guest dumps them (little-endian bytes at GLOBALS_AT + offset). */
export const INITIAL_F32_BITS = 0x7fa00001; // a signalling NaN with a payload
export const INITIAL_F64_BITS = 0x7ff4000000000001n;

/** The secret keeper; without `hostCall` it does not import kv_get and 'K' behaves like 'W'. */
export function secretKeeperWat(hostCall = true): string {
  const kvGet = hostCall
    ? `(drop (call $kv_get (i32.const ${STDIN_AT + 1}) (i32.const ${SECRET_BYTES}) (i32.const 12288) (i32.const 64)))`
    : '(nop)';
  return `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ${hostCall ? '(import "gojinn" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i32)))' : ''}
  (memory (export "memory") ${KEEPER_PAGES})
  (global $sp (mut i32) (i32.const ${STACK_TOP}))
  (global $heap (mut i32) (i32.const ${HEAP_START}))
  (global $g32 (mut i32) (i32.const 7))
  (global $g64 (mut i64) (i64.const 8))
  (global $gf32 (mut f32) (f32.const nan:0x200001))
  (global $gf64 (mut f64) (f64.const nan:0x4000000000001))
  (global $gv (mut v128) (v128.const i32x4 1 2 3 4))
  (global $gfunc (mut funcref) (ref.null func))
  (global $gext (mut externref) (ref.null extern))
  (global $counter (export "counter") (mut i32) (i32.const 100))
  (global $fixed i32 (i32.const 42))
  (data (i32.const ${STATIC_AT}) "${STATIC_TEXT}")
  (data (i32.const 4096) "${watString(Buffer.from(KEEPER_RESPONSE))}")
  (data (i32.const 4200) "not json")
  (elem declare func $marker)
  (func $marker)
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $keep_secret (local $at i32)
    (memory.copy (i32.const ${STATIC_AT}) (i32.const ${STDIN_AT + 1}) (i32.const ${SECRET_BYTES}))
    (local.set $at (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.const ${SECRET_BYTES})))
    (memory.copy (local.get $at) (i32.const ${STDIN_AT + 1}) (i32.const ${SECRET_BYTES}))
    (global.set $sp (i32.sub (global.get $sp) (i32.const ${STACK_FRAME})))
    (memory.copy (global.get $sp) (i32.const ${STDIN_AT + 1}) (i32.const ${SECRET_BYTES}))
    (global.set $g32 (i32.load (i32.const ${STDIN_AT + 1})))
    (global.set $g64 (i64.load (i32.const ${STDIN_AT + 5})))
    (global.set $gf32 (f32.load (i32.const ${STDIN_AT + 9})))
    (global.set $gf64 (f64.load (i32.const ${STDIN_AT + 9})))
    (global.set $gv (v128.load (i32.const ${STDIN_AT + 1})))
    (global.set $gfunc (ref.func $marker))
    (global.set $counter (i32.load (i32.const ${STDIN_AT + 13}))))
  (func $dump
    (i32.store (i32.const ${GLOBALS_AT}) (global.get $g32))
    (i64.store (i32.const ${GLOBALS_AT + 4}) (global.get $g64))
    (f32.store (i32.const ${GLOBALS_AT + 12}) (global.get $gf32))
    (f64.store (i32.const ${GLOBALS_AT + 16}) (global.get $gf64))
    (v128.store (i32.const ${GLOBALS_AT + 24}) (global.get $gv))
    (i32.store (i32.const ${GLOBALS_AT + 40}) (ref.is_null (global.get $gfunc)))
    (i32.store (i32.const ${GLOBALS_AT + 44}) (ref.is_null (global.get $gext)))
    (i32.store (i32.const ${GLOBALS_AT + 48}) (global.get $sp))
    (i32.store (i32.const ${GLOBALS_AT + 52}) (global.get $heap))
    (i32.store (i32.const ${GLOBALS_AT + 56}) (global.get $counter))
    (i32.store (i32.const ${GLOBALS_AT + 60}) (global.get $fixed))
    (call $write (i32.const 2) (i32.const 0) (i32.mul (memory.size) (i32.const 65536))))
  (func $deep (param $n i32) (result i32)
    (i32.add (call $deep (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))
  (func (export "_start") (local $mode i32)
    (i32.store (i32.const 16) (i32.const ${STDIN_AT}))
    (i32.store (i32.const 20) (i32.const 64))
    (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
    (local.set $mode (i32.load8_u (i32.const ${STDIN_AT})))
    (if (i32.ne (local.get $mode) (i32.const 0x44)) (then (call $keep_secret)))
    (if (i32.eq (local.get $mode) (i32.const 0x54)) (then unreachable))
    (if (i32.eq (local.get $mode) (i32.const 0x46)) (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $mode) (i32.const 0x53)) (then (drop (call $deep (i32.const 0)))))
    (if (i32.eq (local.get $mode) (i32.const 0x47)) (then (drop (memory.grow (i32.const 1)))))
    (if (i32.eq (local.get $mode) (i32.const 0x4b)) (then ${kvGet}))
    (call $dump)
    (if (i32.ne (local.get $mode) (i32.const 0x44))
      (then (global.set $sp (i32.add (global.get $sp) (i32.const ${STACK_FRAME})))))
    (if (i32.eq (local.get $mode) (i32.const 0x42))
      (then (call $write (i32.const 1) (i32.const 4200) (i32.const 8)))
      (else (call $write (i32.const 1) (i32.const 4096) (i32.const ${KEEPER_RESPONSE.length}))))
    (if (i32.eq (local.get $mode) (i32.const 0x45)) (then (call $proc_exit (i32.const 0))))))`;
}

export interface PreparedGuest {
  module: WebAssembly.Module;
  info: ModuleInfo & RuntimeModuleInfo;
}

/** Prepares module bytes as the sandbox does (memory ceiling `ceilingPages`) and compiles them. */
export function prepareGuest(bytes: Uint8Array, ceilingPages = 64): PreparedGuest {
  const { bytes: rewritten, info } = prepareWasm(bytes, {
    limits: DEFAULT_MODULE_LIMITS,
    memoryCeilingPages: ceilingPages,
  });
  return { module: new WebAssembly.Module(rewritten), info };
}

export function prepareWat(wat: string, ceilingPages = 64): PreparedGuest {
  return prepareGuest(assemble(wat), ceilingPages);
}

/** The keeper's stdin: a mode letter, then the secret (none for 'D'). */
export function keeperInput(mode: string, secret: Uint8Array = new Uint8Array(0)): Uint8Array {
  return Buffer.concat([Buffer.from(mode, 'latin1'), secret]);
}

/** True when `needle` occurs anywhere in `haystack`. */
export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle) >= 0;
}

/**
 * `bytes` with every global it defines also exported, as `test_global_<index>`: a module's
 * internal globals are invisible to JS, and a test that compares a reused instance with a fresh
 * one must see them all. Guests may export globals; the rewriter keeps the exports.
 */
export function exportingAllGlobals(bytes: Uint8Array): Uint8Array {
  const m = parseModule(bytes, DEFAULT_MODULE_LIMITS);
  const out = new ByteWriter(bytes.length + 64 * m.definedGlobals.length);
  out.bytes(bytes, 0, 8);
  for (const s of m.sections) {
    if (s.id !== SectionId.export) {
      out.bytes(bytes, s.headerStart, s.end);
      continue;
    }
    const entries = new ByteWriter();
    entries.u32(m.exports.length + m.definedGlobals.length);
    entries.bytes(bytes, m.exportEntriesStart, s.end);
    for (const g of m.definedGlobals) {
      entries.name(`test_global_${g.index}`);
      entries.u8(0x03);
      entries.u32(g.index);
    }
    out.u8(SectionId.export);
    out.u32(entries.length);
    out.bytes(entries.view());
  }
  return out.toBytes();
}

export { STATIC_TEXT };
