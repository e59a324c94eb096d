/**
 * The checks of the manifest topic's validator (protocols/manifest-gossip.md, "Validation"),
 * run on every hop before a message is forwarded and on the publishing node before it
 * publishes. Pure with respect to the network: bytes, a trust policy and a ledger in, a
 * verdict out; the caller records accepted records.
 */
import { GojinnError } from '@gojinn/errors';
import type { ErrorCode } from '@gojinn/errors';
import { verifyManifestSignature, verifyRevocation } from '@gojinn/manifest';
import type { Manifest, TrustPolicy, VerifiedRevocation } from '@gojinn/manifest';
import { compareVersions } from './ledger.ts';
import type { GossipLedger } from './ledger.ts';
import { parseGossipMessage } from './message.ts';

export type GossipVerdict =
  | { result: 'accept-manifest'; manifest: Manifest; trusted: boolean }
  | { result: 'accept-revocation'; verified: VerifiedRevocation }
  /** Already accepted (the same signed bytes): dropped without penalty. */
  | { result: 'ignore'; reason: string }
  | { result: 'reject'; code: ErrorCode; message: string };

/**
 * In order, the first failing step deciding: size and envelope; record shape and signature
 * (a revocation's signer must also have authority over its target); for manifests, not
 * withdrawn by a stored revocation; not already known (Ignore); not lower than — nor a
 * different document at — the highest version accepted for (publisher, name). A manifest of
 * an untrusted publisher is accepted with `trusted: false`: it is relayed, never run.
 */
export async function validateGossipMessage(
  bytes: Uint8Array,
  trust: TrustPolicy,
  ledger: GossipLedger,
): Promise<GossipVerdict> {
  try {
    const record = parseGossipMessage(bytes);
    if (record.type === 'revocation') {
      const verified = verifyRevocation(record.revocation, trust);
      if (await ledger.hasRevocation(verified.revocation)) {
        return { result: 'ignore', reason: 'revocation already known' };
      }
      return { result: 'accept-revocation', verified };
    }
    const { manifest } = record;
    verifyManifestSignature(manifest);
    const label = `${manifest.name}@${manifest.version} by ${manifest.publisher}`;
    const revocation = await ledger.revocationFor(manifest);
    if (revocation !== undefined) {
      const what = revocation.kind === 'publisher' ? 'its publisher key' : 'this version';
      return { result: 'reject', code: 'revoked', message: `manifest ${label}: ${what} is revoked` };
    }
    if (await ledger.hasManifest(manifest))
      return { result: 'ignore', reason: `manifest ${label} already known` };
    const highest = await ledger.highestManifest(manifest.publisher, manifest.name);
    if (highest !== undefined) {
      const order = compareVersions(manifest.version, highest.manifest.version);
      if (order < 0) {
        return {
          result: 'reject',
          code: 'rollback',
          message: `manifest ${label} is older than the accepted version ${highest.manifest.version}`,
        };
      }
      if (order === 0) {
        return {
          result: 'reject',
          code: 'rollback',
          message: `manifest ${label} differs from the manifest already accepted for that version`,
        };
      }
    }
    return { result: 'accept-manifest', manifest, trusted: trust.trustsPublisher(manifest.publisher) };
  } catch (error) {
    if (error instanceof GojinnError) return { result: 'reject', code: error.code, message: error.message };
    throw error;
  }
}
