// The WASI command's standard streams. A Gojinn guest reads its whole request from stdin
// (fd 0), writes exactly one response to stdout (fd 1) and may log to stderr (fd 2).
import { fd_read, fd_write, iovec } from '@assemblyscript/wasi-shim/assembly/bindings/wasi_snapshot_preview1';
import { decimalText } from './decimal-text';

export const STDIN: u32 = 0;
export const STDOUT: u32 = 1;
export const STDERR: u32 = 2;

/** Size of the first stdin read; the buffer doubles while more input keeps coming. */
export const STDIN_FIRST_READ_BYTES: usize = 4096;

// One iovec and the out-parameter of fd_read/fd_write, in static memory: no allocation per call.
const ioScratch: usize = memory.data(16);
const ioResult: usize = ioScratch + offsetof<iovec>();

/**
 * Reads stdin to its end. The host bounds the request size (maxStdinBytes), so this loop ends;
 * a read error aborts the guest (the host broke the contract, there is no request to serve).
 */
export function readStdin(): ArrayBuffer {
  let capacity = STDIN_FIRST_READ_BYTES;
  let buffer = __new(capacity, idof<ArrayBuffer>());
  let length: usize = 0;
  while (true) {
    if (length == capacity) {
      capacity <<= 1;
      buffer = __renew(buffer, capacity);
    }
    const iov = changetype<iovec>(ioScratch);
    iov.buf = buffer + length;
    iov.buf_len = capacity - length;
    const errno = fd_read(STDIN, ioScratch, 1, ioResult);
    if (errno != 0) abort('fd_read on stdin failed with errno ' + decimalText(errno));
    const count = load<usize>(ioResult);
    if (count == 0) break;
    length += count;
  }
  return changetype<ArrayBuffer>(__renew(buffer, length));
}

/**
 * Writes all `length` bytes at `ptr` to `fd`, looping over partial writes. Returns false when
 * the host refused (an errno or no progress); the host decides what that means for the call.
 */
export function writeAll(fd: u32, ptr: usize, length: usize): bool {
  let offset: usize = 0;
  while (offset < length) {
    const iov = changetype<iovec>(ioScratch);
    iov.buf = ptr + offset;
    iov.buf_len = length - offset;
    const errno = fd_write(fd, ioScratch, 1, ioResult);
    if (errno != 0) return false;
    const written = load<usize>(ioResult);
    if (written == 0) return false;
    offset += written;
  }
  return true;
}

/** Writes raw bytes to stdout. */
export function writeStdout(data: ArrayBuffer): bool {
  return writeAll(STDOUT, changetype<usize>(data), <usize>data.byteLength);
}

/** Writes text to stderr as UTF-8 (the node's logs), e.g. for diagnostics. */
export function writeStderr(text: string): bool {
  const bytes = String.UTF8.encode(text);
  return writeAll(STDERR, changetype<usize>(bytes), <usize>bytes.byteLength);
}
