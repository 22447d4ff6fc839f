/**
 * What one election protocol's state obliges another that starts on the same node: a node whose
 * `protocol:` changed (a rolling switch by restart) must not hand out a fencing token below one
 * its old protocol issued, and must not help elect a new leader while a promise its old protocol
 * gave may still count towards an old leader's lease (README "Switching protocols").
 *
 *   Bully state (epochs, leaseTo) ─┐
 *                                  ├─ CarryOver { tokenFloor, leaseTo } ─→ the protocol starting now
 *   Raft hard state + log ─────────┘
 *
 * Both protocols number their tokens in one sequence: a Bully epoch and a Raft term are the same
 * kind of number, so the new protocol starts above the highest the old one held or saw (Bully's
 * first claim is above it, Raft's first term is above it), and reports no lower token meanwhile.
 * Quorums intersect (a protocol counts every member of the cluster, whatever it runs), so a new
 * leader is granted by at least one node that knew the old token and refuses anything at or below it.
 *
 * The promise: a node that granted the old protocol's leader a lease (a Bully ACCEPT, a Raft
 * append or vote) may be what keeps that leader's lease alive. The new protocol honours it for one
 * more promise period of the old protocol (`holdMs`), exactly as each protocol honours its own
 * grants across a restart: it helps elect no one else before then.
 */
import type { BullyPersisted } from './bully/messages.js';
import type { RaftHardState } from './raft/durable.js';
import type { NodeId, ProtocolName } from './types.js';

export interface CarryOver {
  /** The highest fencing token (epoch or term) the other protocol held or saw here: the new one starts above it. */
  tokenFloor: number;
  /** The leader the other protocol last promised its support to here; null: it promised no one. */
  leaseTo: NodeId | null;
  /** How long that promise may still count on the old leader's clock: the old protocol's promise period. */
  holdMs: number;
  /**
   * A live switch only: until when (this node's clock) what it reads may have waited out a stall
   * of its own (../stall.ts), so the new machine names no leader from a message read then.
   */
  staleUntilMs?: number;
}

export const NO_CARRY_OVER: Readonly<CarryOver> = Object.freeze({ tokenFloor: 0, leaseTo: null, holdMs: 0 });

/** What a Bully state obliges: its epochs, and the grant it would honour after a restart. */
export function bullyCarryOver(state: BullyPersisted, leaseMs: number): CarryOver {
  return { tokenFloor: Math.max(state.acceptedEpoch, state.highestEpochSeen), leaseTo: state.leaseTo, holdMs: leaseMs };
}

/**
 * What a Raft state obliges: its term and the newest leader record in its log (committed or
 * not: the term of a record on disk may have been reported), and the leader it last appended for
 * (the author of that record), or the candidate it voted for in a later term.
 */
export function raftCarryOver(hard: RaftHardState, newestRecord: { term: number; leader: NodeId } | null, electionTimeoutMs: number): CarryOver {
  const recordTerm = newestRecord?.term ?? 0;
  const leaseTo = hard.votedFor !== null && hard.term > recordTerm ? hard.votedFor : (newestRecord?.leader ?? hard.votedFor);
  return { tokenFloor: Math.max(hard.term, hard.fencingFloor, recordTerm), leaseTo, holdMs: electionTimeoutMs };
}

/** Several protocols' obligations as one: the highest floor; the promise of the one that ran last. */
export function combineCarryOver(floors: readonly CarryOver[], ranLast: CarryOver | null): CarryOver {
  const tokenFloor = Math.max(0, ...floors.map((c) => c.tokenFloor));
  return ranLast ? { ...ranLast, tokenFloor } : { tokenFloor, leaseTo: null, holdMs: 0 };
}

/**
 * What the protocols that ran on a node before oblige `running`, which starts there now (a
 * restart, perhaps with another protocol): every one's floor and the floor its era record kept
 * of a live switch (host/switch.ts EraRecord), and the promise of the one that ran last when that
 * was another protocol (a switch by restart).
 */
export function carryOverAtStart(running: ProtocolName, others: ReadonlyMap<ProtocolName, CarryOver>, ranLast: ProtocolName | null, eraTokenFloor = 0): CarryOver {
  const carry = combineCarryOver([...others.values()], ranLast !== null && ranLast !== running ? (others.get(ranLast) ?? null) : null);
  return { ...carry, tokenFloor: Math.max(carry.tokenFloor, eraTokenFloor) };
}
