/**
 * The sync server: answers `/gojinn/sync/1.0.0` pages from the node's ledger (revocations
 * first, then the current manifest of each series), refusing with `overloaded` past a bound
 * on pages served at once so catch-up by many peers cannot monopolise the node.
 */
import type { Libp2p } from 'libp2p';
import { GojinnError } from '@gojinn/errors';
import type { EnumerableGossipLedger } from '../gossip/ledger.ts';
import type { RequestHandler, RequestResponseProtocol } from '../request-response.ts';
import { SYNC_PROTOCOL, encodeSyncResponse, parseSyncRequest } from './protocol.ts';

/** Default bound on sync pages a node serves at once, across all peers. */
export const DEFAULT_MAX_CONCURRENT_SYNCS = 8;

export interface SyncServerOptions {
  ledger: EnumerableGossipLedger;
  /** Pages served at once; one more is refused with `overloaded`. Default DEFAULT_MAX_CONCURRENT_SYNCS. */
  maxConcurrentSyncs?: number;
}

export interface SyncServer {
  readonly protocol: RequestResponseProtocol;
  /** What `handle` serves: one request's bytes in, one response's bytes out. */
  readonly handler: RequestHandler;
  /** Pages being served now. */
  readonly active: number;
  /** Serves the protocol on `libp2p` until the returned function is called. */
  handle(libp2p: Libp2p): Promise<() => Promise<void>>;
}

export function createSyncProtocol(options: SyncServerOptions): SyncServer {
  const max = options.maxConcurrentSyncs ?? DEFAULT_MAX_CONCURRENT_SYNCS;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new GojinnError('bad_request', `maxConcurrentSyncs must be an integer ≥ 1, got ${String(max)}`);
  }
  const { ledger } = options;
  let active = 0;
  const handler: RequestHandler = async (request) => {
    if (active >= max) {
      throw new GojinnError(
        'overloaded',
        `sync server busy: ${active} pages being served (maxConcurrentSyncs ${max}); retry later`,
      );
    }
    active++;
    try {
      const { cursor, limit } = parseSyncRequest(request);
      return encodeSyncResponse(await ledger.page(cursor, limit));
    } finally {
      active--;
    }
  };
  return {
    protocol: SYNC_PROTOCOL,
    handler,
    get active() {
      return active;
    },
    handle: (libp2p) => SYNC_PROTOCOL.handle(libp2p, handler),
  };
}
