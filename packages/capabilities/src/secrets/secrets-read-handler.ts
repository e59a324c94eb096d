import { MAX_SECRET_NAME_LENGTH, SECRET_NAME_PATTERN } from '@gojinn/manifest';
import { HostCallFailure, type CallContext, type CapabilityHandler } from '../handler.ts';
import type { SecretStore } from './secret-store.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The `secrets.read` capability: `secret_get(name) → value`. The request is the secret's name
 * (UTF-8, the manifest's name rule); the response is the value's bytes, exactly as set. A name
 * outside the module's effective scope (declared ∩ granted names) is `-DENIED` and logged as a
 * security event; a name in scope with no secret set is `-NOT_FOUND`. Read-only: there is no
 * guest function that writes a secret.
 *
 * Nothing here puts a value in a message: failures name the rule, never the secret or its value.
 */
export class SecretsReadHandler implements CapabilityHandler<'secrets.read'> {
  readonly capability = 'secrets.read' as const;
  readonly #store: SecretStore;
  readonly #onReveal: ((value: Uint8Array) => void) | undefined;

  /**
   * @param onReveal called with every value handed to a guest, before it is returned: the node
   *   registers it with its log scrubber, so a guest that logs its secret (or a host error that
   *   quotes it) never writes it to a log line.
   */
  constructor(store: SecretStore, onReveal?: (value: Uint8Array) => void) {
    this.#store = store;
    this.#onReveal = onReveal;
  }

  async handle(method: string, request: Uint8Array, ctx: CallContext<'secrets.read'>): Promise<Uint8Array> {
    if (method !== 'secret_get')
      throw new HostCallFailure('INVALID', `secrets.read has no function ${method}`);
    if (request.byteLength === 0 || request.byteLength > MAX_SECRET_NAME_LENGTH) {
      throw new HostCallFailure('INVALID', `secret name must be 1..${MAX_SECRET_NAME_LENGTH} bytes`);
    }
    let name: string;
    try {
      name = utf8.decode(request);
    } catch {
      throw new HostCallFailure('INVALID', 'secret name is not UTF-8');
    }
    if (!SECRET_NAME_PATTERN.test(name)) {
      throw new HostCallFailure('INVALID', 'secret name does not follow the secret name rule');
    }
    // The scope is checked on every call, before the store is touched.
    if (!ctx.scope.names.includes(name)) ctx.deny('secret name outside the secrets.read names granted');
    const value = await this.#store.get(ctx.module, name);
    if (value === undefined)
      throw new HostCallFailure('NOT_FOUND', 'no secret of that name is set for this module');
    this.#onReveal?.(value);
    return value;
  }
}
