/**
 * Linear memories kept for the next fresh instance, one pool per thread.
 *
 * A fresh instance per invocation stays a new `WebAssembly.Instance`, but allocating its
 * `WebAssembly.Memory` is most of what that costs: V8 reserves a guarded region of address
 * space, maps it, and when the memory is collected unmaps it again (a TLB shootdown across every
 * thread of the process). A module prepared with `importMemory` takes its memory from the runtime
 * instead (wasm/runtime-imports.ts), and this pool hands out memories that served an instance
 * that has since been dropped.
 *
 * Invisible to the guest: `take` zeroes every byte right before the memory is handed to
 * instantiation, whatever happened to it before (a guest that wrote secrets and trapped, an
 * instantiation that wrote one data segment and trapped on the next), and a memory is only
 * ever recycled at exactly the module's initial size (a grown memory cannot shrink: it is
 * dropped). Instantiation then applies the data segments as it would to a new memory, so what
 * the guest sees is a memory of the module's initial size and maximum, zeros and its data.
 * Zeroing happens at take and only there: zeroing at give as well would double the cost for
 * nothing the guest could see, since no memory leaves the pool without passing through take.
 *
 * Memories never cross modules: each module has its own idle list, and `give` accepts only a
 * memory this pool created for that same module (so its maximum, which JS cannot read back
 * from a Memory, is known to be the module's). The caller must give back only memories no
 * instance will use again (instance-pool.ts keeps its idle instances' memories).
 *
 * Bounded: at most `maxIdleMemoriesPerModule` idle memories per module and `maxIdleBytes` in
 * all, the least recently used module's memories evicted first; memories above
 * `maxRecycledMemoryBytes` are never kept. Modules are keys of a WeakMap: the pool never keeps
 * one (and its compiled code) alive; the idle memories of a module that was collected stay
 * counted until the LRU evicts them, so what the pool retains is bounded by maxIdleBytes.
 */
import { WASM_PAGE_BYTES } from '../limits.ts';
import { countLimits } from './count-limits.ts';
import type { MemoryShape } from '../wasm/runtime-imports.ts';

export interface MemoryRecyclingLimits {
  /**
   * Idle memories kept per module in one thread. A thread runs one invocation at a time, so
   * one is enough unless invocations nest (a host function invoking the same module).
   */
  maxIdleMemoriesPerModule: number;
  /** Bytes of idle memories kept in one thread, each memory counted as at least one 64 KiB page. */
  maxIdleBytes: number;
  /**
   * Largest memory recycled: zeroing costs time in proportion to its size, while a new memory
   * costs about the same whatever its size (the OS hands out zero pages on first touch).
   * Measured on this 2-core VM (a guest touching 16 KiB, main thread and two workers): the
   * recycled memory wins up to 8 MiB (155–620 µs against 600–970 µs new) and loses from
   * 16 MiB (1.3–1.9 ms against 0.6–1.1 ms new).
   */
  maxRecycledMemoryBytes: number;
}

export const DEFAULT_MEMORY_RECYCLING_LIMITS: Readonly<MemoryRecyclingLimits> = Object.freeze({
  maxIdleMemoriesPerModule: 2,
  maxIdleBytes: 16 * 1024 * 1024,
  maxRecycledMemoryBytes: 8 * 1024 * 1024,
});

export interface MemoryPoolStats {
  /** Modules with at least one idle memory. */
  modules: number;
  idleMemories: number;
  idleBytes: number;
}

interface IdleMemory {
  readonly memory: WebAssembly.Memory;
  /** What it counts against maxIdleBytes. */
  readonly charge: number;
}

/** One module's idle memories; in the LRU set exactly while it has some. */
interface ModuleEntry {
  readonly idle: IdleMemory[];
}

export class MemoryPool {
  readonly limits: Readonly<MemoryRecyclingLimits>;
  /** Each module's entry, held weakly: the pool never keeps a module (and its code) alive. */
  readonly #entries = new WeakMap<WebAssembly.Module, ModuleEntry>();
  /** Entries with idle memories, least recently used first (a Set iterates in insertion order). */
  readonly #lru = new Set<ModuleEntry>();
  /**
   * The entry of the module each memory this pool created was created for: `give` accepts
   * nothing else. The entry, not the module: a value of this map lives as long as its memory,
   * and an idle memory must not keep its module alive.
   */
  readonly #owners = new WeakMap<WebAssembly.Memory, ModuleEntry>();
  #idleBytes = 0;

