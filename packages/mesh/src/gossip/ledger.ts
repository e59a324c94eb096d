/**
 * What a node has seen on the manifest topic: accepted manifests (trusted or not) and
 * revocations. The gossip validator asks it for rollback, revocation and duplicate checks. An
 * interface so the registry can back it with its persistent store; `MemoryGossipLedger` keeps
 * it in memory (lost at restart: catch-up, issue 5 item 3, refills it).
 */
import { revocationCovers } from '@gojinn/manifest';
import type { Manifest, Revocation, VerifiedRevocation } from '@gojinn/manifest';
import semver from 'semver';
import { GojinnError } from '@gojinn/errors';

type Awaitable<T> = T | Promise<T>;

/** A manifest whose signature verified; `trusted` says whether this node trusts its publisher. */
export interface KnownManifest {
  manifest: Manifest;
  trusted: boolean;
}

export interface GossipLedger {
  /** A stored revocation that withdraws this manifest (its publisher key or its exact version). */
  revocationFor(
    manifest: Pick<Manifest, 'publisher' | 'name' | 'version'>,
  ): Awaitable<Revocation | undefined>;
  /** The accepted manifest with the highest version for (publisher, name). */
  highestManifest(publisher: string, name: string): Awaitable<KnownManifest | undefined>;
  /** True when this exact signed manifest was accepted before. */
  hasManifest(manifest: Manifest): Awaitable<boolean>;
  /** True when this exact signed revocation was accepted before. */
  hasRevocation(revocation: Revocation): Awaitable<boolean>;
  addManifest(known: KnownManifest): Awaitable<void>;
  addRevocation(verified: VerifiedRevocation): Awaitable<void>;
}

/** Highest version first; semver order (prerelease below its release). */
export function compareVersions(a: string, b: string): number {
  return semver.compare(a, b);
}

/**
 * Default bound on the manifests a MemoryGossipLedger keeps. Anyone can mint keys and sign
 * valid manifests, which every node accepts and relays (untrusted), so the ledger must not grow
 * without limit. About 64 Ki entries of ≤ 64 KiB each in the worst case.
 */
export const DEFAULT_LEDGER_MAX_MANIFESTS = 65_536;

export interface MemoryGossipLedgerOptions {
  /** Manifests kept; beyond it the oldest untrusted one is dropped first. Default DEFAULT_LEDGER_MAX_MANIFESTS. */
  maxManifests?: number;
}

/**
 * In-memory ledger. Records are keyed by signer and signature: ed25519 signatures here are
 * canonical (non-reduced S refused), so one signature names one signed document. Past
 * `maxManifests` the oldest untrusted manifest is forgotten (the oldest trusted one only when
 * none is untrusted); forgetting the highest of a series forgets that series' rollback floor,
 * so its older versions would be accepted (and relayed) again — never run when untrusted.
 * Revocations are not bounded (see docs/mesh.md).
 */
export class MemoryGossipLedger implements GossipLedger {
  readonly #manifests = new Map<string, KnownManifest>();
  readonly #highest = new Map<string, KnownManifest>();
  readonly #revocations = new Map<string, VerifiedRevocation>();
  readonly #maxManifests: number;

  constructor(options: MemoryGossipLedgerOptions = {}) {
    const max = options.maxManifests ?? DEFAULT_LEDGER_MAX_MANIFESTS;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new GojinnError('bad_request', `maxManifests must be an integer ≥ 1, got ${String(max)}`);
    }
    this.#maxManifests = max;
  }

  revocationFor(manifest: Pick<Manifest, 'publisher' | 'name' | 'version'>): Revocation | undefined {
    for (const { revocation } of this.#revocations.values()) {
      if (revocationCovers(revocation, manifest)) return revocation;
    }
    return undefined;
  }

  highestManifest(publisher: string, name: string): KnownManifest | undefined {
    return this.#highest.get(seriesKey(publisher, name));
  }

  hasManifest(manifest: Manifest): boolean {
    return this.#manifests.has(`${manifest.publisher} ${manifest.signature}`);
  }

  hasRevocation(revocation: Revocation): boolean {
    return this.#revocations.has(`${revocation.signer} ${revocation.signature}`);
  }

  addManifest(known: KnownManifest): void {
    const { manifest } = known;
    this.#manifests.set(`${manifest.publisher} ${manifest.signature}`, known);
    const series = seriesKey(manifest.publisher, manifest.name);
    const highest = this.#highest.get(series);
    if (highest === undefined || compareVersions(manifest.version, highest.manifest.version) > 0) {
      this.#highest.set(series, known);
    }
    while (this.#manifests.size > this.#maxManifests) this.#forgetOldest();
  }

  #forgetOldest(): void {
    let victim: [string, KnownManifest] | undefined;
    for (const entry of this.#manifests) {
      victim ??= entry;
      if (!entry[1].trusted) {
        victim = entry;
        break;
      }
    }
    if (victim === undefined) return;
    const [key, { manifest }] = victim;
    this.#manifests.delete(key);
    const series = seriesKey(manifest.publisher, manifest.name);
    if (this.#highest.get(series) === victim[1]) this.#highest.delete(series);
  }

  addRevocation(verified: VerifiedRevocation): void {
    const { revocation } = verified;
    this.#revocations.set(`${revocation.signer} ${revocation.signature}`, verified);
  }

  /** Every accepted manifest, oldest first. */
  get manifests(): KnownManifest[] {
    return [...this.#manifests.values()];
  }

  /** Every accepted revocation, oldest first. */
  get revocations(): VerifiedRevocation[] {
    return [...this.#revocations.values()];
  }
}

function seriesKey(publisher: string, name: string): string {
  return `${publisher} ${name}`;
}
