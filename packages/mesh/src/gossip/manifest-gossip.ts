/**
 * Manifest gossip over the node's gossipsub (protocols/manifest-gossip.md): subscribes to
 * `/gojinn/manifests/1`, validates every message in the topic validator before gossipsub
 * forwards it, records what it accepts in a ledger, and hands verified records to callbacks.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { GossipSub, Message, PublishResult, TopicValidatorFn } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import type { ErrorCode } from '@gojinn/errors';
import type { Manifest, Revocation, TrustPolicy, VerifiedRevocation } from '@gojinn/manifest';
import { MemoryGossipLedger } from './memory-ledger.ts';
import type { GossipLedger } from './ledger.ts';
import { MANIFEST_TOPIC, encodeGossipMessage } from './message.ts';
import { validateGossipMessage } from './validate.ts';
import type { GossipVerdict } from './validate.ts';

/** What gossipsub throws when no peer is subscribed to the topic. */
const NO_PEERS_ERROR = 'PublishError.NoPeersSubscribedToTopic';

export interface ManifestEvent {
  manifest: Manifest;
  /** False: the publisher is not trusted here; the manifest was relayed but must never be fetched or run. */
  trusted: boolean;
  /** The node that published the message (gossipsub StrictSign `from`); this node for its own publishes; the sync server for ingested records. */
  from: PeerId;
  source?: RecordSource;
}

export interface RevocationEvent {
  verified: VerifiedRevocation;
  from: PeerId;
  source?: RecordSource;
}

export interface RejectEvent {
  code: ErrorCode;
  message: string;
  /** The originator named in the message. */
  from: PeerId | undefined;
  /** The peer that sent it to this node (the one gossipsub scoring punishes, or the sync server). */
  via: PeerId;
  /** How the record arrived: on the topic, or through `ingest` (catch-up sync). */
  source?: RecordSource;
}

export type RecordSource = 'gossip' | 'sync';

export interface ManifestGossipOptions {
  trust: TrustPolicy;
  /** What this node has accepted. Default: a new MemoryGossipLedger. */
  ledger?: GossipLedger;
  /** Each accepted manifest, after it is recorded and before gossipsub forwards it. */
  onManifest?: (event: ManifestEvent) => void;
  /** Each accepted revocation: the place to stop serving what it withdraws. */
  onRevocation?: (event: RevocationEvent) => void;
  /** Each rejected message (it is not delivered and not forwarded). */
  onReject?: (event: RejectEvent) => void;
  /** A callback threw or the ledger failed; the message was then ignored (not forwarded, no penalty). */
  onError?: (error: unknown) => void;
}

export interface ManifestGossipStats {
  accepted: number;
  rejected: number;
  ignored: number;
}

export class ManifestGossip {
  readonly ledger: GossipLedger;
  readonly stats: ManifestGossipStats = { accepted: 0, rejected: 0, ignored: 0 };
  readonly #pubsub: GossipSub;
  readonly #self: PeerId;
  readonly #options: ManifestGossipOptions;
  // Validations run one at a time, so the rollback check and the record it leads to are one
  // step even with an asynchronous ledger (two versions arriving together cannot both pass).
  #queue: Promise<unknown> = Promise.resolve();
  #started = false;

  constructor(
    node: { libp2p: { peerId: PeerId; services: { pubsub: GossipSub } } },
    options: ManifestGossipOptions,
  ) {
    this.#pubsub = node.libp2p.services.pubsub;
    this.#self = node.libp2p.peerId;
    this.#options = options;
    this.ledger = options.ledger ?? new MemoryGossipLedger({ trust: options.trust });
  }

