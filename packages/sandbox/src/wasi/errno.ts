/**
 * WASI preview1 errno values the shim returns (the numbering of `wasi_snapshot_preview1.witx`).
 * Only the ones the shim uses are listed; a guest's libc maps them to its own errno.
 */
export const ERRNO = {
  SUCCESS: 0,
  BADF: 8,
  FAULT: 21,
  INVAL: 28,
  NOSYS: 52,
  NOTDIR: 54,
  NOTSUP: 58,
  SPIPE: 70,
  NOTCAPABLE: 76,
} as const;

export type Errno = (typeof ERRNO)[keyof typeof ERRNO];
