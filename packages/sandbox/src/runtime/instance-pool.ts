/**
 * Idle instances kept for reuse, one pool per thread: creating an instance (its memory above
 * all) and collecting it later cost more than putting a used one back to its initial state.
 *
 * Reuse must be invisible. An instance is only ever handed out restored to exactly the state
 * instantiation left it in, before any guest code ran:
 *   - every byte of linear memory, copied from a snapshot of the module's memory taken from a
 *     fresh instance right after instantiation (instantiation is deterministic: data segments
 *     and their offsets are constants, and a guest imports no globals);
 *   - every mutable global, the guest's and the meter's, put back by the module's own
 *     `__gojinn_reset` function (wasm/reset-function.ts), which re-evaluates each initializer;
 *   - tables and segments need nothing: a module that could change them is not reusable, and
 *     its reset function says so by returning 0.
 * An instance whose memory grew is never taken back (memory cannot shrink), and the runtime
 * gives back only instances whose invocation succeeded without a trap or an exit.
 *
 * Bounded: at most `maxIdleInstancesPerModule` idle instances per module, and at most
 * `maxRetainedBytes` of memory kept in all (snapshots plus idle instances' memories), the
 * least recently used module's instances and snapshot evicted first.
 */
import { WASM_PAGE_BYTES } from '../limits.ts';
import { countLimits } from './count-limits.ts';
import { METER_EXPORTS } from '../meter-abi.ts';

export interface InstanceReuseLimits {
  /** Idle instances kept per module in one thread. */
  maxIdleInstancesPerModule: number;
  /**
   * Bytes kept for reuse in one thread: every module's memory snapshot plus every idle
   * instance's memory, each counted as at least one 64 KiB page.
   */
  maxRetainedBytes: number;
  /**
   * Largest initial memory an instance may have to be reused: restoring copies all of it, and
   * above this a fresh instance (whose memory the OS hands out zeroed) is the cheaper reset
   * (measured with a guest touching 16 KiB: the medians cross at about 2 MiB, though fresh
   * instances keep a far worse p99 from collecting their memories).
   */
  maxReusableMemoryBytes: number;
}

export const DEFAULT_INSTANCE_REUSE_LIMITS: Readonly<InstanceReuseLimits> = Object.freeze({
  maxIdleInstancesPerModule: 4,
  maxRetainedBytes: 32 * 1024 * 1024,
  maxReusableMemoryBytes: 2 * 1024 * 1024,
});

export interface InstancePoolStats {
  /** Modules with a snapshot. */
  modules: number;
  idleInstances: number;
  retainedBytes: number;
}

interface ModuleEntry {
  /** The module's linear memory as instantiation left it, before any guest code ran. */
  readonly snapshot: Uint8Array;
  /** What the snapshot and each idle instance count against maxRetainedBytes. */
  readonly charge: number;
  readonly idle: WebAssembly.Instance[];
}

/** What the reset function returns when it has restored the globals (0: module not reusable). */
const RESET_DONE = 1;

export class InstancePool {
  readonly limits: Readonly<InstanceReuseLimits>;
  /** In least- to most-recently used order (a Map iterates in insertion order). */
  readonly #entries = new Map<WebAssembly.Module, ModuleEntry>();
  /** Whether a module's reset function declares it reusable, learned once from a fresh instance. */
  readonly #reusable = new WeakMap<WebAssembly.Module, boolean>();
  #retainedBytes = 0;

  constructor(limits: Partial<InstanceReuseLimits> = {}) {
    this.limits = countLimits(DEFAULT_INSTANCE_REUSE_LIMITS, limits);
  }

  /**
   * An idle instance of `module`, restored to its initial state, or null when there is none
   * (or the restore was refused: then the instance is dropped, never handed out half reset).
   */
  take(module: WebAssembly.Module): WebAssembly.Instance | null {
    const entry = this.#entries.get(module);
    const instance = entry?.idle.pop();
    if (entry === undefined || instance === undefined) return null;
    this.#retainedBytes -= entry.charge;
    this.#touch(module, entry);
    return restore(instance, entry.snapshot) ? instance : null;
  }

