export {
  SYNC_PROTOCOL,
  SYNC_PROTOCOL_ID,
  MAX_SYNC_PAGES,
  MAX_SYNC_PAGE_RECORDS,
  MAX_SYNC_CURSOR_CHARS,
  SYNC_INTERVAL_MS,
  SYNC_MAX_REQUEST_BYTES,
  SYNC_MAX_RESPONSE_BYTES,
  SYNC_TIMEOUT_MS,
  SYNC_MAX_INBOUND_STREAMS,
  encodeSyncRequest,
  parseSyncRequest,
  encodeSyncResponse,
  parseSyncResponse,
} from './protocol.ts';
export type { SyncRequest, SyncResponse } from './protocol.ts';
export { createSyncProtocol, DEFAULT_MAX_CONCURRENT_SYNCS } from './server.ts';
export type { SyncServer, SyncServerOptions } from './server.ts';
export { syncFromPeer, BLAMELESS_REJECT_CODES } from './client.ts';
export type { SyncMisbehaviour, SyncOptions, SyncResult } from './client.ts';
export { startCatchUp, DEFAULT_MAX_CONCURRENT_CATCH_UPS } from './catch-up.ts';
export type { CatchUp, CatchUpOptions } from './catch-up.ts';
