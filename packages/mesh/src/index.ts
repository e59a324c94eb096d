export { loadOrCreateNodeIdentity, NODE_KEY_FILE, MAX_NODE_KEY_FILE_BYTES } from './identity.ts';
export type { NodeIdentity } from './identity.ts';
export {
  createMeshNode,
  GOJINN_DHT_PROTOCOL,
  DATASTORE_DIR,
  DEFAULT_CONNECTION_LIMITS,
  MDNS_SERVICE_TAG,
  DEFAULT_MDNS_INTERVAL_MS,
} from './node.ts';
export type { MeshNode, MeshNodeOptions, MeshServices, MeshConnectionLimits } from './node.ts';
export { PeerPenalties, DEFAULT_PEER_PENALTY_LIMITS, penalisePeer } from './peer-penalties.ts';
export type {
  BannedPeers,
  PeerPenaltyLimits,
  PeerPenaltiesOptions,
  PenaltyVerdict,
} from './peer-penalties.ts';
export { framedStream, FrameError } from './framing.ts';
export type { FramedStream, FrameLimits, FrameFailure } from './framing.ts';
export {
  defineProtocol,
  PeerCallError,
  protocolId,
  RESPONSE_OK,
  RESPONSE_ERROR,
  MAX_ERROR_MESSAGE_CHARS,
  MAX_ERROR_REPLY_BYTES,
  DEFAULT_STREAMS_PER_CONNECTION,
  PROTOCOL_NAME_PATTERN,
  PROTOCOL_VERSION_PATTERN,
  requirePositiveIntegers,
} from './request-response.ts';
export type {
  ProtocolSpec,
  RequestContext,
  RequestHandler,
  RequestOptions,
  RequestResponseProtocol,
} from './request-response.ts';
export * from './gossip/index.ts';
export * from './fetch/index.ts';
export * from './invoke/index.ts';
export * from './routing/index.ts';
export * from './sync/index.ts';
export * from './session/index.ts';
