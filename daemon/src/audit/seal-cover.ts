import { GojinnError } from '@gojinn/errors';
import { parseSeal, sealSignatureValid, type AuditEntry, type AuditSeal } from './entry.ts';
import type { ChainBreak, ChainPosition } from './chain.ts';

/** "entry 3" or "entries 3–7". */
export function entryRange(first: number, last: number): string {
  return first === last ? `entry ${first}` : `entries ${first}–${last}`;
}

/**
 * Tracks, along one forward walk of the chain, which version 2 entries a seal still has to
 * cover, and checks each seal met (keys sort `entry/N` < `entry/N/seal` < `entry/N+1`, so a
 * seal comes right after the last entry of its batch). Every version 2 entry must be covered
 * by the next seal of the walk, which must be filed under the entry just walked, name it, start
 * where the uncovered entries start (or, on a pruned log, before the first kept entry), be
 * signed by the log's key, and sign the chain hash just computed. Shared by verifyAuditLog and
 * pruning; constant memory.
 */
export class SealCover {
  /** The first version 2 entry of the walk no seal has covered yet. */
  #uncoveredFrom: number | undefined;
  /**
   * The first seal met whose entry is not there (a seal naming entry N after entry N-1 or
   * before). Not reported at once: if entries follow, the gap is reported as dropped entries;
   * if none do, the seal points past the last entry (strayAfterEnd).
   */
  #stray: number | undefined;
  /** Seals checked so far. */
  sealsChecked = 0;

  /** The first version 2 entry walked that no seal has vouched for yet, if any. */
  get uncoveredFrom(): number | undefined {
    return this.#uncoveredFrom;
  }

  /** Call after each entry the chain accepted. A version 1 entry ends no batch of version 2 ones. */
  entry(entry: AuditEntry): ChainBreak | undefined {
    if (entry.v === 2) {
      this.#uncoveredFrom ??= entry.seq;
      return undefined;
    }
    return this.#uncoveredFrom === undefined ? undefined : this.#uncovered(entry.seq - 1);
  }

  /**
   * Checks the seal stored under the seal key of entry `keySeq`, met after the entries up to
   * `position.seq - 1`. `signature: false` skips its signature, for pruning, which deletes
   * this seal and checks the signature of the seal covering the first kept entry instead.
   * Returns undefined for a seal whose entry is missing (see #stray).
   */
  seal(
    keySeq: number,
    bytes: Uint8Array,
    position: ChainPosition,
    maxEntryBytes: number,
    options: { signature?: boolean } = {},
  ): ChainBreak | AuditSeal | undefined {
    if (keySeq < position.start) {
      return {
        seq: keySeq,
        reason: `the seal of entry ${keySeq} is present although the checkpoint says ${entryRange(0, position.start - 1)} were pruned`,
      };
    }
    if (keySeq !== position.seq - 1) {
      this.#stray ??= keySeq;
      return undefined;
    }
    const at = this.#uncoveredFrom ?? keySeq;
    let seal;
    try {
      seal = parseSeal(bytes, maxEntryBytes);
    } catch (error) {
      return { seq: at, reason: error instanceof GojinnError ? error.message : 'unreadable seal' };
    }
    if (seal.seq !== keySeq) {
      return {
        seq: at,
        reason: `the seal filed under entry ${keySeq} seals entry ${seal.seq} (seal moved or replayed)`,
      };
    }
    position.signer ??= seal.signer;
    if (seal.signer !== position.signer) {
      return {
        seq: at,
        reason: `seal of ${entryRange(seal.first, seal.seq)} signed by ${seal.signer}, not ${position.signer}`,
      };
    }
    if (options.signature !== false && !sealSignatureValid(seal)) {
      return {
        seq: at,
        reason: `seal of ${entryRange(seal.first, seal.seq)}: signature does not verify (seal edited)`,
      };
    }
    const from = this.#uncoveredFrom;
    if (from === undefined) {
      return {
        seq: keySeq,
        reason: `a seal of ${entryRange(seal.first, seal.seq)} follows no unsealed version 2 entry (seal replayed)`,
      };
    }
    // A pruned log may start inside a batch: the first seal then names entries before it.
    const partlyPruned = from === position.start && seal.first < from;
    if (seal.first > from) return this.#uncovered(seal.first - 1);
    if (seal.first < from && !partlyPruned) {
      return {
        seq: from,
        reason: `the seal of ${entryRange(seal.first, seal.seq)} overlaps the seal before it, which ends at entry ${from - 1} (seal replayed)`,
      };
    }
    if (seal.hash !== position.prevHash) {
      return {
        seq: keySeq,
        reason: `entry ${keySeq} differs from the one its seal signed (entry edited, or a seal from another history)`,
      };
    }
    this.#uncoveredFrom = undefined;
    this.sealsChecked++;
    return seal;
  }

  /** Call at the end of the walk, with the last entry walked: every version 2 entry sealed? */
  end(lastSeq: number): ChainBreak | undefined {
    return this.#uncoveredFrom === undefined ? undefined : this.#uncovered(lastSeq);
  }

  /**
   * Call after the head check (which names entries cut off the end more precisely): a seal
   * left after the last entry walked names an entry that is not there.
   */
  strayAfterEnd(lastSeq: number): ChainBreak | undefined {
    if (this.#stray === undefined) return undefined;
    return {
      seq: lastSeq + 1,
      reason: `a seal names entry ${this.#stray}, past the last entry ${lastSeq} (entries cut off, or a seal moved)`,
    };
  }

  #uncovered(last: number): ChainBreak {
    const from = this.#uncoveredFrom ?? last;
    return {
      seq: from,
      reason: `${entryRange(from, last)} covered by no seal (the seal of their batch removed)`,
    };
  }
}
