// One UTF-8 decoder shared by the JSON reader (strict: malformed input is an error) and the
// URI decoder (lenient: malformed input becomes U+FFFD, as browsers and TextDecoder do).

/** What decodeCodePoint returns for a malformed or truncated sequence. */
export const MALFORMED: i32 = -1;

export const REPLACEMENT_CHARACTER: u32 = 0xfffd;

/** Bytes consumed by the last decodeCodePoint call (1 for a malformed sequence). */
export let decodedLength: i32 = 0;

function isContinuation(byte: u32): bool {
  return (byte & 0xc0) == 0x80;
}

/**
 * Decodes the sequence at `ptr` (ptr < end) following RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF. Returns the code point or MALFORMED.
 */
export function decodeCodePoint(ptr: usize, end: usize): i32 {
  const lead = <u32>load<u8>(ptr);
  decodedLength = 1;
  if (lead < 0x80) return <i32>lead;
  if (lead < 0xc2 || lead > 0xf4) return MALFORMED;
  if (lead < 0xe0) {
    if (ptr + 1 >= end) return MALFORMED;
    const b1 = <u32>load<u8>(ptr, 1);
    if (!isContinuation(b1)) return MALFORMED;
    decodedLength = 2;
    return <i32>(((lead & 0x1f) << 6) | (b1 & 0x3f));
  }
  if (lead < 0xf0) {
    if (ptr + 2 >= end) return MALFORMED;
    const b1 = <u32>load<u8>(ptr, 1);
    const b2 = <u32>load<u8>(ptr, 2);
    if (!isContinuation(b1) || !isContinuation(b2)) return MALFORMED;
    if (lead == 0xe0 && b1 < 0xa0) return MALFORMED; // overlong
    if (lead == 0xed && b1 >= 0xa0) return MALFORMED; // UTF-16 surrogate
    decodedLength = 3;
    return <i32>(((lead & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f));
  }
  if (ptr + 3 >= end) return MALFORMED;
  const b1 = <u32>load<u8>(ptr, 1);
  const b2 = <u32>load<u8>(ptr, 2);
  const b3 = <u32>load<u8>(ptr, 3);
  if (!isContinuation(b1) || !isContinuation(b2) || !isContinuation(b3)) return MALFORMED;
  if (lead == 0xf0 && b1 < 0x90) return MALFORMED; // overlong
  if (lead == 0xf4 && b1 >= 0x90) return MALFORMED; // above U+10FFFF
  decodedLength = 4;
  return <i32>(((lead & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f));
}