  constructor(limits: Partial<MemoryRecyclingLimits> = {}) {
    this.limits = countLimits(DEFAULT_MEMORY_RECYCLING_LIMITS, limits);
  }

  /**
   * A memory for a new instance of `module`: an idle one with every byte zeroed, or a new one.
   * Either way exactly `shape.initialPages` pages, growable to `shape.maxPages`.
   */
  take(module: WebAssembly.Module, shape: MemoryShape): WebAssembly.Memory {
    const entry = this.#entryOf(module);
    const idle = entry.idle.pop();
    if (idle !== undefined) {
      const { memory } = idle;
      this.#idleBytes -= idle.charge;
      if (entry.idle.length === 0) this.#lru.delete(entry);
      // give() kept it only at the initial size; checked again because zeroing less than all
      // of it would be the one way a previous guest's bytes could show.
      if (memory.buffer.byteLength === shape.initialPages * WASM_PAGE_BYTES) {
        new Uint8Array(memory.buffer).fill(0);
        return memory;
      }
    }
    const created = new WebAssembly.Memory({ initial: shape.initialPages, maximum: shape.maxPages });
    this.#owners.set(created, entry);
    return created;
  }

  /**
   * Offers back the memory of an instance of `module` that will never run again (after any
   * outcome, or an instantiation that failed). Kept when this pool created it for `module`, it
   * is still at the initial size, and the limits allow; returns whether it was kept.
   */
  give(module: WebAssembly.Module, memory: WebAssembly.Memory, shape: MemoryShape): boolean {
    const entry = this.#entryOf(module);
    if (this.#owners.get(memory) !== entry) return false;
    const size = memory.buffer.byteLength;
    if (size !== shape.initialPages * WASM_PAGE_BYTES) return false; // grew: cannot shrink back
    if (size > this.limits.maxRecycledMemoryBytes) return false;
    // Given twice: handing it out twice would share it between two instances.
    if (entry.idle.some((idle) => idle.memory === memory)) return false;
    if (entry.idle.length >= this.limits.maxIdleMemoriesPerModule) return false;
    const charge = Math.max(size, WASM_PAGE_BYTES);
    if (!this.#makeRoom(charge, entry)) return false;
    entry.idle.push({ memory, charge });
    this.#idleBytes += charge;
    // Most recently used last.
    this.#lru.delete(entry);
    this.#lru.add(entry);
    return true;
  }

  stats(): MemoryPoolStats {
    let idleMemories = 0;
    for (const entry of this.#lru) idleMemories += entry.idle.length;
    return { modules: this.#lru.size, idleMemories, idleBytes: this.#idleBytes };
  }

  /** Drops every idle memory. */
  clear(): void {
    for (const entry of this.#lru) entry.idle.length = 0;
    this.#lru.clear();
    this.#idleBytes = 0;
  }

  #entryOf(module: WebAssembly.Module): ModuleEntry {
    let entry = this.#entries.get(module);
    if (entry === undefined) {
      entry = { idle: [] };
      this.#entries.set(module, entry);
    }
    return entry;
  }

  /** Evicts least recently used modules' memories (never `keep`'s) until `charge` more bytes fit. */
  #makeRoom(charge: number, keep: ModuleEntry): boolean {
    const max = this.limits.maxIdleBytes;
    if (charge > max) return false;
    for (const entry of this.#lru) {
      if (this.#idleBytes + charge <= max) break;
      if (entry === keep) continue;
      this.#lru.delete(entry);
      for (const idle of entry.idle) this.#idleBytes -= idle.charge;
      entry.idle.length = 0;
    }
    return this.#idleBytes + charge <= max;
  }
}

/** The pool `runInvocation` uses in this thread (each worker thread has its own). */
export const threadMemoryPool = new MemoryPool();
