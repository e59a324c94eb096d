/** ModuleSource implementations for fetch tests: modules held in memory, and a counting gate. */
import { createHash, randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import type { ModuleSource } from '../../src/fetch/index.ts';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `size` random bytes and their hash. */
export function randomModule(size: number): { bytes: Uint8Array; sha256: string } {
  const bytes = new Uint8Array(randomBytes(size));
  return { bytes, sha256: sha256Hex(bytes) };
}

export interface ReadRecord {
  sha256: string;
  offset: number;
  length: number;
  /** The server's signal for this read. */
  signal?: AbortSignal | undefined;
}

/** Serves stored modules from memory, logs every read, and can mark a hash revoked. */
export class MemoryModuleSource implements ModuleSource {
  readonly modules = new Map<string, Uint8Array>();
  readonly revoked = new Set<string>();
  readonly reads: ReadRecord[] = [];
  /** Runs before each read returns (to hold it or fail it). */
  beforeRead: ((read: ReadRecord) => Promise<void>) | undefined;

  /** Stores `bytes` under `sha256` — which a lying test source sets to another module's hash. */
  add(sha256: string, bytes: Uint8Array): this {
    this.modules.set(sha256, bytes);
    return this;
  }

  size(sha256: string): Promise<number | undefined> {
    return Promise.resolve(this.modules.get(sha256)?.byteLength);
  }

  async read(sha256: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const record: ReadRecord = { sha256, offset, length, signal };
    this.reads.push(record);
    if (this.beforeRead !== undefined) await this.beforeRead(record);
    if (this.revoked.has(sha256)) throw new GojinnError('revoked', `module ${sha256} is revoked`);
    const bytes = this.modules.get(sha256);
    if (bytes === undefined) throw new GojinnError('not_found', `module ${sha256} is not stored`);
    return bytes.slice(offset, offset + length);
  }
}

/** A gate that holds reads until opened; `waiting` counts the held reads. */
export class ReadGate {
  waiting = 0;
  #open: Promise<void>;
  #release: () => void = () => {};

  constructor() {
    this.#open = new Promise((resolve) => {
      this.#release = resolve;
    });
  }

  hold = async (): Promise<void> => {
    this.waiting++;
    try {
      await this.#open;
    } finally {
      this.waiting--;
    }
  };

  open(): void {
    this.#release();
  }
}

/** Same bytes, whatever the view type (libp2p hands out Buffers, fetchModule Uint8Arrays). */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.equal(actual.byteLength, expected.byteLength, message ?? 'byte length');
  assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), message ?? 'bytes differ');
}
