// Correctly rounded conversion of a JSON number's text to the nearest f64 (round half to even),
// as JSON.parse does. The standard library's parseFloat is not correctly rounded (and gets some
// exponents above 1e38 wrong), so the SDK carries its own: Clinger's exact fast path when the
// digits and the power of ten are both exact doubles, otherwise the arbitrary-precision decimal
// algorithm of Go's strconv (decimal.go / atof.go): scale a decimal digit string by powers of
// two until it lies in [0.5, 1), then read off 53 bits with exact rounding.
//
// Everything lives in static memory: converting allocates nothing.

/** Significant decimal digits kept exactly; further non-zero digits only mark the value inexact. */
const MAX_DIGITS: i32 = 800;
const digits: usize = memory.data(MAX_DIGITS); // one digit (0..9) per byte, most significant first
const shiftScratch: usize = memory.data(MAX_DIGITS + 24);
let digitCount: i32 = 0; // digits in use
let decimalPoint: i32 = 0; // value = 0.d1d2d3... × 10^decimalPoint
let truncated: bool = false; // non-zero digits were dropped beyond MAX_DIGITS

/** Largest shift one pass can do without overflowing a u64 accumulator. */
const MAX_SHIFT: i32 = 60;
/** An exponent this large already means infinity or zero; bigger ones are clamped to it. */
const EXPONENT_CLAMP: i32 = 100000;

// prettier-ignore
const EXACT_POWERS_OF_TEN: usize = memory.data<f64>([
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
]);
// Binary shifts that move the decimal point by at least one place (index = places, up to 8).
const POWTAB: usize = memory.data<i32>([1, 3, 6, 9, 13, 16, 19, 23, 26]);

const F64_MANTISSA_BITS: i32 = 52;
const F64_EXPONENT_BITS: i32 = 11;
const F64_BIAS: i32 = -1023;

function digitAt(index: i32): u32 {
  return <u32>load<u8>(digits + <usize>index);
}

function trimTrailingZeros(): void {
  while (digitCount > 0 && digitAt(digitCount - 1) == 0) digitCount--;
  if (digitCount == 0) decimalPoint = 0;
}

// Divides the decimal by 2^k (k <= MAX_SHIFT).
function rightShift(k: i32): void {
  let read = 0;
  let write = 0;
  let n: u64 = 0;
  // Take enough leading digits for the first output digit.
  for (; n >> (<u64>k) == 0; read++) {
    if (read >= digitCount) {
      if (n == 0) {
        digitCount = 0;
        return;
      }
      while (n >> (<u64>k) == 0) {
        n *= 10;
        read++;
      }
      break;
    }
    n = n * 10 + <u64>digitAt(read);
  }
  decimalPoint -= read - 1;
  const mask: u64 = ((<u64>1) << (<u64>k)) - 1;
  for (; read < digitCount; read++) {
    const digit = n >> (<u64>k);
    n &= mask;
    store<u8>(digits + <usize>write, <u8>digit);
    write++;
    n = n * 10 + <u64>digitAt(read);
  }
  while (n > 0) {
    const digit = n >> (<u64>k);
    n &= mask;
    if (write < MAX_DIGITS) {
      store<u8>(digits + <usize>write, <u8>digit);
      write++;
    } else if (digit > 0) truncated = true;
    n *= 10;
  }
  digitCount = write;
  trimTrailingZeros();
}

// Multiplies the decimal by 2^k (k <= MAX_SHIFT), least significant digit first into scratch.
function leftShift(k: i32): void {
  let produced = 0;
  let carry: u64 = 0;
  for (let read = digitCount - 1; read >= 0; read--) {
    carry += (<u64>digitAt(read)) << (<u64>k);
    const quotient = carry / 10;
    store<u8>(shiftScratch + <usize>produced, <u8>(carry - quotient * 10));
    produced++;
    carry = quotient;
  }
  while (carry > 0) {
    const quotient = carry / 10;
    store<u8>(shiftScratch + <usize>produced, <u8>(carry - quotient * 10));
    produced++;
    carry = quotient;
  }
  decimalPoint += produced - digitCount;
  // Reverse into `digits`, keeping at most MAX_DIGITS; anything dropped must be zero or marks truncation.
  const kept = min(produced, MAX_DIGITS);
  for (let i = 0; i < kept; i++)
    store<u8>(digits + <usize>i, load<u8>(shiftScratch + <usize>(produced - 1 - i)));
  for (let i = kept; i < produced; i++) {
    if (load<u8>(shiftScratch + <usize>(produced - 1 - i)) != 0) truncated = true;
  }
  digitCount = kept;
  trimTrailingZeros();
}

function shift(k: i32): void {
  if (digitCount == 0) return;
  if (k > 0) {
    while (k > MAX_SHIFT) {
      leftShift(MAX_SHIFT);
      k -= MAX_SHIFT;
    }
    leftShift(k);
  } else if (k < 0) {
    while (k < -MAX_SHIFT) {
      rightShift(MAX_SHIFT);
      k += MAX_SHIFT;
    }
    rightShift(-k);
  }
}

// Whether rounding the decimal to `count` integer digits goes up (half to even; a truncated
// tail makes an apparent half a little more than half).
function shouldRoundUp(count: i32): bool {
  if (count < 0 || count >= digitCount) return false;
  if (digitAt(count) == 5 && count + 1 == digitCount) {
    if (truncated) return true;
    return count > 0 && digitAt(count - 1) % 2 == 1;
  }
  return digitAt(count) >= 5;
}

