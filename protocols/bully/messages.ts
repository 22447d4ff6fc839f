/**
 * Bully's wire messages and durable state, with strict, bounded codecs: a malformed or hostile
 * peer message is refused before it reaches the machine, and a corrupt state file is reported.
 */
import { z } from 'zod';
import type { Codec } from '../election.js';
import { MAX_NODE_ID_CHARS } from '../membership/codec.js';
import { MAX_MEMBERS } from '../membership/membership.js';
import type { NodeId } from '../types.js';

/**
 * How a COORDINATOR came about. `claim`: won an ordinary election (a member that still follows a
 * live leader refuses it, so one node's bad link cannot depose a working leader). `takeover`: a
 * hand-off, a forced election or a pre-emption, accepted even while a leader lives. `renew`: an
 * established leader re-announcing its epoch (the lease heartbeat).
 */
export type CoordinatorKind = 'claim' | 'takeover' | 'renew';

export type BullyMessage =
  /** Sent to higher-ranked members: "is anyone above me alive?" `forced`: an operator asked. */
  | { type: 'ELECTION'; epoch: number; forced: boolean }
  /** From a higher-ranked member: "I am alive, stand down and wait for a COORDINATOR". */
  | { type: 'ANSWER'; epoch: number }
  /** "I lead at `epoch`" (a claim until a majority accepts it). */
  | { type: 'COORDINATOR'; epoch: number; kind: CoordinatorKind }
  /** The sender accepted the COORDINATOR of `epoch` (persisted before this left). */
  | { type: 'ACCEPT'; epoch: number }
  /** The sender refuses; `epoch` and `leader` are what it recognises instead. */
  | { type: 'REJECT'; epoch: number; leader: NodeId | null }
  /** From the leader: "take over now"; the receiver claims epoch+1 at once as a takeover. */
  | { type: 'TRANSFER'; epoch: number }
  /**
   * From a member to the leader of `epoch` it follows: an operator asked that member to move
   * leadership to `to`. The leader hands off as if asked itself; the member sees the result.
   */
  | { type: 'TRANSFER_REQUEST'; epoch: number; to: NodeId };

export type BullyMessageType = BullyMessage['type'];

/** What must survive a restart (Raft's currentTerm/votedFor, as a fencing epoch). */
export interface BullyPersisted {
  v: 1;
  /** Highest epoch this node accepted a COORDINATOR for (or claimed): its fencing token. */
  acceptedEpoch: number;
  /** Whom it accepted for `acceptedEpoch`; at most one node per epoch. */
  acceptedLeader: NodeId | null;
  /** Highest epoch seen anywhere; a new claim is always above it. */
  highestEpochSeen: number;
  /**
   * Bully members this node knew (itself included). After a restart they still count towards
   * the cluster size, so a node that comes back alone cannot be a majority of one.
   */
  members: NodeId[];
}

const epoch = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const nodeId = z.string().min(1).max(MAX_NODE_ID_CHARS);

const messageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ELECTION'), epoch, forced: z.boolean() }),
  z.strictObject({ type: z.literal('ANSWER'), epoch }),
  z.strictObject({ type: z.literal('COORDINATOR'), epoch, kind: z.enum(['claim', 'takeover', 'renew']) }),
  z.strictObject({ type: z.literal('ACCEPT'), epoch }),
  z.strictObject({ type: z.literal('REJECT'), epoch, leader: nodeId.nullable() }),
  z.strictObject({ type: z.literal('TRANSFER'), epoch }),
  z.strictObject({ type: z.literal('TRANSFER_REQUEST'), epoch, to: nodeId }),
]);

const persistedSchema = z
  .strictObject({
    v: z.literal(1),
    acceptedEpoch: epoch,
    acceptedLeader: nodeId.nullable(),
    highestEpochSeen: epoch,
    members: z.array(nodeId).max(MAX_MEMBERS).default([]),
  })
  .refine((s) => s.highestEpochSeen >= s.acceptedEpoch, { error: 'highestEpochSeen must be at least acceptedEpoch', path: ['highestEpochSeen'] });

function codecOf<T>(schema: z.ZodType<T>, what: string): Codec<T> {
  return {
    parse(value) {
      const result = schema.safeParse(value);
      if (result.success) return { ok: true, value: result.data };
      const issue = result.error.issues[0];
      const path = issue?.path.length ? issue.path.join('.') : '(root)';
      return { ok: false, reason: `${path}: ${issue?.message ?? `invalid ${what}`}` };
    },
  };
}

export const bullyMessageCodec: Codec<BullyMessage> = codecOf<BullyMessage>(messageSchema, 'bully message');
export const bullyPersistedCodec: Codec<BullyPersisted> = codecOf<BullyPersisted>(persistedSchema, 'bully state');

export const INITIAL_BULLY_STATE: Readonly<BullyPersisted> = Object.freeze({ v: 1, acceptedEpoch: 0, acceptedLeader: null, highestEpochSeen: 0, members: [] });
