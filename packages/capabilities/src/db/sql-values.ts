/**
 * SQL values as they cross the guest boundary in JSON (docs/capabilities-db-secrets.md, "Values").
 * JSON has no blobs, no 64-bit integers and no infinities, so those travel as one-member objects:
 * `{"$blob": "<base64>"}`, `{"$int": "<decimal>"}` (an integer outside ±(2^53−1)) and
 * `{"$real": "Infinity" | "-Infinity"}`. Everything else is plain JSON.
 */

/** A value bound to a statement parameter, after parsing: what node:sqlite binds. */
export type SqlParam = null | bigint | number | string | Uint8Array;

/** A value SQLite returned (statements are read with `setReadBigInts(true)`). */
export type SqlResultValue = null | bigint | number | string | Uint8Array;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * The JSON text of one result value. Integers within ±(2^53−1) are plain numbers; larger ones
 * `{"$int":"…"}`, so nothing is silently rounded.
 */
export function encodeResultValue(value: SqlResultValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'bigint':
      return value <= MAX_SAFE && value >= MIN_SAFE ? value.toString() : `{"$int":"${value.toString()}"}`;
    case 'number':
      // SQLite turns NaN into NULL, so only the infinities have no JSON spelling.
      if (Number.isFinite(value)) return JSON.stringify(value);
      return value > 0 ? '{"$real":"Infinity"}' : '{"$real":"-Infinity"}';
    case 'string':
      return JSON.stringify(value);
    default:
      return `{"$blob":"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"}`;
  }
}
