/**
 * The sync caller: pages through a peer's ledger and feeds every record to
 * `ManifestGossip.ingest`, so a synced record gets exactly the verdict it would get on the
 * gossip topic. A record no honest node could have stored (it does not parse or its
 * signature does not verify) marks the peer as misbehaving: the rest of its page is dropped
 * and the round ends. A record an honest peer may hold and this node still rejects (out of
 * date here, or a revocation by an operator only the peer trusts) is rejected without
 * blaming the peer, and the page goes on.
 */
import type { Libp2p } from 'libp2p';
import type { PeerId } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import type { ErrorCode } from '@gojinn/errors';
import { canonicalJson } from '@gojinn/manifest';
import type { ManifestGossip } from '../gossip/manifest-gossip.ts';
import {
  MAX_SYNC_PAGES,
  MAX_SYNC_PAGE_RECORDS,
  SYNC_PROTOCOL,
  encodeSyncRequest,
  parseSyncResponse,
} from './protocol.ts';

/**
 * Reject codes an honest peer can cause, so they are not held against it: `revoked` and
 * `rollback` (this node knows a revocation or a higher version the peer lacks, as after a
 * partition) and `untrusted_publisher` (a revocation by an operator key the peer trusts and
 * this node does not: trust differs between nodes). Every other reject — a record that does
 * not parse or whose signature does not verify — is one no honest node stores.
 */
export const BLAMELESS_REJECT_CODES: readonly ErrorCode[] = Object.freeze([
  'revoked',
  'rollback',
  'untrusted_publisher',
]);

export interface SyncMisbehaviour {
  peer: PeerId;
  code: ErrorCode;
  message: string;
}

export interface SyncOptions {
  /** Where to start: a `next` of an earlier round with this peer (incremental). Default: the beginning. */
  cursor?: string;
  /** Pages read at most. Default MAX_SYNC_PAGES. */
  maxPages?: number;
  signal?: AbortSignal;
  /** The peer sent a forged or malformed record or response: the place to penalise it. */
  onMisbehaviour?: (event: SyncMisbehaviour) => void;
}

export interface SyncResult {
  accepted: number;
  ignored: number;
  rejected: number;
  pages: number;
  /** True when the peer said it had nothing more. */
  complete: boolean;
  /** Where a later round may resume (its `cursor`); undefined after misbehaviour. */
  next: string | undefined;
}

const utf8 = new TextEncoder();

/**
 * One round of catch-up from `peer`. Throws the call's GojinnError when a page cannot be
 * obtained (`peer_unreachable`, `timeout`, `overloaded`, `bad_response` …); records judged
 * before that stay judged.
 */
export async function syncFromPeer(
  libp2p: Libp2p,
  peer: PeerId,
  gossip: Pick<ManifestGossip, 'ingest'>,
  options: SyncOptions = {},
): Promise<SyncResult> {
  const maxPages = options.maxPages ?? MAX_SYNC_PAGES;
  if (!Number.isSafeInteger(maxPages) || maxPages < 1) {
    throw new GojinnError('bad_request', `maxPages must be an integer ≥ 1, got ${String(maxPages)}`);
  }
  const result: SyncResult = {
    accepted: 0,
    ignored: 0,
    rejected: 0,
    pages: 0,
    complete: false,
    next: undefined,
  };
  const misbehaved = (code: ErrorCode, message: string): SyncResult => {
    try {
      options.onMisbehaviour?.({ peer, code, message });
    } catch {
      // A failing callback must not turn the verdict into something else.
    }
    result.next = undefined;
    return result;
  };
  let cursor = options.cursor;
  while (result.pages < maxPages) {
    options.signal?.throwIfAborted();
    const request = encodeSyncRequest({ cursor, limit: MAX_SYNC_PAGE_RECORDS });
    const body = await SYNC_PROTOCOL.request(libp2p, peer, request, { signal: options.signal });
    let page;
    try {
      page = parseSyncResponse(body, MAX_SYNC_PAGE_RECORDS);
    } catch (error) {
      if (error instanceof GojinnError) misbehaved(error.code, error.message);
      throw error;
    }
    result.pages++;
    for (const record of page.records) {
      // Judging a page can take a while (a signature check per record): stop between records.
      options.signal?.throwIfAborted();
      let bytes: Uint8Array;
      try {
        bytes = utf8.encode(canonicalJson(record));
      } catch (error) {
        return misbehaved('signature_invalid', `sync record cannot be encoded: ${(error as Error).message}`);
      }
      // One record at a time: gossip validations queued meanwhile run between them.
      const verdict = await gossip.ingest(bytes, peer);
      if (verdict.result === 'reject') {
        result.rejected++;
        if (!BLAMELESS_REJECT_CODES.includes(verdict.code)) return misbehaved(verdict.code, verdict.message);
      } else if (verdict.result === 'ignore') {
        result.ignored++;
      } else {
        result.accepted++;
      }
    }
    cursor = page.next;
    result.next = page.next;
    if (!page.more) {
      result.complete = true;
      break;
    }
  }
  return result;
}
