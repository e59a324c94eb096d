import { parsePublicKey } from './keys.ts';
import { quote } from './quote.ts';

export interface TrustPolicyInit {
  /** Publisher keys (text form) whose signed modules this node accepts. */
  publishers?: Iterable<string>;
  /** Operator keys (text form) that may sign revocations for any publisher. Not publishers. */
  operators?: Iterable<string>;
}

/**
 * Which keys a node trusts. Strict by default: an empty policy trusts nothing, so an
 * unsigned or untrusted module is refused. Keys are parsed strictly when the policy is built
 * (a bad key in config or on the command line is a `bad_request` naming it), and compared in
 * their canonical text form afterwards.
 */
export class TrustPolicy {
  readonly #publishers: ReadonlySet<string>;
  readonly #operators: ReadonlySet<string>;

  constructor(init: TrustPolicyInit = {}) {
    this.#publishers = parseKeys(init.publishers ?? [], 'trusted publisher key');
    this.#operators = parseKeys(init.operators ?? [], 'operator key');
  }

  trustsPublisher(publicKey: string): boolean {
    return this.#publishers.has(publicKey);
  }

  isOperator(publicKey: string): boolean {
    return this.#operators.has(publicKey);
  }

  get publishers(): readonly string[] {
    return [...this.#publishers];
  }

  get operators(): readonly string[] {
    return [...this.#operators];
  }
}

function parseKeys(keys: Iterable<string>, what: string): ReadonlySet<string> {
  const set = new Set<string>();
  for (const key of keys) {
    try {
      parsePublicKey(key, 'bad_request');
    } catch (error) {
      (error as Error).message = `${what} ${quote(String(key), 80)}: ${(error as Error).message}`;
      throw error;
    }
    set.add(key);
  }
  return set;
}
