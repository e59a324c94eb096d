import { GojinnError } from '@gojinn/errors';
import { sha256Hex } from './content-hash.ts';
import { StoreCorruptError, isLevelCorruption } from './errors.ts';
import { SHA256_HEX } from './layout.ts';
import type { BytesSublevel } from './sublevels.ts';

/**
 * Values stored under the sha-256 of their own bytes (module blobs, manifests). The hash is
 * re-computed on EVERY read: bytes that no longer match their key are never returned, so a
 * damaged disk can make a module unavailable but never make the node run different code.
 */
export class ContentAddressedSublevel {
  readonly sublevel: BytesSublevel;
  /** What the values are, for messages ("blob", "manifest"). */
  readonly kind: string;
  /** Largest value accepted by `prepare`; the limit's name appears in the refusal. */
  readonly maxBytes: number;
  readonly limitName: string;

  constructor(sublevel: BytesSublevel, kind: string, maxBytes: number, limitName: string) {
    this.sublevel = sublevel;
    this.kind = kind;
    this.maxBytes = maxBytes;
    this.limitName = limitName;
  }

  /** The value stored under `hash` after re-checking it, or undefined when absent. */
  async get(hash: string): Promise<Uint8Array | undefined> {
    assertHash(hash, this.kind);
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.sublevel.get(hash);
    } catch (error) {
      if (isLevelCorruption(error)) {
        throw new StoreCorruptError(`${this.kind} ${hash}`, 'LevelDB reported corruption', { cause: error });
      }
      throw error;
    }
    if (bytes === undefined) return undefined;
    const actual = sha256Hex(bytes);
    if (actual !== hash) {
      throw new StoreCorruptError(`${this.kind} ${hash}`, `stored bytes hash to ${actual}`);
    }
    return bytes;
  }

  async has(hash: string): Promise<boolean> {
    assertHash(hash, this.kind);
    return this.sublevel.has(hash);
  }

  /**
   * Checks the size limit and hashes `bytes`; returns the key and the batch operation that
   * stores them. The caller commits the operation inside its own atomic batch.
   */
  prepare(bytes: Uint8Array): { hash: string; operation: PutBytes } {
    if (bytes.byteLength > this.maxBytes) {
      throw new GojinnError(
        'bad_request',
        `${this.kind} of ${bytes.byteLength} bytes exceeds limit ${this.limitName} (${this.maxBytes} bytes)`,
      );
    }
    const hash = sha256Hex(bytes);
    return { hash, operation: { type: 'put', sublevel: this.sublevel, key: hash, value: bytes } };
  }
}

export interface PutBytes {
  type: 'put';
  sublevel: BytesSublevel;
  key: string;
  value: Uint8Array;
}

function assertHash(hash: string, kind: string): void {
  if (!SHA256_HEX.test(hash)) {
    throw new GojinnError('bad_request', `${kind} hash must be 64 lower-case hex characters`);
  }
}
