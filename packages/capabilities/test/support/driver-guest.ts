/**
 * A scripted WAT guest for host-call tests through the real sandbox and pool. It imports exactly
 * the `gojinn` functions a test names (so linking checks apply as for any guest), reads a
 * binary script on stdin — a list of calls — makes them in order and answers with every
 * result, hex-encoded in the response body.
 *
 * Script (stdin), per call: u8 function index (into the names given to `driverGuest`),
 * u32 LE argument length, the argument bytes, u32 LE `cap`. A capability call runs as
 * fn(arg, arg_len, OUT, cap); `log` as log(cap, arg, arg_len) (cap is the level);
 * `result_take` as result_take(OUT, cap).
 *
 * Results (the body): per call, i32 LE result, then — when 0 ≤ result ≤ cap — the `result`
 * bytes written at OUT.
 */
import { assembleWat } from '../../../../test/support/wat.ts';

const STDIN = 0x10000;
const STDIN_CAP = 0x80000;
/** Where responses are written: the guest's output buffer (cap at most OUT_CAP). */
export const OUT = 0x90000;
export const OUT_CAP = 0x100000;
const RESULTS = OUT + OUT_CAP;
const RESULTS_CAP = 0x110000;
const HEX = RESULTS + RESULTS_CAP;
const PAGES = Math.ceil((HEX + 2 * RESULTS_CAP + 0x10000) / 0x10000);
const PREFIX = '{"status":200,"headers":{},"body":"';
const SUFFIX = '"}';

export interface ScriptCall {
  fn: string;
  arg?: Uint8Array | string;
  /** Output capacity (capability calls, result_take) or the level (log). */
  cap?: number;
}

function callOf(index: number, name: string): string {
  const args =
    name === 'log'
      ? '(local.get $cap) (local.get $a) (local.get $alen)'
      : name === 'result_take'
        ? `(i32.const ${OUT}) (local.get $cap)`
        : `(local.get $a) (local.get $alen) (i32.const ${OUT}) (local.get $cap)`;
  return `(if (i32.eq (local.get $fn) (i32.const ${index})) (then (return (call $${name} ${args}))))`;
}

function importOf(name: string): string {
  const params = name === 'log' ? 'i32 i32 i32' : name === 'result_take' ? 'i32 i32' : 'i32 i32 i32 i32';
  return `(import "gojinn" "${name}" (func $${name} (param ${params}) (result i32)))`;
}