function roundedInteger(): u64 {
  if (decimalPoint > 20) return u64.MAX_VALUE;
  let n: u64 = 0;
  let i = 0;
  for (; i < decimalPoint && i < digitCount; i++) n = n * 10 + <u64>digitAt(i);
  for (; i < decimalPoint; i++) n *= 10;
  if (shouldRoundUp(decimalPoint)) n++;
  return n;
}

function assemble(negative: bool, mantissa: u64, biasedExponent: i32): f64 {
  let bits = mantissa & (((<u64>1) << F64_MANTISSA_BITS) - 1);
  bits |= (<u64>((biasedExponent - F64_BIAS) & ((1 << F64_EXPONENT_BITS) - 1))) << F64_MANTISSA_BITS;
  if (negative) bits |= (<u64>1) << 63;
  return reinterpret<f64>(bits);
}

function decimalToDouble(negative: bool): f64 {
  const infinityExponent = (1 << F64_EXPONENT_BITS) - 1 + F64_BIAS;
  if (digitCount == 0 || decimalPoint < -330) return assemble(negative, 0, F64_BIAS);
  if (decimalPoint > 310) return assemble(negative, 0, infinityExponent);
  let exponent = 0;
  // Scale into [0.5, 1).
  while (decimalPoint > 0) {
    const n = decimalPoint >= 9 ? 27 : load<i32>(POWTAB + ((<usize>decimalPoint) << 2));
    shift(-n);
    exponent += n;
  }
  while (decimalPoint < 0 || (decimalPoint == 0 && digitAt(0) < 5)) {
    const n = -decimalPoint >= 9 ? 27 : load<i32>(POWTAB + ((<usize>-decimalPoint) << 2));
    shift(n);
    exponent -= n;
  }
  exponent--; // [0.5, 1) → [1, 2)
  if (exponent < F64_BIAS + 1) {
    const n = F64_BIAS + 1 - exponent;
    shift(-n);
    exponent += n;
  }
  if (exponent - F64_BIAS >= (1 << F64_EXPONENT_BITS) - 1) return assemble(negative, 0, infinityExponent);
  shift(1 + F64_MANTISSA_BITS);
  let mantissa = roundedInteger();
  if (mantissa == (<u64>2) << F64_MANTISSA_BITS) {
    mantissa >>= 1;
    exponent++;
    if (exponent - F64_BIAS >= (1 << F64_EXPONENT_BITS) - 1) return assemble(negative, 0, infinityExponent);
  }
  if ((mantissa & ((<u64>1) << F64_MANTISSA_BITS)) == 0) exponent = F64_BIAS; // subnormal
  return assemble(negative, mantissa, exponent);
}

/**
 * The f64 nearest to the JSON number at `ptr` (`length` bytes, already checked against the
 * JSON number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?).
 */
export function parseJsonNumber(ptr: usize, length: usize): f64 {
  const end = ptr + length;
  let pos = ptr;
  const negative = load<u8>(pos) == 0x2d;
  if (negative) pos++;
  digitCount = 0;
  decimalPoint = 0;
  truncated = false;
  // Up to 19 digits are also accumulated exactly for the fast path.
  let mantissa: u64 = 0;
  let mantissaDigits = 0;
  let sawDot = false;
  let sawNonZero = false;
  for (; pos < end; pos++) {
    const byte = <u32>load<u8>(pos);
    if (byte == 0x2e) {
      sawDot = true;
      continue;
    }
    if (byte - 0x30 >= 10) break;
    const digit = byte - 0x30;
    if (!sawNonZero && digit == 0) {
      // Leading zeros only move the decimal point (after the dot).
      if (sawDot) decimalPoint--;
      continue;
    }
    sawNonZero = true;
    if (!sawDot) decimalPoint++;
    if (digitCount < MAX_DIGITS) {
      store<u8>(digits + <usize>digitCount, <u8>digit);
      digitCount++;
    } else if (digit != 0) truncated = true;
    if (mantissaDigits < 19) {
      mantissa = mantissa * 10 + <u64>digit;
      mantissaDigits++;
    } else mantissaDigits = 20; // too many for the fast path
  }
  let exponent = 0;
  if (pos < end) {
    pos++; // e or E
    let exponentNegative = false;
    if (load<u8>(pos) == 0x2b) pos++;
    else if (load<u8>(pos) == 0x2d) {
      exponentNegative = true;
      pos++;
    }
    for (; pos < end; pos++) {
      if (exponent < EXPONENT_CLAMP) exponent = exponent * 10 + <i32>(load<u8>(pos) - 0x30);
    }
    if (exponentNegative) exponent = -exponent;
  }
  if (digitCount == 0) return negative ? -0.0 : 0.0;
  // Fast path: mantissa and 10^|e| are exact doubles, so one IEEE operation rounds correctly.
  // value = mantissa × 10^(decimalPoint - mantissaDigits + exponent), with trailing zeros kept in the mantissa.
  if (mantissaDigits <= 19 && mantissa <= (<u64>1) << 53 && !truncated && digitCount == mantissaDigits) {
    const power = decimalPoint - mantissaDigits + exponent;
    if (power >= -22 && power <= 22) {
      const scale = load<f64>(EXACT_POWERS_OF_TEN + ((<usize>abs(power)) << 3));
      const value = power >= 0 ? <f64>mantissa * scale : <f64>mantissa / scale;
      return negative ? -value : value;
    }
  }
  trimTrailingZeros();
  decimalPoint += max(min(exponent, EXPONENT_CLAMP), -EXPONENT_CLAMP);
  return decimalToDouble(negative);
}
