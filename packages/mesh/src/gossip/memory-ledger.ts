/**
 * The in-memory GossipLedger (empty after a restart until catch-up refills it). Records are
 * keyed by signer and signature: ed25519 signatures here are canonical (non-reduced S refused),
 * so one signature names one signed document.
 */
import { revocationCovers } from '@gojinn/manifest';
import type { Manifest, Revocation, VerifiedRevocation } from '@gojinn/manifest';
import type { GossipRecord } from './message.ts';
import { checkPageLimit, compareVersions, isProtectedRevocation, ledgerLimits } from './ledger.ts';
import type {
  EnumerableGossipLedger,
  GossipLedgerOptions,
  KnownManifest,
  LedgerLimits,
  LedgerPage,
} from './ledger.ts';
import { LEDGER_START, encodeLedgerCursor, parseLedgerCursor } from './ledger-cursor.ts';
import type { LedgerPosition } from './ledger-cursor.ts';

export type MemoryGossipLedgerOptions = GossipLedgerOptions;

interface CurrentManifest {
  known: KnownManifest;
  seq: number;
}

interface StoredRevocation {
  verified: VerifiedRevocation;
  protected: boolean;
  seq: number;
}

/**
 * Past `maxManifests` the oldest untrusted manifest is forgotten (the oldest trusted one only
 * when none is untrusted); forgetting the highest of a series forgets that series' rollback
 * floor, so its older versions would be accepted (and relayed) again — never run when
 * untrusted. Past `maxRevocations` the oldest revocation not signed by a trusted key is
 * forgotten; protected ones are never forgotten.
 */
export class MemoryGossipLedger implements EnumerableGossipLedger {
  readonly #manifests = new Map<string, KnownManifest>();
  // Insertion order is storage order: a series is deleted and re-set when it moves up.
  readonly #highest = new Map<string, CurrentManifest>();
  readonly #revocations = new Map<string, StoredRevocation>();
  readonly #revocationsByPublisher = new Map<string, Set<StoredRevocation>>();
  readonly #limits: LedgerLimits;
  readonly #options: GossipLedgerOptions;
  #seq = 0;

  constructor(options: MemoryGossipLedgerOptions = {}) {
    this.#limits = ledgerLimits(options);
    this.#options = options;
  }

  revocationFor(manifest: Pick<Manifest, 'publisher' | 'name' | 'version'>): Revocation | undefined {
    for (const { verified } of this.#revocationsByPublisher.get(manifest.publisher) ?? []) {
      if (revocationCovers(verified.revocation, manifest)) return verified.revocation;
    }
    return undefined;
  }

  highestManifest(publisher: string, name: string): KnownManifest | undefined {
    return this.#highest.get(seriesKey(publisher, name))?.known;
  }

  hasManifest(manifest: Manifest): boolean {
    return this.#manifests.has(`${manifest.publisher} ${manifest.signature}`);
  }

  hasRevocation(revocation: Revocation): boolean {
    return this.#revocations.has(`${revocation.signer} ${revocation.signature}`);
  }

  addManifest(known: KnownManifest): void {
    const { manifest } = known;
    const key = `${manifest.publisher} ${manifest.signature}`;
    if (this.#manifests.has(key)) return;
    this.#manifests.set(key, known);
    const series = seriesKey(manifest.publisher, manifest.name);
    const highest = this.#highest.get(series);
    if (highest === undefined || compareVersions(manifest.version, highest.known.manifest.version) > 0) {
      this.#highest.delete(series);
      this.#highest.set(series, { known, seq: ++this.#seq });
    }
    while (this.#manifests.size > this.#limits.maxManifests) this.#forgetOldestManifest();
  }

  #forgetOldestManifest(): void {
    let victim: [string, KnownManifest] | undefined;
    for (const entry of this.#manifests) {
      victim ??= entry;
      if (!entry[1].trusted) {
        victim = entry;
        break;
      }
    }
    if (victim === undefined) return;
    const [key, known] = victim;
    this.#manifests.delete(key);
    const series = seriesKey(known.manifest.publisher, known.manifest.name);
    if (this.#highest.get(series)?.known === known) this.#highest.delete(series);
  }

  addRevocation(verified: VerifiedRevocation): void {
    const { revocation } = verified;
    const key = `${revocation.signer} ${revocation.signature}`;
    if (this.#revocations.has(key)) return;
    const stored: StoredRevocation = {
      verified,
      protected: isProtectedRevocation(verified, this.#options.trust),
      seq: ++this.#seq,
    };
    this.#revocations.set(key, stored);
    let byPublisher = this.#revocationsByPublisher.get(revocation.publisher);
    if (byPublisher === undefined) {
      byPublisher = new Set();
      this.#revocationsByPublisher.set(revocation.publisher, byPublisher);
    }
    byPublisher.add(stored);
    if (this.#revocations.size > this.#limits.maxRevocations) this.#forgetOldestRevocation();
  }

  #forgetOldestRevocation(): void {
    for (const [key, stored] of this.#revocations) {
      if (stored.protected) continue;
      this.#revocations.delete(key);
      const publisher = stored.verified.revocation.publisher;
      const byPublisher = this.#revocationsByPublisher.get(publisher);
      byPublisher?.delete(stored);
      if (byPublisher?.size === 0) this.#revocationsByPublisher.delete(publisher);
      return;
    }
  }

  page(cursor: string | undefined, limit: number): LedgerPage {
    checkPageLimit(limit);
    const after = cursor === undefined ? LEDGER_START : parseLedgerCursor(cursor);
    const last: LedgerPosition = { ...after };
    const records: GossipRecord[] = [];
    let scanned = 0;
    const full = (): boolean => records.length >= limit || scanned >= this.#limits.maxPageScan;
    for (const { verified, seq } of this.#revocations.values()) {
      if (seq <= after.revocation) continue;
      if (full()) return { records, next: encodeLedgerCursor(last), more: true };
      scanned++;
      last.revocation = seq;
      records.push({ type: 'revocation', revocation: verified.revocation });
    }
    for (const { known, seq } of this.#highest.values()) {
      if (seq <= after.manifest) continue;
      if (full()) return { records, next: encodeLedgerCursor(last), more: true };
      scanned++;
      last.manifest = seq;
      // A current manifest a stored revocation withdraws would only be rejected by the caller.
      if (this.revocationFor(known.manifest) === undefined) {
        records.push({ type: 'manifest', manifest: known.manifest });
      }
    }
    return { records, next: encodeLedgerCursor(last), more: false };
  }

  /** Every accepted manifest, oldest first. */
  get manifests(): KnownManifest[] {
    return [...this.#manifests.values()];
  }

  /** Every accepted revocation, oldest first. */
  get revocations(): VerifiedRevocation[] {
    return [...this.#revocations.values()].map((stored) => stored.verified);
  }
}

function seriesKey(publisher: string, name: string): string {
  return `${publisher} ${name}`;
}
