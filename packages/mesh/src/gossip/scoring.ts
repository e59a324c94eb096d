/**
 * Gossipsub settings the manifest topic needs from the node (protocols/manifest-gossip.md,
 * "Transport"): a message id that is the SHA-256 of the data, and topic score parameters so
 * that a `Reject` costs the sender (gossipsub counts invalid deliveries, P4, only on topics
 * that have score parameters). `createMeshNode` passes them to gossipsub.
 */
import { createHash } from 'node:crypto';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import type { TopicScoreParams } from '@libp2p/gossipsub/score';
import type { Message } from '@libp2p/gossipsub';

/**
 * P4 weight of the topic: the penalty is weight × (rejected messages)², so with gossipsub's
 * default thresholds one rejected message (−10) stops gossip to the sender, three (−90) put it
 * below the graylist threshold (−80), where its messages are dropped unread.
 */
export const INVALID_MANIFEST_MESSAGE_WEIGHT = -10;

/** Per decay interval (1 s by default) the count of rejected messages is multiplied by this: half-life ≈ 69 s. */
export const INVALID_MANIFEST_MESSAGE_DECAY = 0.99;

/**
 * Score parameters of `/gojinn/manifests/1`: only P4 (invalid messages) counts. P1–P3b stay at
 * zero: manifests are rare, so delivery-rate expectations would punish honest quiet peers.
 */
export const MANIFEST_TOPIC_SCORE_PARAMS: Readonly<TopicScoreParams> = Object.freeze(
  createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0,
    firstMessageDeliveriesWeight: 0,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: INVALID_MANIFEST_MESSAGE_WEIGHT,
    invalidMessageDeliveriesDecay: INVALID_MANIFEST_MESSAGE_DECAY,
  }),
);

/** Gossipsub `msgIdFn`: SHA-256 of the data, so the same record announced by two nodes is one message. */
export function gossipMessageId(message: Message): Uint8Array {
  return createHash('sha256').update(message.data).digest();
}
