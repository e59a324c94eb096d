/**
 * Deterministic re-execution (issue 5, item 7): a caller may run a deterministic remote call
 * again locally — same module bytes, same request, the receipt's seed — and compare. The same
 * inputs must give the same response and the same fuel on every node (docs/sandbox.md,
 * "Determinism"), so a difference means the peer lied or is broken: the daemon records a
 * mismatch against it. Runs that cannot be compared say why instead of guessing.
 */
import type { GuestResponse } from '@gojinn/sandbox';
import { responseSha256 } from '../invoke/protocol.ts';
import type { Receipt } from '../invoke/receipt.ts';

/** What the local re-run produced. */
export interface LocalReExecution {
  moduleSha256: string;
  seed: string;
  response: GuestResponse;
  fuelUsed: bigint | number;
}

export type ReExecutionVerdict =
  | { verdict: 'match' }
  /** The peer's receipt disagrees with a run on the same inputs: record it against `peer`. */
  | { verdict: 'mismatch'; peer: string; differences: ('responseSha256' | 'fuelUsed')[] }
  | { verdict: 'not_comparable'; reason: string };

export function compareReExecution(receipt: Receipt, local: LocalReExecution): ReExecutionVerdict {
  if (!receipt.deterministic) {
    return { verdict: 'not_comparable', reason: 'the receipt says the run was not deterministic' };
  }
  if (local.moduleSha256 !== receipt.moduleSha256) {
    return { verdict: 'not_comparable', reason: 'the local run used another module than the receipt names' };
  }
  if (local.seed.toLowerCase() !== receipt.seed) {
    return { verdict: 'not_comparable', reason: 'the local run used another seed than the receipt' };
  }
  const differences: ('responseSha256' | 'fuelUsed')[] = [];
  if (responseSha256(local.response) !== receipt.responseSha256) differences.push('responseSha256');
  if (BigInt(local.fuelUsed) !== BigInt(receipt.fuelUsed)) differences.push('fuelUsed');
  return differences.length === 0
    ? { verdict: 'match' }
    : { verdict: 'mismatch', peer: receipt.peer, differences };
}
