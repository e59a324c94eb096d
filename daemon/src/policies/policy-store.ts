import { GojinnError } from '@gojinn/errors';
import type { BytesSublevel } from '@gojinn/store';
import type { PeerPolicy } from '../config/node-config.ts';
import { MAX_PEER_POLICIES } from '../config/schema.ts';
import { parsePeerPolicy } from './peer-policy.ts';

/** Most per-peer policies the admin API stores (the config's own bound, MAX_PEER_POLICIES). */
export const MAX_STORED_POLICIES = MAX_PEER_POLICIES;
/** Largest stored policy record read back, in bytes (a policy is well under 1 KiB plus its module list). */
export const MAX_POLICY_RECORD_BYTES = 1024 * 1024;

/** LevelDB write options: fsync before resolving, like the store's installs. */
const SYNC = { sync: true } as object;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Per-peer policies set through the admin API, persisted in a store sublevel (one key per
 * peer id, the policy as JSON) and held in memory. Every record read back is re-validated
 * with the config's rules; one that fails is refused at open (`internal`, naming the peer) —
 * the node must not run with a policy it cannot read. Writes are serialized.
 */
export class PolicyStore {
  readonly #sublevel: BytesSublevel;
  readonly #policies = new Map<string, PeerPolicy>();
  readonly maxPolicies: number;
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(sublevel: BytesSublevel, maxPolicies: number) {
    this.#sublevel = sublevel;
    this.maxPolicies = maxPolicies;
  }

  /** Loads every stored policy from `sublevel` (the daemon's policies sublevel). */
  static async open(sublevel: BytesSublevel, options: { maxPolicies?: number } = {}): Promise<PolicyStore> {
    const store = new PolicyStore(sublevel, options.maxPolicies ?? MAX_STORED_POLICIES);
    for await (const [key, value] of sublevel.iterator({ limit: store.maxPolicies + 1 })) {
      if (store.#policies.size >= store.maxPolicies)
        throw new GojinnError('internal', `policy store holds more than ${store.maxPolicies} policies`);
      store.#policies.set(key, decodeRecord(key, value));
    }
    return store;
  }

  /** The stored policies, sorted by peer id. */
  list(): PeerPolicy[] {
    return [...this.#policies.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(peerId: string): PeerPolicy | undefined {
    return this.#policies.get(peerId);
  }

  get size(): number {
    return this.#policies.size;
  }

  /** Validates and stores (creates or replaces) a policy; returns it as stored. */
  async put(input: unknown): Promise<PeerPolicy> {
    const policy = parsePeerPolicy(input);
    return this.#serialised(async () => {
      if (!this.#policies.has(policy.id) && this.#policies.size >= this.maxPolicies) {
        throw new GojinnError(
          'bad_request',
          `at most ${this.maxPolicies} peer policies can be stored (MAX_STORED_POLICIES); remove one first`,
        );
      }
      await this.#sublevel.put(policy.id, encoder.encode(JSON.stringify(policy)), SYNC);
      this.#policies.set(policy.id, policy);
      return policy;
    });
  }

  /** Removes the stored policy of `peerId`; false when there was none. */
  async delete(peerId: string): Promise<boolean> {
    return this.#serialised(async () => {
      if (!this.#policies.has(peerId)) return false;
      await this.#sublevel.del(peerId, SYNC);
      this.#policies.delete(peerId);
      return true;
    });
  }

  #serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#writes.then(work, work);
    this.#writes = next.catch(() => {});
    return next;
  }
}

function decodeRecord(key: string, value: Uint8Array): PeerPolicy {
  const where = `stored policy for peer ${key.slice(0, 128)}`;
  try {
    if (value.byteLength > MAX_POLICY_RECORD_BYTES)
      throw new Error(`larger than ${MAX_POLICY_RECORD_BYTES} bytes`);
    const policy = parsePeerPolicy(JSON.parse(decoder.decode(value)) as unknown, 'stored');
    if (policy.id !== key) throw new Error('filed under another peer id');
    return policy;
  } catch (error) {
    throw new GojinnError('internal', `${where} is unreadable: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
