/**
 * Fetching a module's bytes by hash (protocols/fetch.md, "Fetching a module"): providers one at
 * a time, fastest first, chunks in order, failover from the same offset, then the size and
 * SHA-256 check — the bytes are returned only when they are exactly the ones the manifest signs.
 */
import { createHash } from 'node:crypto';
import type { PeerId } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import { fetchProtocol, FETCH_MAX_INBOUND_STREAMS, MAX_FETCH_CHUNK_BYTES } from './protocol.ts';
import { encodeFetchRequest, SHA256_HEX_PATTERN } from './request.ts';
import {
  findModuleProviders,
  DEFAULT_MAX_PROVIDERS,
  DEFAULT_FIND_PROVIDERS_TIMEOUT_MS,
} from './discovery.ts';
import { latencyCacheOf } from './latency.ts';
import type { PeerLatencyCache, PingNode } from './latency.ts';

export interface FetchProgress {
  /** Bytes received and kept so far (a failover keeps them). */
  received: number;
  total: number;
  /** The provider that served the last chunk. */
  peer: PeerId;
}

/**
 * A provider that served bytes it should not have: the caller may penalise it (score, ban).
 * `hash_mismatch`: it served part of a module whose hash did not match (every contributor is
 * named: which chunk was wrong cannot be known). `wrong_length`: a chunk of the wrong size.
 * `bad_response`: a reply that broke the protocol.
 */
export interface BadProvider {
  peer: PeerId;
  reason: 'hash_mismatch' | 'wrong_length' | 'bad_response';
  message: string;
}

/** One provider's failure, kept for the final error message. */
export interface FetchAttempt {
  peer: PeerId;
  offset: number;
  code: string;
  message: string;
}

