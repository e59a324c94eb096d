export {
  MANIFEST_TOPIC,
  MAX_GOSSIP_MESSAGE_BYTES,
  encodeGossipMessage,
  parseGossipMessage,
} from './message.ts';
export type { GossipRecord } from './message.ts';
export { MemoryGossipLedger, compareVersions, DEFAULT_LEDGER_MAX_MANIFESTS } from './ledger.ts';
export type { GossipLedger, KnownManifest, MemoryGossipLedgerOptions } from './ledger.ts';
export { validateGossipMessage } from './validate.ts';
export type { GossipVerdict } from './validate.ts';
export { ManifestGossip } from './manifest-gossip.ts';
export type {
  ManifestEvent,
  ManifestGossipOptions,
  ManifestGossipStats,
  RejectEvent,
  RevocationEvent,
} from './manifest-gossip.ts';
export {
  MANIFEST_TOPIC_SCORE_PARAMS,
  INVALID_MANIFEST_MESSAGE_WEIGHT,
  INVALID_MANIFEST_MESSAGE_DECAY,
  gossipMessageId,
} from './scoring.ts';
