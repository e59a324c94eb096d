import type { WasiFunctionName } from '@gojinn/abi';
import { MAX_IOVECS, MAX_POLL_SUBSCRIPTIONS, WASI_BYTE_FUEL, WASI_CALL_FUEL } from './costs.ts';
import { ERRNO } from './errno.ts';
import { GuestFault, type GuestMemory } from './guest-memory.ts';
import { CLOCK_RESOLUTION_NS, VirtualClock } from './virtual-clock.ts';
import { STDERR, STDIN, STDOUT, type WasiContext } from './wasi-context.ts';

/**
 * The `wasi_snapshot_preview1` functions, deny by default: stdin is the request, stdout and
 * stderr are captured, clocks and randomness are derived from the invocation seed, and nothing
 * else exists — no preopened directories, files, sockets or environment. docs/wasi.md says
 * what each function does and why.
 *
 * The functions are created once and shared by every instance: they find the running
 * invocation through `binding.current`, so instantiating a guest allocates no closures.
 */
export interface WasiBinding {
  current: WasiContext | null;
}

/** A preview1 function as the linker hands it to `WebAssembly.Instance`. */
export type WasiFunction = (...args: never[]) => number | undefined;

const IOVEC_BYTES = 8;
const FDSTAT_BYTES = 24;
const FILESTAT_BYTES = 64;
const SUBSCRIPTION_BYTES = 48;
const EVENT_BYTES = 32;
const U32_MAX = 0xffff_ffff;

const FILETYPE_UNKNOWN = 0;
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const RIGHT_POLL_FD_READWRITE = 1n << 27n;

const EVENTTYPE_CLOCK = 0;
const EVENTTYPE_FD_READ = 1;
const EVENTTYPE_FD_WRITE = 2;
const SUBCLOCKFLAGS_ABSTIME = 1;
const EVENTRWFLAGS_HANGUP = 1;

const ARG_ENCODER = new TextEncoder();

/** A guest pointer fault becomes EFAULT; anything else (a halt, a host bug) keeps unwinding. */
function fault(error: unknown): number {
  if (error instanceof GuestFault) return ERRNO.FAULT;
  throw error;
}

function chargeBytes(ctx: WasiContext, bytes: number): void {
  if (bytes > 0) ctx.charge(BigInt(bytes) * WASI_BYTE_FUEL);
}

/** Checks the iovec array and every buffer it names; returns the unsigned base and the total length. */
function checkIovecs(memory: GuestMemory, iovs: number, count: number): { base: number; total: number } {
  const base = memory.check(iovs, count * IOVEC_BYTES);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const entry = base + i * IOVEC_BYTES;
    const len = memory.u32(entry + 4);
    memory.check(memory.u32(entry), len);
    total += len;
  }
  return { base, total };
}

/** One parsed `subscription` record of poll_oneoff. */
interface Subscription {
  userdata: bigint;
  type: number;
  /** Set for an event that is ready (or failed) without waiting. */
  immediate: { errno: number; nbytes: bigint; flags: number } | null;
  /** For a waitable clock: virtual nanoseconds until it fires. */
  wait: bigint;
}

