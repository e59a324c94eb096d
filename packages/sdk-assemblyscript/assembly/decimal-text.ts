// Decimal text of integers. The standard library's toString() works for every radix and pulls
// ~1.5 KiB of digit tables into every guest's static data; a guest that is instantiated fresh
// for every request pays for each page of static data, so the SDK formats integers itself.
import { ByteBuffer } from './buffers';

const MAX_DECIMAL_DIGITS = 20; // u64.MAX_VALUE has 20 digits
const scratch: usize = memory.data(MAX_DECIMAL_DIGITS);

// Writes the digits of `value` to the end of `scratch`; returns where they start.
function writeDigits(value: u64): usize {
  let at = scratch + MAX_DECIMAL_DIGITS;
  do {
    const quotient = value / 10;
    at--;
    store<u8>(at, <u8>(0x30 + <u32>(value - quotient * 10)));
    value = quotient;
  } while (value != 0);
  return at;
}

/** Appends `value` in decimal (with a leading '-' when negative). */
export function pushDecimal(out: ByteBuffer, value: i64): void {
  if (value < 0) out.pushByte(0x2d);
  // The magnitude as u64 is right even for i64.MIN_VALUE.
  const start = writeDigits(value < 0 ? <u64>0 - <u64>value : <u64>value);
  out.pushBytes(start, scratch + MAX_DECIMAL_DIGITS - start);
}

/** `value` in decimal, as a string. */
export function decimalText(value: i64): string {
  const negative = value < 0;
  const start = writeDigits(negative ? <u64>0 - <u64>value : <u64>value);
  const digits = String.UTF8.decodeUnsafe(start, scratch + MAX_DECIMAL_DIGITS - start);
  return negative ? '-' + digits : digits;
}
