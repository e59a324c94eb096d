import { API_KEY_PREFIX, API_KEY_RANDOM_BYTES } from '../api-keys/index.ts';
import { replacerOf } from './replace-all.ts';

/**
 * Keeping secrets out of the node's log lines, in three layers (docs/observability.md,
 * "Redaction"):
 *
 * 1. Fields whose names say they hold a credential are replaced before the line is serialized,
 *    whatever their value (sensitive-fields.ts).
 * 2. A scrub of the serialized line: every registered sensitive string (the admin token, the
 *    master key, secret values the node decrypted, API keys) is replaced wherever it occurs —
 *    in a message, a nested error's stack, a guest's own log line — at every level. This is the
 *    last line of defence for values that reach a log under a name nobody thought of.
 * 3. Credentials of a recognisable shape (CREDENTIAL_PATTERNS: API keys, bearer and basic
 *    credentials) are replaced in the serialized line too, registered or not — a mistyped or
 *    foreign key included.
 */

/** What a redacted value or a scrubbed occurrence becomes. */
export const REDACTED = '[redacted]';

/**
 * Shortest string the scrub replaces. Shorter ones occur by chance in ordinary log text (and
 * inside timestamps and numbers, where a replacement would break the JSON line), and are not
 * secret in any useful sense: a 3-character value is guessed, not leaked.
 */
export const MIN_SCRUBBED_LENGTH = 4;

/**
 * Most strings a SensitiveStrings set holds. Beyond it the least recently added unpinned one is
 * forgotten (and would no longer be scrubbed): the set is filled from the node's own store
 * (secrets, API keys), so reaching this means a very large node, not an attack.
 */
export const MAX_SENSITIVE_STRINGS = 100_000;

/**
 * Credentials recognised by their shape: a Gojinn API key (`gjk_` and 43 base64url characters,
 * a key of any node), and credentials of 16 characters or more after `Bearer`/`Basic` (the
 * scheme is kept).
 */
export const CREDENTIAL_PATTERNS: readonly { readonly pattern: RegExp; readonly replacement: string }[] =
  Object.freeze([
    {
      pattern: new RegExp(
        `${API_KEY_PREFIX}[A-Za-z0-9_-]{${Math.ceil((API_KEY_RANDOM_BYTES * 4) / 3)}}`,
        'g',
      ),
      replacement: REDACTED,
    },
    // 16 characters at least: shorter words follow "bearer" in ordinary text ("bearer token").
    { pattern: /\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]{16,}/gi, replacement: `$1$2${REDACTED}` },
  ]);

/** The body of a JSON string literal holding `value` (what the value looks like inside a JSON line). */
function jsonEscaped(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

/**
 * The forms of `value` a JSON line can contain: as is, escaped once (a value with quotes,
 * backslashes or control characters inside a string field) and escaped twice (inside a string
 * that itself held JSON, such as an error message quoting a JSON body).
 */
function serializedForms(value: string): string[] {
  const once = jsonEscaped(value);
  const twice = jsonEscaped(once);
  return [...new Set([value, once, twice])];
}

/** The serialized forms of `secrets` the scrub looks for (see createScrubber). */
function formsOf(secrets: Iterable<string>): string[] {
  const forms: string[] = [];
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < MIN_SCRUBBED_LENGTH) continue;
    forms.push(...serializedForms(secret));
  }
  return forms;
}

/**
 * A function replacing every occurrence of the strings `secrets()` yields (read on each call,
 * so values registered later are covered) with REDACTED. Longer strings win, so a secret that
 * contains another is not left half visible. When `secrets()` returns a SensitiveStrings set,
 * the matcher is rebuilt only after the set changed. Then CREDENTIAL_PATTERNS are applied.
 */
export function createScrubber(secrets: () => Iterable<string>): (line: string) => string {
  let cached: { set: SensitiveStrings; version: number; replace: (line: string) => string } | undefined;
  const literal = (line: string): string => {
    const source = secrets();
    if (!(source instanceof SensitiveStrings)) {
      return replacerOf(formsOf(source), REDACTED, MIN_SCRUBBED_LENGTH)(line);
    }
    if (cached?.set !== source || cached.version !== source.version) {
      cached = {
        set: source,
        version: source.version,
        replace: replacerOf(formsOf(source), REDACTED, MIN_SCRUBBED_LENGTH),
      };
    }
    return cached.replace(line);
  };
  return (line) => {
    let out = literal(line);
    for (const { pattern, replacement } of CREDENTIAL_PATTERNS) out = out.replace(pattern, replacement);
    return out;
  };
}

/**
 * The node's registry of sensitive strings, for `createNodeLogger({ secrets: () => set })`.
 * Pin the values the node must never forget (admin token, master key); add the others as they
 * are read (decrypted secret values, API keys).
 */
export class SensitiveStrings implements Iterable<string> {
  readonly #pinned = new Set<string>();
  /** Insertion order is recency: re-adding a value moves it to the end. */
  readonly #recent = new Set<string>();
  readonly #maxEntries: number;
  #version = 0;

  constructor(options: { maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? MAX_SENSITIVE_STRINGS;
  }

  /** Changes with every add or delete that changed the set (scrubbers cache by it). */
  get version(): number {
    return this.#version;
  }

  /**
   * Registers `value` (strings shorter than MIN_SCRUBBED_LENGTH are kept but never scrubbed).
   * Adding a value already held only refreshes it (cheap: call it on every use of an API key).
   */
  add(value: string, options: { pinned?: boolean } = {}): void {
    if (typeof value !== 'string' || value.length === 0 || this.#pinned.has(value)) return;
    const held = this.#recent.delete(value);
    if (options.pinned === true) {
      this.#pinned.add(value);
    } else {
      this.#recent.add(value);
      while (this.#pinned.size + this.#recent.size > this.#maxEntries && this.#recent.size > 0) {
        const oldest = this.#recent.values().next().value as string;
        this.#recent.delete(oldest);
      }
    }
    if (!held || options.pinned === true) this.#version++;
  }

  /** Forgets `value` (a deleted secret, a revoked API key). */
  delete(value: string): void {
    if (this.#pinned.delete(value) || this.#recent.delete(value)) this.#version++;
  }

  has(value: string): boolean {
    return this.#pinned.has(value) || this.#recent.has(value);
  }

  get size(): number {
    return this.#pinned.size + this.#recent.size;
  }

  *[Symbol.iterator](): Iterator<string> {
    yield* this.#pinned;
    yield* this.#recent;
  }
}
