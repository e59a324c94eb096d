/** Federated invocation: the invoke protocol, per-peer policy and signed receipts (protocols/invoke.md). */
export {
  RECEIPT_DOMAIN_TAG,
  RECEIPT_BATCH_DOMAIN_TAG,
  RECEIPT_SCHEMA_VERSION,
  SINGLE_RECEIPT_SCHEMA_VERSION,
  MAX_RECEIPTS_PER_BATCH,
  MAX_RECEIPT_PATH_LENGTH,
  MAX_RECEIPT_PEER_CHARS,
  MAX_RECEIPT_TIME_CHARS,
  MAX_CACHED_RECEIPT_KEYS,
  signReceipt,
  signReceiptBatch,
  verifyReceipt,
  verifyParsedReceipt,
  defaultVerifiedBatchCache,
  parseReceipt,
  receiptSigningBytes,
  receiptLeafBytes,
  receiptBatchSigningBytes,
} from './receipt.ts';
export type {
  Receipt,
  BatchReceipt,
  SingleReceipt,
  ReceiptBatchProof,
  ReceiptClaims,
  VerifyReceiptOptions,
} from './receipt.ts';
export { ReceiptBatcher } from './receipt-batcher.ts';
export type { ReceiptBatcherOptions } from './receipt-batcher.ts';
export { VerifiedBatchCache, MAX_CACHED_RECEIPT_BATCHES } from './verified-batches.ts';
export {
  merkleLeafHash,
  merkleNodeHash,
  buildMerkleTree,
  merklePathLength,
  merkleRootFromPath,
} from './merkle.ts';
export type { MerkleTree } from './merkle.ts';
export {
  PeerPolicyTable,
  OverloadedError,
  DEFAULT_PEER_RATE_PER_SECOND,
  DEFAULT_PEER_MAX_CONCURRENT,
  MAX_PEER_RATE_PER_SECOND,
  MAX_PEER_MAX_CONCURRENT,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_TRACKED_PEERS,
} from './peer-policy.ts';
export type { PeerPolicy, PeerAdmission, PeerPolicyTableOptions, UnknownPeers } from './peer-policy.ts';
export { TokenBucket } from './token-bucket.ts';
export {
  MAX_RANGE_CHARS,
  MAX_DEADLINE_MS,
  MAX_HOPS,
  describeModule,
  encodeInvokeCall,
  encodeInvokeAnswer,
  parseInvokeCall,
  parseInvokeAnswer,
} from './messages.ts';
export type { ModuleRef, InvokeCall, InvokeAnswer } from './messages.ts';
export {
  INVOKE_PROTOCOL_NAME,
  INVOKE_PROTOCOL_ID,
  INVOKE_SESSION_PROTOCOL_VERSION,
  INVOKE_SESSION_PROTOCOL_ID,
  INVOKE_SESSION_PROTOCOL,
  invokeSessions,
  INVOKE_PROTOCOL_SPEC,
  INVOKE_MAX_REQUEST_BYTES,
  INVOKE_MAX_RESPONSE_BYTES,
  INVOKE_TIMEOUT_GRACE_MS,
  DEFAULT_INVOKE_TIMEOUT_MS,
  DEFAULT_MAX_HOPS,
  createInvokeProtocol,
  invokeRemote,
  requestSha256,
  responseSha256,
} from './protocol.ts';
export type {
  ExecuteCall,
  ExecuteResult,
  InvokeExecutor,
  InvokeProtocolOptions,
  InvokeRemoteOptions,
  InvokeServer,
} from './protocol.ts';
