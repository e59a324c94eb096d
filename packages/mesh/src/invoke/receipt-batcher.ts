/**
 * The server's receipt signer: the receipts of calls from one caller that finish within one
 * turn of the event loop share one signature (receipt.ts, schema 2). A receipt waits at most
 * until the check phase of the turn its run finished in (`setImmediate`, no timer), or less: a
 * caller's batch is signed at once when it reaches `maxPerBatch`. Batches never mix callers, so
 * an inclusion path — sibling hashes — only ever reveals hashes of the same caller's calls.
 */
import type { PrivateKey } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import { MAX_RECEIPTS_PER_BATCH, assertSignableClaims, signCheckedReceiptBatch } from './receipt.ts';
import type { BatchReceipt, ReceiptClaims } from './receipt.ts';

export interface ReceiptBatcherOptions {
  /** Receipts per signature at most, 1..MAX_RECEIPTS_PER_BATCH (the default); 1 signs each alone. */
  maxPerBatch?: number;
}

interface Waiting {
  claims: ReceiptClaims;
  resolve: (receipt: BatchReceipt) => void;
  reject: (error: unknown) => void;
}

export class ReceiptBatcher {
  readonly maxPerBatch: number;
  /** Signatures made so far. */
  batches = 0;
  /** Receipts signed so far (receipts / batches = the mean batch size). */
  receipts = 0;
  readonly #privateKey: PrivateKey;
  readonly #waiting = new Map<string, Waiting[]>();
  #flushScheduled = false;

  constructor(privateKey: PrivateKey, options: ReceiptBatcherOptions = {}) {
    const max = options.maxPerBatch ?? MAX_RECEIPTS_PER_BATCH;
    if (!Number.isSafeInteger(max) || max < 1 || max > MAX_RECEIPTS_PER_BATCH) {
      throw new RangeError(
        `maxPerBatch must be an integer in [1, ${MAX_RECEIPTS_PER_BATCH}] (MAX_RECEIPTS_PER_BATCH), got ${String(max)}`,
      );
    }
    if (privateKey.type !== 'Ed25519') {
      throw new RangeError(`receipts are signed with an Ed25519 node key, not ${privateKey.type}`);
    }
    this.maxPerBatch = max;
    this.#privateKey = privateKey;
  }

  /** Receipts waiting for their batch to be signed, for `caller` or in all. */
  waiting(caller?: string): number {
    if (caller !== undefined) return this.#waiting.get(caller)?.length ?? 0;
    let count = 0;
    for (const list of this.#waiting.values()) count += list.length;
    return count;
  }

  /**
   * The signed receipt for `claims` of a call by `caller`, once its batch is signed (this turn).
   * Claims that would not verify are refused here (`internal`), alone, before joining a batch.
   */
  sign(caller: string, claims: ReceiptClaims): Promise<BatchReceipt> {
    // Checked once, here, on a copy (what is signed cannot change while it waits).
    const checked: ReceiptClaims = { ...claims };
    assertSignableClaims(checked);
    return new Promise<BatchReceipt>((resolve, reject) => {
      let list = this.#waiting.get(caller);
      if (list === undefined) {
        list = [];
        this.#waiting.set(caller, list);
      }
      list.push({ claims: checked, resolve, reject });
      if (list.length >= this.maxPerBatch) {
        this.#flush(caller);
      } else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => {
          this.#flushScheduled = false;
          for (const waitingCaller of [...this.#waiting.keys()]) this.#flush(waitingCaller);
        });
      }
    });
  }

  #flush(caller: string): void {
    const list = this.#waiting.get(caller);
    this.#waiting.delete(caller);
    if (list === undefined || list.length === 0) return;
    let receipts: BatchReceipt[];
    try {
      receipts = signCheckedReceiptBatch(
        list.map((waiting) => waiting.claims),
        this.#privateKey,
      );
    } catch (error) {
      const failure =
        error instanceof GojinnError
          ? error
          : new GojinnError('internal', `receipt batch not signed: ${String(error)}`);
      for (const waiting of list) waiting.reject(failure);
      return;
    }
    this.batches++;
    this.receipts += receipts.length;
    list.forEach((waiting, i) => waiting.resolve(receipts[i] as BatchReceipt));
  }
}
