export {
  MANIFEST_TOPIC,
  MAX_GOSSIP_MESSAGE_BYTES,
  encodeGossipMessage,
  parseGossipMessage,
} from './message.ts';
export type { GossipRecord } from './message.ts';
export {
  compareVersions,
  DEFAULT_LEDGER_MAX_MANIFESTS,
  DEFAULT_LEDGER_MAX_REVOCATIONS,
  DEFAULT_LEDGER_MAX_PAGE_SCAN,
  MAX_SYNC_PAGE_RECORDS,
} from './ledger.ts';
export type {
  EnumerableGossipLedger,
  GossipLedger,
  GossipLedgerOptions,
  KnownManifest,
  LedgerPage,
} from './ledger.ts';
export { MemoryGossipLedger } from './memory-ledger.ts';
export type { MemoryGossipLedgerOptions } from './memory-ledger.ts';
export { LevelGossipLedger } from './level-ledger.ts';
export type { LedgerDatabase, LedgerOperation, LedgerRange } from './level-ledger.ts';
export { MAX_SYNC_CURSOR_CHARS } from './ledger-cursor.ts';
export { validateGossipMessage } from './validate.ts';
export type { GossipVerdict } from './validate.ts';
export { ManifestGossip } from './manifest-gossip.ts';
export type {
  ManifestEvent,
  ManifestGossipOptions,
  ManifestGossipStats,
  RecordSource,
  RejectEvent,
  RevocationEvent,
} from './manifest-gossip.ts';
export {
  MANIFEST_TOPIC_SCORE_PARAMS,
  INVALID_MANIFEST_MESSAGE_WEIGHT,
  INVALID_MANIFEST_MESSAGE_DECAY,
  gossipMessageId,
} from './scoring.ts';
