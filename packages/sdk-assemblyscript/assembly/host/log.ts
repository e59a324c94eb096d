// Logging through the always-available `gojinn.log` host function: one line per call in the
// invocation's stderr (the node's logs), prefixed with the level.
import * as gojinn from './gojinn';

export const LOG_DEBUG: i32 = 0;
export const LOG_INFO: i32 = 1;
export const LOG_WARN: i32 = 2;
export const LOG_ERROR: i32 = 3;

/** Logs `message` (UTF-8) at `level` (LOG_DEBUG .. LOG_ERROR). */
export function log(level: i32, message: string): void {
  const bytes = String.UTF8.encode(message);
  gojinn.log(level, changetype<usize>(bytes), <usize>bytes.byteLength);
}
