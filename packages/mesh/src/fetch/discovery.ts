/**
 * Finding who serves a module: DHT provider records keyed by the module's content id, the CIDv1
 * (raw, sha2-256) of its `sha256` — the same id `contentCid` of @gojinn/manifest prints — on
 * the private DHT (/gojinn/kad/1.0.0).
 */
import type { Libp2p } from 'libp2p';
import type { PeerId } from '@libp2p/interface';
import { CID } from 'multiformats/cid';
import { GojinnError } from '@gojinn/errors';
import { contentCid } from '@gojinn/manifest';
import { SHA256_HEX_PATTERN } from './request.ts';

/** Providers a lookup returns at most (the DHT may know many more; a fetch needs a few). */
export const DEFAULT_MAX_PROVIDERS = 8;

/** How long a provider lookup runs before returning what it has found so far. */
export const DEFAULT_FIND_PROVIDERS_TIMEOUT_MS = 5000;

/** The DHT key of a module: its content CID. Refuses anything but 64 lowercase hex digits. */
export function moduleContentId(sha256: string): CID {
  if (!SHA256_HEX_PATTERN.test(sha256)) {
    throw new GojinnError('bad_request', 'module sha256 must be 64 lowercase hex digits');
  }
  return CID.parse(contentCid(sha256));
}

/**
 * Announces this node as a provider of the module on the DHT (libp2p re-provides it every
 * 12 h). Call only for a module stored and verified here. A lone node's announce ends quietly
 * (the DHT allows queries with zero peers); a DHT failure is `peer_unreachable`.
 */
export async function announceModule(
  libp2p: Libp2p,
  sha256: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const cid = moduleContentId(sha256);
  try {
    await libp2p.contentRouting.provide(cid, { signal: options.signal });
  } catch (error) {
    if (options.signal?.aborted === true) throw options.signal.reason;
    throw new GojinnError(
      'peer_unreachable',
      `cannot announce module ${sha256} on the DHT: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

export interface FindProvidersOptions {
  /** The caller's own cancellation: rejects with its reason. */
  signal?: AbortSignal;
  /** Stop after this many providers. Default DEFAULT_MAX_PROVIDERS (8). */
  max?: number;
  /** Return what was found after this long. Default DEFAULT_FIND_PROVIDERS_TIMEOUT_MS (5000). */
  timeoutMs?: number;
}

/**
 * Providers of the module the DHT knows, without this node and without duplicates, at most
 * `max`, within `timeoutMs` (then the ones found so far). Their addresses go into the peer store.
 */
export async function findModuleProviders(
  libp2p: Libp2p,
  sha256: string,
  options: FindProvidersOptions = {},
): Promise<PeerId[]> {
  const cid = moduleContentId(sha256);
  const max = options.max ?? DEFAULT_MAX_PROVIDERS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_FIND_PROVIDERS_TIMEOUT_MS;
  for (const [name, value] of [
    ['max', max],
    ['timeoutMs', timeoutMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new GojinnError('bad_request', `${name} must be a positive integer, got ${value}`);
    }
  }
  const deadline = AbortSignal.timeout(timeoutMs);
  // Our own controller also ends the query early once `max` providers are in.
  const done = new AbortController();
  const signals = [deadline, done.signal];
  if (options.signal !== undefined) signals.push(options.signal);
  const signal = AbortSignal.any(signals);
  const found = new Map<string, PeerId>();
  try {
    for await (const provider of libp2p.contentRouting.findProviders(cid, { signal })) {
      if (provider.id.equals(libp2p.peerId)) continue;
      found.set(provider.id.toString(), provider.id);
      if (found.size >= max) break;
    }
  } catch (error) {
    if (options.signal?.aborted === true) throw options.signal.reason;
    // The deadline, or a failed query: what was found is still good.
    if (!deadline.aborted && found.size === 0 && !isQueryExhausted(error)) {
      throw new GojinnError(
        'peer_unreachable',
        `cannot look up providers of module ${sha256} on the DHT: ${(error as Error).message}`,
        { cause: error },
      );
    }
  } finally {
    done.abort();
  }
  return [...found.values()];
}

/** The DHT reports "no peers to ask" / "not found" as errors; for a lookup they mean "none". */
function isQueryExhausted(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'NotFoundError' || name === 'NoPeersError' || name === 'QueryAbortedError';
}
