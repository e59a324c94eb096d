/**
 * Replacing many literal strings in a line. With a few, one `includes` per string is fastest;
 * with many (a node with a thousand secrets and API keys), that costs a scan of the line per
 * string, so they are indexed by their first `keyLength` characters and the line is scanned once.
 */

/** From this many strings on, the line is scanned once through the prefix index. */
export const INDEXED_REPLACE_THRESHOLD = 32;

/**
 * A function replacing every occurrence of `needles` in a line with `replacement`. Every needle
 * must be at least `keyLength` characters long. Longer needles win: with a few, the longest are
 * replaced first everywhere; through the index, the longest needle starting at each position.
 */
export function replacerOf(
  needles: readonly string[],
  replacement: string,
  keyLength: number,
): (line: string) => string {
  const sorted = [...new Set(needles)].sort((a, b) => b.length - a.length);
  if (sorted.length === 0) return (line) => line;
  if (sorted.length < INDEXED_REPLACE_THRESHOLD) {
    return (line) => {
      let out = line;
      for (const needle of sorted) if (out.includes(needle)) out = out.replaceAll(needle, replacement);
      return out;
    };
  }
  // Keyed by a hash of the first keyLength UTF-16 units: no string is made per position, and a
  // collision only costs a startsWith that fails.
  const keyAt = (text: string, at: number): number => {
    let hash = 0;
    for (let k = 0; k < keyLength; k++) hash = (Math.imul(hash, 31) + text.charCodeAt(at + k)) | 0;
    return hash;
  };
  const byKey = new Map<number, string[]>();
  for (const needle of sorted) {
    const key = keyAt(needle, 0);
    const bucket = byKey.get(key);
    if (bucket === undefined) byKey.set(key, [needle]);
    else bucket.push(needle); // stays longest first
  }
  return (line) => {
    let out = '';
    let copiedTo = 0;
    let i = 0;
    while (i + keyLength <= line.length) {
      const bucket = byKey.get(keyAt(line, i));
      const found = bucket?.find((needle) => line.startsWith(needle, i));
      if (found === undefined) {
        i++;
        continue;
      }
      out += line.slice(copiedTo, i) + replacement;
      i += found.length;
      copiedTo = i;
    }
    return copiedTo === 0 ? line : out + line.slice(copiedTo);
  };
}
