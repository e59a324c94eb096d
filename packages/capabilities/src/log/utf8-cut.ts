/**
 * Length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence: a message
 * cut at a byte limit is cut back to a character boundary instead of ending in a broken one.
 */
export function utf8BoundaryLength(bytes: Uint8Array): number {
  const end = bytes.byteLength;
  // Walk back over at most 3 continuation bytes (10xxxxxx) to the byte that starts the last sequence.
  let start = end - 1;
  while (start >= 0 && end - start <= 3 && ((bytes[start] as number) & 0xc0) === 0x80) start--;
  if (start < 0) return end;
  const lead = bytes[start] as number;
  const needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return end - start >= needed ? end : start;
}
