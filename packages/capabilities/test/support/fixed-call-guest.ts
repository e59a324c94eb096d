/**
 * A WAT guest that makes exactly one host call with constant arguments and answers with the
 * i32 it returned (8 hex characters of its little-endian bytes in the body). Two such guests
 * that differ only in a constant run the same instructions, so their fuel differs by exactly
 * what the host charged differently.
 */
import { assembleWat } from '../../../../test/support/wat.ts';

export interface FixedCall {
  fn: string;
  /** The call's i32 arguments (4 for a capability call, 3 for log, 2 for result_take). */
  args: readonly number[];
  /** Memory size in 64 KiB pages (default 1). */
  pages?: number;
  /** Bytes placed in memory before the call. */
  data?: { offset: number; bytes: Uint8Array };
}

const PREFIX = '{"status":200,"headers":{},"body":"';

function watBytes(bytes: Uint8Array): string {
  return [...bytes].map((byte) => `\\${byte.toString(16).padStart(2, '0')}`).join('');
}

export function fixedCallWat(call: FixedCall): string {
  const params = call.args.map(() => 'i32').join(' ');
  const data =
    call.data === undefined ? '' : `(data (i32.const ${call.data.offset}) "${watBytes(call.data.bytes)}")`;
  const hexDigit = (byte: number, shift: number, at: number): string =>
    `(i32.store8 (i32.const ${at}) (i32.load8_u (i32.add (i32.const 48) (i32.and (i32.shr_u (i32.load8_u (i32.const ${64 + byte})) (i32.const ${shift})) (i32.const 15)))))`;
  const digits = [0, 1, 2, 3].flatMap((byte) => [
    hexDigit(byte, 4, 128 + 2 * byte),
    hexDigit(byte, 0, 129 + 2 * byte),
  ]);
  return `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "gojinn" "${call.fn}" (func $host (param ${params}) (result i32)))
  (memory (export "memory") ${call.pages ?? 1})
  (data (i32.const 48) "0123456789abcdef")
  (data (i32.const 160) "${PREFIX.replaceAll('"', '\\"')}")
  (data (i32.const 136) "\\22}")
  ${data}
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 16) (local.get $ptr))
    (i32.store (i32.const 20) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))))
  (func (export "_start")
    (i32.store (i32.const 64) (call $host ${call.args.map((a) => `(i32.const ${a | 0})`).join(' ')}))
    ${digits.join('\n    ')}
    (call $write (i32.const 160) (i32.const ${PREFIX.length}))
    (call $write (i32.const 128) (i32.const 10))))`;
}

export function fixedCallGuest(call: FixedCall): Promise<Uint8Array> {
  return assembleWat(fixedCallWat(call));
}

/** The i32 a fixed-call guest reported. */
export function fixedCallResult(body: string): number {
  return Buffer.from(body, 'hex').readInt32LE(0);
}
