/**
 * The sync cursor a ledger hands out (protocols/sync.md): opaque to peers, parsed strictly
 * here because it comes back from the network. It holds two sequence numbers in the ledger's
 * storage order — the last revocation and the last current manifest a page examined — so the
 * next page starts after both. Kept after a complete round, it makes the next round
 * incremental: only revocations and (newly current) manifests stored since.
 */
import { GojinnError } from '@gojinn/errors';

/** Longest cursor a peer may send (protocols/sync.md); ours are 32 characters. */
export const MAX_SYNC_CURSOR_CHARS = 128;

export interface LedgerPosition {
  /** Sequence number of the last revocation examined (0: none yet). */
  revocation: number;
  /** Sequence number of the last current manifest examined (0: none yet). */
  manifest: number;
}

export const LEDGER_START: Readonly<LedgerPosition> = Object.freeze({ revocation: 0, manifest: 0 });

const CURSOR_PATTERN = /^([0-9a-f]{16})([0-9a-f]{16})$/;

/** Sequence numbers as 16 lowercase hex digits: their text order is their numeric order. */
export function seqText(seq: number): string {
  return seq.toString(16).padStart(16, '0');
}

export function encodeLedgerCursor(position: LedgerPosition): string {
  return `${seqText(position.revocation)}${seqText(position.manifest)}`;
}

/** `bad_request` for anything this ledger format cannot have issued. */
export function parseLedgerCursor(cursor: string): LedgerPosition {
  const match = CURSOR_PATTERN.exec(cursor);
  const revocation = Number.parseInt(match?.[1] ?? '', 16);
  const manifest = Number.parseInt(match?.[2] ?? '', 16);
  if (!Number.isSafeInteger(revocation) || !Number.isSafeInteger(manifest)) {
    throw new GojinnError(
      'bad_request',
      `sync cursor ${JSON.stringify(cursor.slice(0, 40))} is not a cursor this node issued`,
    );
  }
  return { revocation, manifest };
}