/** WAT text of a driver importing `functions` (in that order: the script's indexes). */
export function driverWat(functions: readonly string[]): string {
  return `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ${functions.map(importOf).join('\n  ')}
  (memory (export "memory") ${PAGES})
  (data (i32.const 256) "${PREFIX.replaceAll('"', '\\"')}")
  (data (i32.const 512) "${SUFFIX.replaceAll('"', '\\"')}")
  (data (i32.const 768) "0123456789abcdef")
  (func $call (param $fn i32) (param $a i32) (param $alen i32) (param $cap i32) (result i32)
    ${functions.map((name, i) => callOf(i, name)).join('\n    ')}
    (unreachable))
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 16) (local.get $ptr))
    (i32.store (i32.const 20) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))))
  (func (export "_start")
    (local $total i32) (local $n i32) (local $pos i32) (local $end i32) (local $out i32)
    (local $fn i32) (local $alen i32) (local $cap i32) (local $r i32) (local $i i32) (local $h i32)
    (block $done (loop $more
      (i32.store (i32.const 0) (i32.add (i32.const ${STDIN}) (local.get $total)))
      (i32.store (i32.const 4) (i32.sub (i32.const ${STDIN_CAP}) (local.get $total)))
      (br_if $done (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $n (i32.load (i32.const 8)))
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $total (i32.add (local.get $total) (local.get $n)))
      (br $more)))
    (local.set $pos (i32.const ${STDIN}))
    (local.set $end (i32.add (i32.const ${STDIN}) (local.get $total)))
    (local.set $out (i32.const ${RESULTS}))
    (block $finished (loop $next
      (br_if $finished (i32.ge_u (local.get $pos) (local.get $end)))
      (local.set $fn (i32.load8_u (local.get $pos)))
      (local.set $alen (i32.load (i32.add (local.get $pos) (i32.const 1))))
      (local.set $cap (i32.load (i32.add (i32.add (local.get $pos) (i32.const 5)) (local.get $alen))))
      (local.set $r (call $call (local.get $fn) (i32.add (local.get $pos) (i32.const 5)) (local.get $alen) (local.get $cap)))
      (local.set $pos (i32.add (i32.add (local.get $pos) (i32.const 9)) (local.get $alen)))
      (i32.store (local.get $out) (local.get $r))
      (local.set $out (i32.add (local.get $out) (i32.const 4)))
      (if (i32.and (i32.ge_s (local.get $r) (i32.const 0)) (i32.le_u (local.get $r) (local.get $cap)))
        (then
          (local.set $i (i32.const 0))
          (block $copied (loop $copy
            (br_if $copied (i32.ge_u (local.get $i) (local.get $r)))
            (i32.store8 (i32.add (local.get $out) (local.get $i)) (i32.load8_u (i32.add (i32.const ${OUT}) (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $copy)))
          (local.set $out (i32.add (local.get $out) (local.get $r)))))
      (br $next)))
    (local.set $i (i32.const ${RESULTS}))
    (local.set $h (i32.const ${HEX}))
    (block $hexed (loop $hex
      (br_if $hexed (i32.ge_u (local.get $i) (local.get $out)))
      (i32.store8 (local.get $h) (i32.load8_u (i32.add (i32.const 768) (i32.shr_u (i32.load8_u (local.get $i)) (i32.const 4)))))
      (i32.store8 (i32.add (local.get $h) (i32.const 1)) (i32.load8_u (i32.add (i32.const 768) (i32.and (i32.load8_u (local.get $i)) (i32.const 15)))))
      (local.set $h (i32.add (local.get $h) (i32.const 2)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $hex)))
    (call $write (i32.const 256) (i32.const ${PREFIX.length}))
    (call $write (i32.const ${HEX}) (i32.sub (local.get $h) (i32.const ${HEX})))
    (call $write (i32.const 512) (i32.const ${SUFFIX.length}))))`;
}

export function driverGuest(functions: readonly string[]): Promise<Uint8Array> {
  return assembleWat(driverWat(functions));
}

const encoder = new TextEncoder();

/** The stdin bytes of a script calling `functions` (the same list the driver was built with). */
export function encodeScript(functions: readonly string[], calls: readonly ScriptCall[]): Uint8Array {
  const parts: number[] = [];
  const u32 = (value: number): void => {
    parts.push(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
  };
  for (const call of calls) {
    const index = functions.indexOf(call.fn);
    if (index < 0) throw new Error(`script calls ${call.fn}, which the driver does not import`);
    const arg = typeof call.arg === 'string' ? encoder.encode(call.arg) : (call.arg ?? new Uint8Array(0));
    parts.push(index);
    u32(arg.byteLength);
    for (const byte of arg) parts.push(byte);
    u32(call.cap ?? 0);
  }
  return new Uint8Array(parts);
}

export interface CallResult {
  /** The i32 the host function returned. */
  result: number;
  /** The bytes written at OUT, when 0 ≤ result ≤ cap. */
  out?: Uint8Array;
}

/** Splits the driver's response body back into one result per call. */
export function decodeResults(calls: readonly ScriptCall[], bodyHex: string): CallResult[] {
  const bytes = Buffer.from(bodyHex, 'hex');
  const results: CallResult[] = [];
  let at = 0;
  for (const call of calls) {
    if (at + 4 > bytes.byteLength)
      throw new Error(`driver answered ${results.length} of ${calls.length} calls`);
    const result = bytes.readInt32LE(at);
    at += 4;
    if (result >= 0 && result <= (call.cap ?? 0)) {
      results.push({ result, out: new Uint8Array(bytes.subarray(at, at + result)) });
      at += result;
    } else {
      results.push({ result });
    }
  }
  if (at !== bytes.byteLength) throw new Error('driver answered more than the script asked');
  return results;
}
