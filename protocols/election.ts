import type { Member } from './membership/types.js';
import type { DurableBatch, ElectionSummary, MemberState, NodeId, ProtocolName, Role } from './types.js';
export type { Codec } from './types.js';

/** The slice of membership an election machine sees, in a stable order (by id). */
export interface ElectionMember {
  id: NodeId;
  name: string;
  state: MemberState;
  priority: number;
  protocol: ProtocolName;
  self: boolean;
  /** What the member last gossiped about its own election state. */
  role: Role;
  term: number;
  leader: NodeId | null;
  fencingToken: number;
  /**
   * Suspected because its connection closed, and not heard from since: a message to it cannot
   * arrive now, so waiting for its answer only delays (kill -9 is the common case). Absent: false.
   */
  connectionLost?: boolean;
  /** When its state last changed (it joined, came back, became suspect), on this node's clock. Absent: long ago. */
  stateSinceMs?: number;
}

export type LeadershipCommand =
  | { kind: 'transfer'; to: NodeId | null }
  | { kind: 'resign' }
  | { kind: 'elect' }
  /** Drop a departed member from the cluster size for good (it counts again once it comes back). */
  | { kind: 'forget'; id: NodeId };

export type ElectionInput<M> =
  | { type: 'tick'; nowMs: number }
  /** The whole membership view, sent after every membership change. */
  | { type: 'members'; nowMs: number; members: readonly ElectionMember[] }
  /** A message from a peer, already validated by the machine's own codec. */
  | { type: 'message'; nowMs: number; from: NodeId; message: M }
  /** A leadership command from the API; answered by a `command-result` effect with the same id. */
  | { type: 'command'; nowMs: number; id: number; command: LeadershipCommand }
  /** Graceful shutdown: hand leadership off if leading, then emit `shutdown-ready`. */
  | { type: 'shutdown'; nowMs: number };

export type CommandResult =
  | { ok: true; detail: string }
  | { ok: false; code: string; message: string };

export type ElectionEffect<M, P> =
  | { type: 'send'; to: NodeId; message: M }
  /**
   * State to make durable (types.ts DurableBatch; Bully's whole state is its hard state). Nothing
   * the machine emits after it (sends, and the summary the host reports) takes effect before the
   * host has it on disk, so `fencingToken` must come from persisted state.
   */
  | { type: 'persist'; batch: DurableBatch<P> }
  | { type: 'election-started'; term: number; reason: string }
  | { type: 'election-finished'; term: number; result: 'won' | 'lost' | 'aborted'; durationMs: number }
  | { type: 'command-result'; id: number; result: CommandResult }
  | { type: 'shutdown-ready' }
  /**
   * A valid message the machine would not act on because of who sent it or what it claims (not
   * a live member, an epoch beyond reach): dropped, and counted and logged by the host.
   */
  | { type: 'refused'; from: NodeId; reason: RefusalReason; detail: string };

export type RefusalReason = 'not-a-member' | 'epoch-out-of-range';

/** What the control API reports besides the summary. */
export interface ElectionStatus {
  /** On the leader: ms its lease still runs on its own clock (floored); null on any other node. */
  leaseRemainingMs: number | null;
  /** `cluster.bootstrapExpect`, the members seen so far, and whether that count was ever reached. */
  bootstrap: { expect: number; seen: number; complete: boolean };
  /** A log-based machine's log and configuration (Raft); absent for Bully. */
  log?: ElectionLogStatus;
}

/** Where a log-based machine's log stands, and who votes (the API's `raft` object). */
export interface ElectionLogStatus {
  commitIndex: number;
  /** Nothing is applied beyond the commit index yet (no state machine): equal to it. */
  appliedIndex: number;
  lastIndex: number;
  lastTerm: number;
  voters: NodeId[];
  learners: NodeId[];
}

/**
 * One interface, one implementation per protocol (DESIGN.md section 5). Role, leader and term
 * changes are not emitted as effects: the host diffs `summary(now)` after every step.
 *
 * The lease contract (README "Leadership you can trust"): `summary(nowMs)` reports role
 * `leader` only while a majority's grants hold at `nowMs` on this node's clock, even if no step
 * has run since the lease ran out, and names another node as leader only once that node proved
 * it holds such a lease. Hosts ask with the current time whenever they report.
 */
export interface Election<M, P> {
  readonly protocol: ProtocolName;
  step(input: ElectionInput<M>): void;
  drain(): ElectionEffect<M, P>[];
  summary(nowMs: number): ElectionSummary;
  status(nowMs: number): ElectionStatus;
  /**
   * The earliest time (this node's ms) at which a `tick` can change anything: emit an effect,
   * change the summary or the status. The host ticks at that moment instead of periodically;
   * Infinity when nothing is due. Ticks before it are harmless and change nothing (a property
   * test holds every machine to this).
   */
  deadline(): number;
}


/** The election's view of membership: the same members, only the fields an election reads. */
export function electionMembers(members: readonly Member[]): ElectionMember[] {
  return members.map((m) => ({
    id: m.id,
    name: m.name,
    state: m.state,
    priority: m.priority,
    protocol: m.protocol,
    self: m.self,
    role: m.role,
    term: m.term,
    leader: m.leader,
    fencingToken: m.fencingToken,
    connectionLost: m.state === 'suspect' && m.suspectReason === 'connection-closed',
    stateSinceMs: m.stateSinceMs,
  }));
}