export interface FetchModuleOptions {
  /** The manifest's signed hash: 64 lowercase hex digits. */
  sha256: string;
  /** The manifest's signed size in bytes. */
  size: number;
  /** This node's module size limit: a larger `size` is refused before any request. */
  maxBytes: number;
  /** Tried first (e.g. the gossip originator), fastest first; this node is skipped. */
  providers?: readonly PeerId[];
  /** Ask the DHT for more providers once those are exhausted. Default true. */
  useDht?: boolean;
  /** Providers taken from the DHT at most. Default DEFAULT_MAX_PROVIDERS (8). */
  maxDhtProviders?: number;
  /** Deadline of the DHT lookup. Default DEFAULT_FIND_PROVIDERS_TIMEOUT_MS (5000). */
  dhtTimeoutMs?: number;
  /** After every chunk. Must not throw. */
  onProgress?: (progress: FetchProgress) => void;
  /** Each provider caught serving bad bytes. Must not throw. */
  onBadProvider?: (bad: BadProvider) => void;
  /** Chunk requests in flight to one provider, 1..8. Default FETCH_PIPELINE_DEPTH (2). */
  pipelineDepth?: number;
  /** RTT cache used to order providers. Default: one shared per libp2p node. */
  latency?: PeerLatencyCache;
  /** Cancels the fetch: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Chunk requests in flight to one provider at once. Two hide the per-chunk round trip (stream
 * open, request) behind the previous chunk's transfer; more would only hold more 1 MiB buffers
 * and more of the provider's maxConcurrent slots.
 */
export const FETCH_PIPELINE_DEPTH = 2;

type Reply = { chunk: Uint8Array } | { error: unknown };

/** Failures listed in a `peer_unreachable` message; the rest are counted. */
const MAX_ATTEMPTS_IN_MESSAGE = 4;

/**
 * The module's bytes, exactly `size` long and hashing to `sha256`. Throws GojinnError:
 * `bad_request` (bad arguments, `size` > `maxBytes`), `not_found` (no provider at all),
 * `peer_unreachable` (providers were found, none delivered every chunk), `signature_invalid`
 * (`module hash mismatch: …`; nothing is returned).
 */
export async function fetchModule(libp2p: PingNode, options: FetchModuleOptions): Promise<Uint8Array> {
  const { sha256, size, maxBytes, signal } = options;
  checkArguments(sha256, size, maxBytes);
  const pipelineDepth = options.pipelineDepth ?? FETCH_PIPELINE_DEPTH;
  if (
    !Number.isSafeInteger(pipelineDepth) ||
    pipelineDepth < 1 ||
    pipelineDepth > FETCH_MAX_INBOUND_STREAMS
  ) {
    throw new GojinnError(
      'bad_request',
      `pipelineDepth must be an integer 1..${FETCH_MAX_INBOUND_STREAMS} (the server's streams per connection), got ${pipelineDepth}`,
    );
  }
  const latency = options.latency ?? latencyCacheOf(libp2p);
  const bytes = new Uint8Array(size);
  let offset = 0;
  const tried = new Set<string>([libp2p.peerId.toString()]);
  const attempts: FetchAttempt[] = [];
  // Every provider whose bytes are in `bytes`, in the order they served.
  const contributors = new Map<string, PeerId>();
  const bad = (peer: PeerId, reason: BadProvider['reason'], message: string): void => {
    options.onBadProvider?.({ peer, reason, message });
  };

  // Serves chunks from `peer` from the current offset until done or it fails. Up to
  // FETCH_PIPELINE_DEPTH requests are in flight, so the round trip of one chunk overlaps the
  // transfer of the previous; chunks are still taken strictly in order.
  async function drain(peer: PeerId): Promise<void> {
    const dropped = new AbortController();
    const requestSignal = signal === undefined ? dropped.signal : AbortSignal.any([signal, dropped.signal]);
    const inFlight: { offset: number; length: number; reply: Promise<Reply> }[] = [];
    let next = offset;
    try {
      while (offset < size) {
        while (inFlight.length < pipelineDepth && next < size) {
          const length = Math.min(MAX_FETCH_CHUNK_BYTES, size - next);
          const body = encodeFetchRequest({ sha256, offset: next, length });
          const reply = fetchProtocol.request(libp2p, peer, body, { signal: requestSignal }).then(
            (chunk): Reply => ({ chunk }),
            (error: unknown): Reply => ({ error }),
          );
          inFlight.push({ offset: next, length, reply });
          next += length;
        }
        const head = inFlight.shift();
        if (head === undefined) return;
        const reply = await head.reply;
        if (signal?.aborted === true) throw signal.reason;
        if ('error' in reply) {
          const info = reply.error instanceof GojinnError ? reply.error : undefined;
          const code = info?.code ?? 'internal';
          const message = info?.message ?? String(reply.error);
          attempts.push({ peer, offset, code, message });
          if (code === 'bad_response') bad(peer, 'bad_response', message);
          return;
        }
        if (reply.chunk.byteLength !== head.length) {
          const message = `${peer.toString()} served ${reply.chunk.byteLength} bytes at offset ${offset}; asked for ${head.length}`;
          attempts.push({ peer, offset, code: 'bad_response', message });
          bad(peer, 'wrong_length', message);
          return;
        }
        bytes.set(reply.chunk, offset);
        offset += head.length;
        contributors.set(peer.toString(), peer);
        options.onProgress?.({ received: offset, total: size, peer });
      }
    } finally {
      // The provider is dropped (or done): cancel what is still in flight to it.
      dropped.abort(new Error('provider dropped'));
      await Promise.all(inFlight.map((f) => f.reply));
    }
  }

  async function tryAll(candidates: readonly PeerId[]): Promise<void> {
    const fresh = dedupe(candidates).filter((peer) => !tried.has(peer.toString()));
    for (const peer of await latency.order(libp2p, fresh, signal)) {
      if (offset >= size) return;
      tried.add(peer.toString());
      await drain(peer);
    }
  }

  await tryAll(options.providers ?? []);
  if (offset < size && options.useDht !== false) {
    const found = await findModuleProviders(libp2p, sha256, {
      signal,
      max: options.maxDhtProviders ?? DEFAULT_MAX_PROVIDERS,
      timeoutMs: options.dhtTimeoutMs ?? DEFAULT_FIND_PROVIDERS_TIMEOUT_MS,
    });
    await tryAll(found);
  }
  if (offset < size) {
    if (attempts.length === 0) {
      throw new GojinnError('not_found', `no provider of module ${sha256} was found`);
    }
    throw new GojinnError(
      'peer_unreachable',
      `no provider delivered module ${sha256} (${offset} of ${size} bytes received): ${describe(attempts)}`,
    );
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) {
    const peers = [...contributors.values()];
    const message = `module hash mismatch: manifest says ${sha256}, bytes hash to ${actual} (served by ${peers.join(', ')})`;
    for (const peer of peers) bad(peer, 'hash_mismatch', message);
    throw new GojinnError('signature_invalid', message);
  }
  return bytes;
}

function checkArguments(sha256: string, size: number, maxBytes: number): void {
  if (!SHA256_HEX_PATTERN.test(sha256)) {
    throw new GojinnError('bad_request', 'module sha256 must be 64 lowercase hex digits');
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new GojinnError('bad_request', `maxBytes must be a positive integer, got ${maxBytes}`);
  }
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new GojinnError('bad_request', `module size must be a positive integer, got ${size}`);
  }
  if (size > maxBytes) {
    throw new GojinnError(
      'bad_request',
      `module ${sha256} of ${size} bytes exceeds this node's module size limit (maxBytes ${maxBytes})`,
    );
  }
}

function dedupe(peers: readonly PeerId[]): PeerId[] {
  const seen = new Map<string, PeerId>();
  for (const peer of peers) if (!seen.has(peer.toString())) seen.set(peer.toString(), peer);
  return [...seen.values()];
}

function describe(attempts: readonly FetchAttempt[]): string {
  const shown = attempts
    .slice(0, MAX_ATTEMPTS_IN_MESSAGE)
    .map((a) => `${a.peer.toString()} at offset ${a.offset}: ${a.code} (${a.message.slice(0, 160)})`);
  const more = attempts.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}
