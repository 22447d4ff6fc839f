/**
 * Raft's hard state (§5.1 Figure 2's persistent state, plus the commit index and the fencing
 * floor) and its codec. The log itself is not here: it reaches the host as `entries` and
 * `truncateAfter` in the same DurableBatch, and comes back at start as `log` (raft.ts RaftInit).
 */
import { z } from 'zod';
import type { Codec, NodeId } from '../types.js';
import { codecOf, lazily } from '../zod-codec.js';
import { raftSchemas } from './messages.js';

export interface RaftHardState {
  v: 1;
  /** currentTerm: the latest term this node has seen (§5.1). */
  term: number;
  /** The candidate this node voted for in `term`, or null (at most one per term). */
  votedFor: NodeId | null;
  /** The highest index known committed; a restart need not relearn it (etcd's HardState.Commit). */
  commit?: number;
  /**
   * The highest fencing token this node ever reported (the term of the newest committed leader
   * record it knew). A restart never reports less, whatever the log it comes back with.
   */
  fencingFloor: number;
}

export const INITIAL_RAFT_STATE: Readonly<RaftHardState> = Object.freeze({ v: 1, term: 0, votedFor: null, commit: 0, fencingFloor: 0 });

const hardStateSchema = (): z.ZodType<RaftHardState> => {
  const { counter, nodeId } = raftSchemas();
  return z
    .strictObject({ v: z.literal(1), term: counter, votedFor: nodeId.nullable(), commit: counter.optional(), fencingFloor: counter })
    .refine((s) => s.fencingFloor <= s.term, { error: 'fencingFloor must not exceed term', path: ['fencingFloor'] }) as z.ZodType<RaftHardState>;
};

export const raftPersistedCodec: Codec<RaftHardState> = codecOf<RaftHardState>(lazily(hardStateSchema), 'raft state');
