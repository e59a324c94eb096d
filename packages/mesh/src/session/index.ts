/** Session framing: many request/response calls over one long-lived stream (protocols/README.md). */
export {
  FRAME_CALL,
  FRAME_CANCEL,
  FRAME_REPLY,
  FRAME_CLOSE,
  SESSION_HEADER_BYTES,
  MAX_CALL_ID,
  MAX_VARINT_BYTES,
  FrameDecoder,
  encodeFrame,
  parseFrame,
} from './frames.ts';
export type { SessionFrame } from './frames.ts';
export {
  DEFAULT_CALLS_PER_SESSION,
  DEFAULT_SESSIONS_PER_CONNECTION,
  DEFAULT_SERVER_SESSION_IDLE_MS,
  defineSessionProtocol,
} from './protocol.ts';
export type { SessionProtocol, SessionProtocolSpec } from './protocol.ts';
export { SESSION_CLOSE_FLUSH_MS, serveSession } from './server.ts';
export type { SessionServerLimits } from './server.ts';
export { ClientSession } from './client.ts';
export type { ClientSessionLimits } from './client.ts';
export {
  DEFAULT_SESSIONS_PER_PEER,
  DEFAULT_CLIENT_SESSION_IDLE_MS,
  SESSION_OPEN_TIMEOUT_MS,
  SessionPool,
} from './pool.ts';
export type { SessionPoolOptions, SessionRequestOptions } from './pool.ts';