  /**
   * Called with a fresh instance of `module` right after instantiation, before any of its code
   * has run: the one moment its memory may serve as the module's snapshot. Returns whether the
   * instance may be given back once its invocation has succeeded.
   */
  adopt(module: WebAssembly.Module, instance: WebAssembly.Instance): boolean {
    let reusable = this.#reusable.get(module);
    if (reusable === undefined) {
      // On a fresh instance the reset function only writes the values the globals already have.
      reusable = resetFunction(instance)?.() === RESET_DONE;
      this.#reusable.set(module, reusable);
    }
    if (!reusable) return false;
    const memory = instance.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) return false;
    const size = memory.buffer.byteLength;
    if (size > this.limits.maxReusableMemoryBytes) return false;
    if (this.#entries.has(module)) return true;
    const charge = chargeOf(size);
    if (!this.#makeRoom(charge, null)) return false;
    this.#entries.set(module, { snapshot: new Uint8Array(memory.buffer).slice(), charge, idle: [] });
    this.#retainedBytes += charge;
    return true;
  }

  /**
   * Offers back an instance (from `take`, or adopted) whose invocation succeeded. Kept when its
   * memory did not grow and the limits allow; returns whether it was kept.
   */
  give(module: WebAssembly.Module, instance: WebAssembly.Instance): boolean {
    const entry = this.#entries.get(module);
    if (entry === undefined) return false; // evicted while the instance was in use
    const memory = instance.exports.memory as WebAssembly.Memory;
    if (memory.buffer.byteLength !== entry.snapshot.byteLength) return false; // grew: cannot shrink back
    if (entry.idle.length >= this.limits.maxIdleInstancesPerModule) return false;
    if (!this.#makeRoom(entry.charge, module)) return false;
    entry.idle.push(instance);
    this.#retainedBytes += entry.charge;
    this.#touch(module, entry);
    return true;
  }

  stats(): InstancePoolStats {
    let idleInstances = 0;
    for (const entry of this.#entries.values()) idleInstances += entry.idle.length;
    return { modules: this.#entries.size, idleInstances, retainedBytes: this.#retainedBytes };
  }

  /** Drops every snapshot and idle instance. */
  clear(): void {
    this.#entries.clear();
    this.#retainedBytes = 0;
  }

  #touch(module: WebAssembly.Module, entry: ModuleEntry): void {
    this.#entries.delete(module);
    this.#entries.set(module, entry);
  }

  /** Evicts least recently used modules (never `keep`) until `charge` more bytes fit. */
  #makeRoom(charge: number, keep: WebAssembly.Module | null): boolean {
    const max = this.limits.maxRetainedBytes;
    if (charge > max) return false;
    for (const [module, entry] of this.#entries) {
      if (this.#retainedBytes + charge <= max) break;
      if (module === keep) continue;
      this.#entries.delete(module);
      this.#retainedBytes -= entry.charge * (1 + entry.idle.length);
    }
    return this.#retainedBytes + charge <= max;
  }
}

/** The pool `runInvocation` uses in this thread (each worker thread has its own). */
export const threadInstancePool = new InstancePool();

function chargeOf(memoryBytes: number): number {
  return Math.max(memoryBytes, WASM_PAGE_BYTES);
}

function resetFunction(instance: WebAssembly.Instance): (() => number) | null {
  const reset = instance.exports[METER_EXPORTS.reset];
  return typeof reset === 'function' ? (reset as () => number) : null;
}

/** Puts every mutable global and every byte of memory back as instantiation left them. */
function restore(instance: WebAssembly.Instance, snapshot: Uint8Array): boolean {
  if (resetFunction(instance)?.() !== RESET_DONE) return false;
  const memory = instance.exports.memory as WebAssembly.Memory;
  if (memory.buffer.byteLength !== snapshot.byteLength) return false;
  new Uint8Array(memory.buffer).set(snapshot);
  return true;
}