export function createPreview1Imports(
  binding: WasiBinding,
): Readonly<Record<WasiFunctionName, WasiFunction>> {
  /** Entry of every call: the running invocation, memory views refreshed, the call's base fuel paid. */
  function enter(): WasiContext {
    const ctx = binding.current;
    if (ctx === null) throw new Error('WASI function called outside an invocation');
    ctx.memory.refresh();
    ctx.charge(WASI_CALL_FUEL);
    return ctx;
  }

  /** The answer for an operation that fd 0–2 do not support: `errno` when fd is an open stdio fd, else EBADF. */
  function stdioOnly(fd: number, errno: number): number {
    return enter().isOpen(fd) ? errno : ERRNO.BADF;
  }

  /** Paths and sockets: there is no directory and no socket to name, so every use lacks the capability. */
  function notCapable(): number {
    enter();
    return ERRNO.NOTCAPABLE;
  }

  function writeCounts(
    ctx: WasiContext,
    countPtr: number,
    sizePtr: number,
    count: number,
    size: number,
  ): number {
    try {
      ctx.memory.check(countPtr, 4);
      ctx.memory.check(sizePtr, 4);
      chargeBytes(ctx, 8);
      ctx.memory.setU32(countPtr, count);
      ctx.memory.setU32(sizePtr, size);
      return ERRNO.SUCCESS;
    } catch (error) {
      return fault(error);
    }
  }

  function readSubscription(ctx: WasiContext, at: number, fuelUsed: bigint): Subscription {
    const memory = ctx.memory;
    const userdata = memory.u64(at);
    const type = memory.u8(at + 8);
    const sub: Subscription = { userdata, type, immediate: null, wait: 0n };
    if (type === EVENTTYPE_CLOCK) {
      const id = memory.u32(at + 16);
      if (!VirtualClock.isClock(id)) sub.immediate = { errno: ERRNO.INVAL, nbytes: 0n, flags: 0 };
      else if (!VirtualClock.isWaitable(id)) sub.immediate = { errno: ERRNO.NOTSUP, nbytes: 0n, flags: 0 };
      else {
        const timeout = memory.u64(at + 24);
        if ((memory.u16(at + 40) & SUBCLOCKFLAGS_ABSTIME) === 0) sub.wait = timeout;
        else {
          const now = ctx.clock.peek(id, fuelUsed);
          sub.wait = timeout > now ? timeout - now : 0n;
        }
      }
    } else {
      const fd = memory.u32(at + 16);
      if (type === EVENTTYPE_FD_READ && fd === STDIN && ctx.isOpen(fd)) {
        const remaining = ctx.stdinRemaining;
        const flags = remaining === 0 ? EVENTRWFLAGS_HANGUP : 0;
        sub.immediate = { errno: ERRNO.SUCCESS, nbytes: BigInt(remaining), flags };
      } else if (type === EVENTTYPE_FD_WRITE && (fd === STDOUT || fd === STDERR) && ctx.isOpen(fd)) {
        const room = fd === STDOUT ? ctx.stdout.available : ctx.stderr.available;
        sub.immediate = { errno: ERRNO.SUCCESS, nbytes: BigInt(room), flags: 0 };
      } else {
        sub.immediate = { errno: ERRNO.BADF, nbytes: 0n, flags: 0 };
      }
    }
    return sub;
  }

  const imports: Record<WasiFunctionName, WasiFunction> = {
    args_get(argv: number, argvBuf: number): number {
      const ctx = enter();
      try {
        const arg = ARG_ENCODER.encode(ctx.programName + '\0');
        ctx.memory.check(argv, 4);
        ctx.memory.check(argvBuf, arg.byteLength);
        chargeBytes(ctx, 4 + arg.byteLength);
        ctx.memory.setU32(argv, argvBuf);
        ctx.memory.write(argvBuf, arg);
        return ERRNO.SUCCESS;
      } catch (error) {
        return fault(error);
      }
    },

    args_sizes_get(argcPtr: number, argvBufSizePtr: number): number {
      const ctx = enter();
      const size = ARG_ENCODER.encode(ctx.programName).byteLength + 1;
      return writeCounts(ctx, argcPtr, argvBufSizePtr, 1, size);
    },

    environ_get(): number {
      enter();
      return ERRNO.SUCCESS;
    },

    environ_sizes_get(countPtr: number, bufSizePtr: number): number {
      return writeCounts(enter(), countPtr, bufSizePtr, 0, 0);
    },

    clock_res_get(id: number, resolutionPtr: number): number {
      const ctx = enter();
      if (!VirtualClock.isClock(id)) return ERRNO.INVAL;
      try {
        ctx.memory.check(resolutionPtr, 8);
        chargeBytes(ctx, 8);
        ctx.memory.setU64(resolutionPtr, CLOCK_RESOLUTION_NS);
        return ERRNO.SUCCESS;
      } catch (error) {
        return fault(error);
      }
    },

    clock_time_get(id: number, _precision: bigint, timePtr: number): number {
      const ctx = enter();
      if (!VirtualClock.isClock(id)) return ERRNO.INVAL;
      try {
        ctx.memory.check(timePtr, 8);
        chargeBytes(ctx, 8);
        ctx.memory.setU64(timePtr, ctx.clock.read(id, ctx.fuel.used()));
        return ERRNO.SUCCESS;
      } catch (error) {
        return fault(error);
      }
    },

    fd_advise: (fd: number) => stdioOnly(fd, ERRNO.SPIPE),
    fd_allocate: (fd: number) => stdioOnly(fd, ERRNO.SPIPE),

    fd_close(fd: number): number {
      const ctx = enter();
      if (!ctx.isOpen(fd)) return ERRNO.BADF;
      ctx.close(fd);
      return ERRNO.SUCCESS;
    },

    fd_datasync: (fd: number) => stdioOnly(fd, ERRNO.INVAL),

    fd_fdstat_get(fd: number, statPtr: number): number {
      const ctx = enter();
      if (!ctx.isOpen(fd)) return ERRNO.BADF;
      try {
        ctx.memory.check(statPtr, FDSTAT_BYTES);
        chargeBytes(ctx, FDSTAT_BYTES);
        ctx.memory.fill(statPtr, FDSTAT_BYTES, 0);
        // An in-memory pipe: preview1 has no pipe type, so UNKNOWN (isatty() is false and libc
        // buffers stdout fully); no seek/tell rights, so libc never tries to reposition it.
        ctx.memory.setU8(statPtr, FILETYPE_UNKNOWN);
        const rights = fd === STDIN ? RIGHT_FD_READ : RIGHT_FD_WRITE;
        ctx.memory.setU64(statPtr + 8, rights | RIGHT_POLL_FD_READWRITE);
        return ERRNO.SUCCESS;
      } catch (error) {
        return fault(error);
      }
    },

    fd_fdstat_set_flags(fd: number, flags: number): number {
      const ctx = enter();
      if (!ctx.isOpen(fd)) return ERRNO.BADF;
      return flags === 0 ? ERRNO.SUCCESS : ERRNO.NOTSUP;
    },

    fd_fdstat_set_rights: (fd: number) => stdioOnly(fd, ERRNO.NOTSUP),

    fd_filestat_get(fd: number, statPtr: number): number {
      const ctx = enter();
      if (!ctx.isOpen(fd)) return ERRNO.BADF;
      try {
        ctx.memory.check(statPtr, FILESTAT_BYTES);
        chargeBytes(ctx, FILESTAT_BYTES);
        // No device, inode, size or times to reveal: all zero, filetype UNKNOWN (0).
        ctx.memory.fill(statPtr, FILESTAT_BYTES, 0);
        return ERRNO.SUCCESS;
      } catch (error) {
        return fault(error);
      }
    },

    fd_filestat_set_size: (fd: number) => stdioOnly(fd, ERRNO.NOTCAPABLE),
    fd_filestat_set_times: (fd: number) => stdioOnly(fd, ERRNO.NOTCAPABLE),
    fd_pread: (fd: number) => stdioOnly(fd, ERRNO.SPIPE),

    fd_prestat_get(): number {
      // No preopened directories: libc's preopen scan stops at the first EBADF (fd 3).
      enter();
      return ERRNO.BADF;
    },

    fd_prestat_dir_name(): number {
      enter();
      return ERRNO.BADF;
    },

    fd_pwrite: (fd: number) => stdioOnly(fd, ERRNO.SPIPE),

    fd_read(fd: number, iovs: number, iovsLen: number, nreadPtr: number): number {
      const ctx = enter();
      if (fd !== STDIN || !ctx.isOpen(fd)) return ERRNO.BADF;
      const count = iovsLen >>> 0;
      if (count > MAX_IOVECS) return ERRNO.INVAL;
      try {
        const memory = ctx.memory;
        memory.check(nreadPtr, 4);
        const { base, total } = checkIovecs(memory, iovs, count);
        const toRead = Math.min(total, ctx.stdinRemaining);
        chargeBytes(ctx, count * IOVEC_BYTES + toRead);
        let read = 0;
        for (let i = 0; i < count && read < toRead; i++) {
          const entry = base + i * IOVEC_BYTES;
          read += ctx.readStdin(memory.view(memory.u32(entry), memory.u32(entry + 4)));
        }
        memory.setU32(nreadPtr, read);
        return ERRNO.SUCCESS;
      } catch (error) {
        return fault(error);
      }
    },

    fd_readdir: (fd: number) => stdioOnly(fd, ERRNO.NOTDIR),

    fd_renumber(fd: number, to: number): number {
      const ctx = enter();
      // Moving a standard stream would need a descriptor table; none of the three can move.
      return ctx.isOpen(fd) && ctx.isOpen(to) ? ERRNO.NOTSUP : ERRNO.BADF;
    },

    fd_seek: (fd: number) => stdioOnly(fd, ERRNO.SPIPE),
    fd_sync: (fd: number) => stdioOnly(fd, ERRNO.INVAL),
    fd_tell: (fd: number) => stdioOnly(fd, ERRNO.SPIPE),

    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
      const ctx = enter();
      if ((fd !== STDOUT && fd !== STDERR) || !ctx.isOpen(fd)) return ERRNO.BADF;
      const count = iovsLen >>> 0;
      if (count > MAX_IOVECS) return ERRNO.INVAL;
      try {
        const memory = ctx.memory;
        memory.check(nwrittenPtr, 4);
        const { base, total } = checkIovecs(memory, iovs, count);
        if (total > U32_MAX) return ERRNO.INVAL;
        chargeBytes(ctx, count * IOVEC_BYTES + total);
        // stdout is the response: a cut-off response is worse than none, so overflowing fails
        // the invocation. stderr is diagnostics: keep the head, drop the rest, say so.
        if (fd === STDOUT && total > ctx.stdout.available) ctx.stop({ kind: 'output_limit' });
        for (let i = 0; i < count; i++) {
          const entry = base + i * IOVEC_BYTES;
          const chunk = memory.view(memory.u32(entry), memory.u32(entry + 4));
          if (fd === STDOUT) ctx.stdout.append(chunk);
          else ctx.writeStderr(chunk);
        }
        memory.setU32(nwrittenPtr, total);
        return ERRNO.SUCCESS;
      } catch (error) {
        return fault(error);
      }
    },

    path_create_directory: notCapable,
    path_filestat_get: notCapable,
    path_filestat_set_times: notCapable,
    path_link: notCapable,
    path_open: notCapable,
    path_readlink: notCapable,
    path_remove_directory: notCapable,
    path_rename: notCapable,
    path_symlink: notCapable,
    path_unlink_file: notCapable,

    poll_oneoff(inPtr: number, outPtr: number, nsubscriptions: number, neventsPtr: number): number {
      const ctx = enter();
      const count = nsubscriptions >>> 0;
      if (count === 0 || count > MAX_POLL_SUBSCRIPTIONS) return ERRNO.INVAL;
      try {
        const memory = ctx.memory;
        const inBase = memory.check(inPtr, count * SUBSCRIPTION_BYTES);
        const outBase = memory.check(outPtr, count * EVENT_BYTES);
        memory.check(neventsPtr, 4);
        chargeBytes(ctx, count * (SUBSCRIPTION_BYTES + EVENT_BYTES) + 4);
        // Read every subscription before writing any event: the two arrays may overlap.
        const fuelUsed = ctx.fuel.used();
        const subs: Subscription[] = [];
        let anyImmediate = false;
        let soonest = -1n;
        for (let i = 0; i < count; i++) {
          const sub = readSubscription(ctx, inBase + i * SUBSCRIPTION_BYTES, fuelUsed);
          if (sub.type > EVENTTYPE_FD_WRITE) return ERRNO.INVAL;
          if (sub.immediate !== null) anyImmediate = true;
          else if (soonest < 0n || sub.wait < soonest) soonest = sub.wait;
          subs.push(sub);
        }
        // Like poll(2): events that are ready return at once; otherwise the earliest clock
        // fires — after a virtual sleep that moves the clock and never blocks the thread.
        if (!anyImmediate) ctx.clock.sleep(soonest);
        let events = 0;
        for (const sub of subs) {
          const fired = sub.immediate !== null || sub.wait <= (anyImmediate ? 0n : soonest);
          if (!fired) continue;
          const at = outBase + events * EVENT_BYTES;
          memory.fill(at, EVENT_BYTES, 0);
          memory.setU64(at, sub.userdata);
          memory.setU16(at + 8, sub.immediate?.errno ?? ERRNO.SUCCESS);
          memory.setU8(at + 10, sub.type);
          if (sub.immediate !== null) {
            memory.setU64(at + 16, sub.immediate.nbytes);
            memory.setU16(at + 24, sub.immediate.flags);
          }
          events++;
        }
        memory.setU32(neventsPtr, events);
        return ERRNO.SUCCESS;
      } catch (error) {
        return fault(error);
      }
    },

    proc_exit(status: number): undefined {
      return enter().stop({ kind: 'exit', status: status >>> 0 });
    },

    proc_raise(): number {
      // Signals are not delivered; abort() in the toolchains traps (`unreachable`) instead.
      enter();
      return ERRNO.NOSYS;
    },

    sched_yield(): number {
      enter();
      return ERRNO.SUCCESS;
    },

    random_get(buf: number, bufLen: number): number {
      const ctx = enter();
      try {
        const target = ctx.memory.view(buf, bufLen);
        chargeBytes(ctx, target.byteLength);
        ctx.random.fill(target);
        return ERRNO.SUCCESS;
      } catch (error) {
        return fault(error);
      }
    },

    sock_accept: notCapable,
    sock_recv: notCapable,
    sock_send: notCapable,
    sock_shutdown: notCapable,
  };
  return Object.freeze(imports);
}
