/**
 * The fetch server: answers byte ranges of modules this node has stored and verified, read from
 * a ModuleSource (the daemon adapts its registry), within the limits of protocols/fetch.md.
 */
import type { Libp2p } from 'libp2p';
import { GojinnError } from '@gojinn/errors';
import type { RequestContext } from '../request-response.ts';
import { fetchProtocol, FETCH_PROTOCOL_ID } from './protocol.ts';
import { parseFetchRequest } from './request.ts';

/** Where the server reads module bytes. Only verified modules may be visible through it. */
export interface ModuleSource {
  /** The stored module's size in bytes, or undefined when this node does not serve it. */
  size(sha256: string): Promise<number | undefined>;
  /**
   * Exactly `length` bytes from `offset` (the server never asks past the end). May throw
   * GojinnError `revoked` or `not_found`, which reach the caller with their code. `signal`
   * aborts when the caller is gone or the deadline passed: a slow source should stop then, as
   * the read holds one of the server's maxConcurrent slots until it settles.
   */
  read(sha256: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
}

/**
 * Fetches being answered at once on this node, across all peers and connections. Each holds up
 * to one chunk (1 MiB) in memory while it is read, so this bounds that memory.
 */
export const DEFAULT_MAX_CONCURRENT_FETCHES = 16;

export interface FetchServerOptions {
  source: ModuleSource;
  /** Fetches in progress above which a new one is answered `overloaded`. Default 16. */
  maxConcurrent?: number;
}

export interface FetchServer {
  /** `/gojinn/fetch/1.0.0`. */
  readonly id: string;
  /** Fetches being read from the source right now. */
  readonly inProgress: number;
  readonly maxConcurrent: number;
  /** Serves fetch on `node` until the returned function is called. */
  handle(node: Libp2p): Promise<() => Promise<void>>;
}

export function createFetchProtocol(options: FetchServerOptions): FetchServer {
  const maxConcurrent = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_FETCHES;
  if (!Number.isSafeInteger(maxConcurrent) || maxConcurrent < 1) {
    throw new GojinnError('bad_request', `maxConcurrent must be a positive integer, got ${maxConcurrent}`);
  }
  const { source } = options;
  let inProgress = 0;

  async function answer(body: Uint8Array, context: RequestContext): Promise<Uint8Array> {
    const request = parseFetchRequest(body);
    if (inProgress >= maxConcurrent) {
      throw new GojinnError(
        'overloaded',
        `${inProgress} fetches in progress on this node (maxConcurrent ${maxConcurrent}); retry later`,
      );
    }
    inProgress++;
    try {
      const size = await source.size(request.sha256);
      if (size === undefined) {
        throw new GojinnError('not_found', `module ${request.sha256} is not served by this node`);
      }
      if (request.offset >= size) {
        throw new GojinnError(
          'bad_request',
          `fetch offset ${request.offset} is not below the module's size ${size}`,
        );
      }
      const length = Math.min(request.length, size - request.offset);
      const bytes = await source.read(request.sha256, request.offset, length, context.signal);
      if (bytes.byteLength !== length) {
        // A broken source: say nothing of it to the peer (it would look like a lying provider).
        throw new Error(`module source returned ${bytes.byteLength} bytes for a read of ${length}`);
      }
      return bytes;
    } finally {
      inProgress--;
    }
  }

  return {
    id: FETCH_PROTOCOL_ID,
    get inProgress() {
      return inProgress;
    },
    maxConcurrent,
    handle: (node) => fetchProtocol.handle(node, answer),
  };
}
