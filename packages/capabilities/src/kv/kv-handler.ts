/**
 * The kv.read and kv.write capability handlers: parse the request (kv-requests.ts), check the
 * key against the capability's prefixes on every call, then read or write the module's own
 * namespace in the KvStore. The namespace comes from the caller's identity, never from the
 * request, so no request can name another module's data.
 */
import type { CallContext, CapabilityHandler } from '../handler.ts';
import { HostCallFailure } from '../handler.ts';
import { keyInPrefixes } from '../scopes/kv-prefixes.ts';
import { resolveKvLimits, type KvLimits } from './kv-limits.ts';
import { checkKey, encodeListResponse, parseListRequest, parseSetRequest } from './kv-requests.ts';
import type { KvStore } from './kv-store.ts';

const EMPTY = new Uint8Array(0);

function unknownMethod(method: string): never {
  throw new HostCallFailure('INVALID', `${method} is not a function of this capability`);
}

function inScope(ctx: CallContext<'kv.read'> | CallContext<'kv.write'>, key: Uint8Array, what: string): void {
  if (!keyInPrefixes(key, ctx.scope.prefixes)) ctx.deny(`${what} outside the ${ctx.capability} prefixes`);
}

export class KvReadHandler implements CapabilityHandler<'kv.read'> {
  readonly capability = 'kv.read';
  readonly #store: KvStore;
  readonly #limits: KvLimits;

  constructor(store: KvStore, limits: KvLimits) {
    this.#store = store;
    this.#limits = limits;
  }

  async handle(method: string, request: Uint8Array, ctx: CallContext<'kv.read'>): Promise<Uint8Array> {
    if (method === 'kv_get') {
      const key = checkKey(request, this.#limits);
      inScope(ctx, key, 'key');
      const value = await this.#store.get(ctx.module, key);
      if (value === undefined) throw new HostCallFailure('NOT_FOUND', 'no such key');
      return value;
    }
    if (method === 'kv_list') {
      const { limit, prefix, cursor } = parseListRequest(request, this.#limits);
      inScope(ctx, prefix, 'list prefix');
      const page = await this.#store.list(ctx.module, prefix, cursor, limit);
      return encodeListResponse(page.keys, page.more);
    }
    return unknownMethod(method);
  }
}

export class KvWriteHandler implements CapabilityHandler<'kv.write'> {
  readonly capability = 'kv.write';
  readonly #store: KvStore;
  readonly #limits: KvLimits;

  constructor(store: KvStore, limits: KvLimits) {
    this.#store = store;
    this.#limits = limits;
  }

  async handle(method: string, request: Uint8Array, ctx: CallContext<'kv.write'>): Promise<Uint8Array> {
    if (method === 'kv_set') {
      const { key, value } = parseSetRequest(request, this.#limits);
      inScope(ctx, key, 'key');
      const result = await this.#store.set(ctx.module, key, value, this.#limits);
      if (result === 'quota_keys') {
        throw new HostCallFailure(
          'QUOTA',
          `module would hold more than quotaKeys (${this.#limits.quotaKeys}) keys`,
        );
      }
      if (result === 'quota_bytes') {
        throw new HostCallFailure(
          'QUOTA',
          `module would hold more than quotaBytes (${this.#limits.quotaBytes}) bytes`,
        );
      }
      return EMPTY;
    }
    if (method === 'kv_delete') {
      const key = checkKey(request, this.#limits);
      inScope(ctx, key, 'key');
      if (!(await this.#store.delete(ctx.module, key))) throw new HostCallFailure('NOT_FOUND', 'no such key');
      return EMPTY;
    }
    return unknownMethod(method);
  }
}

/** Both kv handlers over one store and one set of limits. */
export function createKvHandlers(
  store: KvStore,
  limits: Partial<KvLimits> = {},
): [KvReadHandler, KvWriteHandler] {
  const resolved = resolveKvLimits(limits);
  return [new KvReadHandler(store, resolved), new KvWriteHandler(store, resolved)];
}
