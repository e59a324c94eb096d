import type { Store } from '@gojinn/store';
import { loadMasterKey, type MasterKey } from './master-key.ts';
import { SecretStore, type SecretLimits } from './secret-store.ts';
import { SecretsReadHandler } from './secrets-read-handler.ts';

export interface SecretsCapabilityOptions {
  /** The node's open store (its `secrets` sublevel holds the sealed values). */
  store: Store;
  /** The node's data directory (where `master.key` lives). */
  dataDir: string;
  /** Where GOJINN_MASTER_KEY is looked up (default process.env). */
  env?: NodeJS.ProcessEnv;
  limits?: Partial<SecretLimits>;
  /** Every value handed to a guest (see SecretsReadHandler): the node's log scrubber takes it. */
  onReveal?: (value: Uint8Array) => void;
}

/**
 * What a node wires for secrets.read: the SecretStore and its handler for the dispatcher. The
 * master key is loaded (or created) on the first use and then kept; a failed load is retried
 * on the next use, so fixing a key file's mode takes effect without a restart.
 */
export function createSecretsCapability(options: SecretsCapabilityOptions): {
  secrets: SecretStore;
  handler: SecretsReadHandler;
} {
  let key: Promise<MasterKey> | undefined;
  const masterKey = (): Promise<MasterKey> => {
    key ??= loadMasterKey({ dataDir: options.dataDir, env: options.env ?? process.env }).catch(
      (error: unknown) => {
        key = undefined;
        throw error;
      },
    );
    return key;
  };
  const secrets = new SecretStore(options.store.extension('secrets'), masterKey, options.limits);
  return { secrets, handler: new SecretsReadHandler(secrets, options.onReveal) };
}