  /** Registers the topic validator, then subscribes (so no message is ever delivered unvalidated). */
  start(): void {
    if (this.#started) return;
    const validator: TopicValidatorFn = (via, message) => this.#validate(via, message);
    this.#pubsub.topicValidators.set(MANIFEST_TOPIC, validator);
    this.#pubsub.subscribe(MANIFEST_TOPIC);
    this.#started = true;
  }

  stop(): void {
    if (!this.#started) return;
    this.#pubsub.unsubscribe(MANIFEST_TOPIC);
    this.#pubsub.topicValidators.delete(MANIFEST_TOPIC);
    this.#started = false;
  }

  /**
   * Checks a manifest exactly as a receiving node would, records it, then announces it. Throws
   * the check's GojinnError (`signature_invalid`, `revoked`, `rollback`) instead of publishing
   * something peers would reject. An already known manifest is announced again.
   * `recipients` is empty when no peer is subscribed yet.
   */
  async publishManifest(manifest: Manifest): Promise<PublishResult> {
    return this.#publish(encodeGossipMessage({ type: 'manifest', manifest }));
  }

  /** Checks (signature, signer authority), records and announces a revocation; see publishManifest. */
  async publishRevocation(revocation: Revocation): Promise<PublishResult> {
    return this.#publish(encodeGossipMessage({ type: 'revocation', revocation }));
  }

  async #publish(bytes: Uint8Array): Promise<PublishResult> {
    const verdict = await this.#serialized(async () => {
      const checked = await validateGossipMessage(bytes, this.#options.trust, this.ledger);
      if (checked.result !== 'reject' && checked.result !== 'ignore') {
        await this.#accept(checked, this.#self, 'gossip');
      }
      return checked;
    });
    if (verdict.result === 'reject') throw new GojinnError(verdict.code, verdict.message);
    try {
      return await this.#pubsub.publish(MANIFEST_TOPIC, bytes);
    } catch (error) {
      // No peer subscribed yet: the record is checked and recorded here, and reaches peers by
      // a later announcement or by catch-up; not an error for the publisher.
      if (error instanceof Error && error.message === NO_PEERS_ERROR) return { recipients: [] };
      throw error;
    }
  }

  /**
   * Judges a record obtained outside gossipsub (catch-up sync) exactly as the topic validator
   * judges a message: the same checks, in the same queue, the same ledger updates, stats and
   * callbacks (with `source: 'sync'`). `from` is the peer that supplied it. Returns the
   * verdict; a ledger failure is reported to onError and returned as an `ignore`. Nothing is
   * forwarded on the topic.
   */
  async ingest(bytes: Uint8Array, from: PeerId): Promise<GossipVerdict> {
    try {
      return await this.#serialized(async () => {
        const verdict = await validateGossipMessage(bytes, this.#options.trust, this.ledger);
        if (verdict.result === 'reject') {
          this.stats.rejected++;
          this.#notify(() =>
            this.#options.onReject?.({
              code: verdict.code,
              message: verdict.message,
              from,
              via: from,
              source: 'sync',
            }),
          );
        } else if (verdict.result === 'ignore') {
          this.stats.ignored++;
        } else {
          await this.#accept(verdict, from, 'sync');
        }
        return verdict;
      });
    } catch (error) {
      this.stats.ignored++;
      this.#notify(() => this.#options.onError?.(error));
      return { result: 'ignore', reason: `ledger failed: ${(error as Error).message}` };
    }
  }

  async #validate(via: PeerId, message: Message): Promise<TopicValidatorResult> {
    const from = message.type === 'signed' ? message.from : undefined;
    try {
      return await this.#serialized(async () => {
        const verdict = await validateGossipMessage(message.data, this.#options.trust, this.ledger);
        if (verdict.result === 'reject') {
          this.stats.rejected++;
          this.#notify(() =>
            this.#options.onReject?.({
              code: verdict.code,
              message: verdict.message,
              from,
              via,
              source: 'gossip',
            }),
          );
          return TopicValidatorResult.Reject;
        }
        if (verdict.result === 'ignore' || from === undefined) {
          this.stats.ignored++;
          return TopicValidatorResult.Ignore;
        }
        await this.#accept(verdict, from, 'gossip');
        return TopicValidatorResult.Accept;
      });
    } catch (error) {
      // The ledger failed: not the sender's fault, so no penalty; the message is dropped here.
      this.stats.ignored++;
      this.#notify(() => this.#options.onError?.(error));
      return TopicValidatorResult.Ignore;
    }
  }

  async #accept(
    verdict: Exclude<GossipVerdict, { result: 'reject' | 'ignore' }>,
    from: PeerId,
    source: RecordSource,
  ): Promise<void> {
    if (verdict.result === 'accept-manifest') {
      const { manifest, trusted } = verdict;
      await this.ledger.addManifest({ manifest, trusted });
      this.stats.accepted++;
      this.#notify(() => this.#options.onManifest?.({ manifest, trusted, from, source }));
    } else {
      await this.ledger.addRevocation(verdict.verified);
      this.stats.accepted++;
      this.#notify(() => this.#options.onRevocation?.({ verified: verdict.verified, from, source }));
    }
  }

  /** A throwing callback must not change the verdict of a record already recorded. */
  #notify(call: () => void): void {
    try {
      call();
    } catch (error) {
      if (this.#options.onError === undefined) return;
      try {
        this.#options.onError(error);
      } catch {
        // onError itself threw: nothing left to report to.
      }
    }
  }

  #serialized<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step, step);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
