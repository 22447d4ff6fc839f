/**
 * Bully's wire messages and durable state, with strict, bounded codecs: a malformed or hostile
 * peer message is refused before it reaches the machine, and a corrupt state file is reported.
 */
import { z } from 'zod';
import { MAX_COUNTER, MAX_MEMBERS, MAX_NODE_ID_CHARS } from '../bounds.js';
import type { Codec, NodeId } from '../types.js';
import { codecOf } from '../zod-codec.js';

/**
 * How a COORDINATOR came about. `claim`: won an ordinary election (a member that still sees the
 * leader it followed alive and leading refuses it, so one node's bad link cannot depose a working
 * leader). `takeover`: after a hand-off (TRANSFER) or an operator's forced election, accepted
 * whatever gossip says of the old leader; like any claim it waits for the grants the member gave
 * to run out or be released. `renew`: an established leader re-announcing its epoch (the lease
 * heartbeat, proof that it holds a majority).
 */
export type CoordinatorKind = 'claim' | 'takeover' | 'renew';

export type BullyMessage =
  /** Sent to higher-ranked members: "is anyone above me alive?" `forced`: an operator asked. */
  | { type: 'ELECTION'; epoch: number; forced: boolean }
  /** From a higher-ranked member: "I am alive, stand down and wait for a COORDINATOR". */
  | { type: 'ANSWER'; epoch: number }
  /**
   * "I lead at `epoch`" (a claim until a majority accepted it). `round` numbers the sender's
   * broadcasts within the epoch: its lease counts from when the accepted round was sent.
   * `leaseMs`: on a renewal, how long the sender's lease still ran as it sent this (its clock);
   * a follower names it as leader no longer than that from when it heard it. 0 on a claim.
   */
  | { type: 'COORDINATOR'; epoch: number; kind: CoordinatorKind; round: number; leaseMs: number }
  /**
   * The sender accepted round `round` of the COORDINATOR of `epoch` (persisted before this left)
   * and grants it a lease: it helps elect no one else for `leaseMs` on its own clock.
   */
  | { type: 'ACCEPT'; epoch: number; round: number }
  /**
   * From the node that claimed or led `epoch`: "I no longer lead or claim it". Receivers drop the
   * grant they gave it at once instead of waiting for it to run out (a hand-off, a resignation,
   * a claim given up).
   */
  | { type: 'RELEASE'; epoch: number }
  /** The sender refuses; `epoch` and `leader` are what it recognises instead. */
  | { type: 'REJECT'; epoch: number; leader: NodeId | null }
  /** From the leader: "take over now"; the receiver claims epoch+1 at once as a takeover. */
  | { type: 'TRANSFER'; epoch: number }
  /**
   * From a member to the leader of `epoch` it follows: an operator asked that member to move
   * leadership to `to`. The leader hands off as if asked itself; the member sees the result.
   */
  | { type: 'TRANSFER_REQUEST'; epoch: number; to: NodeId }
  /** From a member to the leader of `epoch` it follows: an operator asked that member to make the leader resign. */
  | { type: 'RESIGN_REQUEST'; epoch: number }
  /**
   * An operator ran `conclave forget id` at the sender: drop `id` from the cluster size. Each
   * receiver obeys only while `id` is dead or gone in its own view. `epoch`: the sender's fencing token.
   */
  | { type: 'FORGET'; epoch: number; id: NodeId };

export type BullyMessageType = BullyMessage['type'];

/** What must survive a restart (Raft's currentTerm/votedFor, as a fencing epoch). */
export interface BullyPersisted {
  v: 1;
  /** Highest epoch this node accepted a COORDINATOR for (or claimed): its fencing token. */
  acceptedEpoch: number;
  /** Whom it accepted for `acceptedEpoch`; at most one node per epoch. */
  acceptedLeader: NodeId | null;
  /**
   * The node this node last granted a lease to (usually acceptedLeader; an established leader of
   * an older epoch otherwise). A restarted node honours that grant for one more lease.
   */
  leaseTo: NodeId | null;
  /** Highest epoch seen anywhere; a new claim is always above it. */
  highestEpochSeen: number;
  /**
   * Members this node knew, whatever protocol they ran (itself included). After a restart they
   * still count towards the cluster size, so a node that comes back alone cannot be a majority of one.
   */
  members: NodeId[];
  /**
   * This node has seen its cluster reach `cluster.bootstrapExpect` members (or followed a leader
   * of it). Until then it never claims; once set it stays set, so a restart need not re-count.
   */
  bootstrapped: boolean;
}

const epoch = z.number().int().min(0).max(MAX_COUNTER);
const nodeId = z.string().min(1).max(MAX_NODE_ID_CHARS);
const round = z.number().int().min(1).max(MAX_COUNTER);

const messageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ELECTION'), epoch, forced: z.boolean() }),
  z.strictObject({ type: z.literal('ANSWER'), epoch }),
  z.strictObject({ type: z.literal('COORDINATOR'), epoch, kind: z.enum(['claim', 'takeover', 'renew']), round, leaseMs: z.number().int().min(0).max(MAX_COUNTER) }),
  z.strictObject({ type: z.literal('ACCEPT'), epoch, round }),
  z.strictObject({ type: z.literal('RELEASE'), epoch }),
  z.strictObject({ type: z.literal('REJECT'), epoch, leader: nodeId.nullable() }),
  z.strictObject({ type: z.literal('TRANSFER'), epoch }),
  z.strictObject({ type: z.literal('TRANSFER_REQUEST'), epoch, to: nodeId }),
  z.strictObject({ type: z.literal('RESIGN_REQUEST'), epoch }),
  z.strictObject({ type: z.literal('FORGET'), epoch, id: nodeId }),
]);

const persistedSchema = z
  .strictObject({
    v: z.literal(1),
    acceptedEpoch: epoch,
    acceptedLeader: nodeId.nullable(),
    leaseTo: nodeId.nullable().optional(),
    highestEpochSeen: epoch,
    members: z.array(nodeId).max(MAX_MEMBERS).default([]),
    // Files written before bootstrapExpect existed: a node that accepted any epoch was part of a
    // working cluster, which is what bootstrapped means.
    bootstrapped: z.boolean().optional(),
  })
  .transform((s) => ({ ...s, leaseTo: s.leaseTo === undefined ? s.acceptedLeader : s.leaseTo, bootstrapped: s.bootstrapped ?? s.acceptedEpoch > 0 }))
  .refine((s) => s.highestEpochSeen >= s.acceptedEpoch, { error: 'highestEpochSeen must be at least acceptedEpoch', path: ['highestEpochSeen'] });

export const bullyMessageCodec: Codec<BullyMessage> = codecOf<BullyMessage>(messageSchema, 'bully message');
export const bullyPersistedCodec: Codec<BullyPersisted> = codecOf<BullyPersisted>(persistedSchema, 'bully state');

export const INITIAL_BULLY_STATE: Readonly<BullyPersisted> = Object.freeze({ v: 1, acceptedEpoch: 0, acceptedLeader: null, leaseTo: null, highestEpochSeen: 0, members: [], bootstrapped: false });
