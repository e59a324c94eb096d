/**
 * What a node has seen on the manifest topic: accepted manifests (trusted or not) and
 * revocations. The gossip validator asks it for rollback, revocation and duplicate checks, and
 * the sync server (protocols/sync.md) pages through it. Two implementations:
 * `MemoryGossipLedger` (lost at restart) and `LevelGossipLedger` (persisted in a level sublevel).
 */
import type { Manifest, Revocation, TrustPolicy, VerifiedRevocation } from '@gojinn/manifest';
import semver from 'semver';
import { GojinnError } from '@gojinn/errors';
import type { GossipRecord } from './message.ts';

export type Awaitable<T> = T | Promise<T>;

/** A manifest whose signature verified; `trusted` says whether this node trusted its publisher when it accepted it. */
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

/** One page of a ledger's records for sync. */
export interface LedgerPage {
  records: GossipRecord[];
  /** Where the next page starts; after the last page, where a later incremental round starts. */
  next: string;
  /** False when the ledger had nothing after this page. */
  more: boolean;
}

/** A ledger the sync server can page through. */
export interface EnumerableGossipLedger extends GossipLedger {
  /**
   * Up to `limit` records after `cursor` (undefined: from the start): the revocations stored
   * after the cursor's, then the current (highest) manifests of each (publisher, name) stored
   * after the cursor's and not withdrawn by a stored revocation, each in storage order (oldest
   * first; a series moves to the end when a higher version arrives, so a paging caller never
   * misses a series that existed when it began). A page may hold fewer than `limit` records
   * and still have `more` (see maxPageScan). A cursor this ledger did not issue is `bad_request`.
   */
  page(cursor: string | undefined, limit: number): Awaitable<LedgerPage>;
}

/** Highest version first; semver order (prerelease below its release). */
export function compareVersions(a: string, b: string): number {
  return semver.compare(a, b);
}

/**
 * Default bound on the manifests a ledger keeps. Anyone can mint keys and sign valid
 * manifests, which every node accepts and relays (untrusted), so the ledger must not grow
 * without limit. About 64 Ki entries of ≤ 64 KiB each in the worst case.
 */
export const DEFAULT_LEDGER_MAX_MANIFESTS = 65_536;

/**
 * Default bound on the revocations a ledger keeps. Anyone can mint a key, sign a manifest and
 * then revoke it, so revocations need a bound too: 16 Ki entries of ≤ 4 KiB each (64 MiB) in
 * the worst case. Revocations signed by a key this node trusts (an operator key, or a trusted
 * publisher revoking itself) are never forgotten and may exceed it.
 */
export const DEFAULT_LEDGER_MAX_REVOCATIONS = 16_384;

/**
 * Default number of stored records one sync page may examine. Current manifests withdrawn by
 * a stored revocation are skipped (the caller would reject them), and skipping must not make
 * one request walk the whole ledger: past this many the page ends early with a cursor.
 */
export const DEFAULT_LEDGER_MAX_PAGE_SCAN = 1024;

/** Largest `limit` a ledger page accepts (protocols/sync.md `MAX_SYNC_PAGE_RECORDS`). */
export const MAX_SYNC_PAGE_RECORDS = 64;

export interface GossipLedgerOptions {
  /** Manifests kept; beyond it the oldest untrusted one is dropped first. Default DEFAULT_LEDGER_MAX_MANIFESTS. */
  maxManifests?: number;
  /** Revocations kept; beyond it the oldest one not signed by a trusted key is dropped. Default DEFAULT_LEDGER_MAX_REVOCATIONS. */
  maxRevocations?: number;
  /** Records one sync page may examine. Default DEFAULT_LEDGER_MAX_PAGE_SCAN. */
  maxPageScan?: number;
  /**
   * Decides which revocations are protected from eviction: those by an operator key, and a
   * publisher's revocation of itself when this node trusts that publisher. Without it only
   * operator revocations are protected.
   */
  trust?: Pick<TrustPolicy, 'trustsPublisher'>;
}

export interface LedgerLimits {
  maxManifests: number;
  maxRevocations: number;
  maxPageScan: number;
}

/** The options' limits with their defaults; `bad_request` naming a limit that is not an integer ≥ 1. */
export function ledgerLimits(options: GossipLedgerOptions): LedgerLimits {
  const limits: LedgerLimits = {
    maxManifests: options.maxManifests ?? DEFAULT_LEDGER_MAX_MANIFESTS,
    maxRevocations: options.maxRevocations ?? DEFAULT_LEDGER_MAX_REVOCATIONS,
    maxPageScan: options.maxPageScan ?? DEFAULT_LEDGER_MAX_PAGE_SCAN,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new GojinnError('bad_request', `${name} must be an integer ≥ 1, got ${String(value)}`);
    }
  }
  return limits;
}

/** `bad_request` unless 1 ≤ limit ≤ MAX_SYNC_PAGE_RECORDS. */
export function checkPageLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SYNC_PAGE_RECORDS) {
    throw new GojinnError(
      'bad_request',
      `sync page limit must be an integer 1..${MAX_SYNC_PAGE_RECORDS} (MAX_SYNC_PAGE_RECORDS), got ${String(limit)}`,
    );
  }
}

/** True for a revocation signed by a key this node trusts: never evicted. */
export function isProtectedRevocation(
  verified: VerifiedRevocation,
  trust: Pick<TrustPolicy, 'trustsPublisher'> | undefined,
): boolean {
  return verified.authority === 'operator' || trust?.trustsPublisher(verified.revocation.signer) === true;
}
