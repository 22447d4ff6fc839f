/**
 * What a node reports as it happens: the one event union the control API streams (with an `at`
 * time added by the daemon), the metrics binding counts, the CLI prints and the dashboard
 * reduces. The host core (core.ts) is the only producer; every consumer switches on `type`.
 */
import type { SnapshotAction, StepDownReason } from '../election.js';
import type { SuspectReason } from '../membership/types.js';
import type { MemberState, NodeId, ProtocolName, Role } from '../types.js';

export interface NodeRef {
  id: NodeId;
  name: string;
}

/** One member as this node sees it, in the shape the API serves (`GET /v1/members`). */
export interface MemberView {
  id: NodeId;
  name: string;
  addrs: string[];
  state: MemberState;
  incarnation: number;
  /** ms since last heard first-hand; 0 for self. */
  lastSeenMs: number;
  self: boolean;
  /** The protocol it runs. */
  protocol: ProtocolName;
  /** Its protocol era and the protocol it asks for (host/switch.ts); absent from a daemon before eras. */
  era?: number;
  requested?: ProtocolName;
  /** The switch it holds (announced or acknowledged), or null; absent from a daemon before eras. */
  switchTo?: ProtocolName | null;
  role: Role;
  term: number;
  /** The id this member follows, or null. */
  leader: NodeId | null;
  priority: number;
  version: string;
  /**
   * The Raft dialect its build speaks (raft/messages.ts RAFT_WIRE): 1 for a build from before
   * dialects, which gossips none. Absent from a daemon before this field.
   */
  raftWire?: number;
}

export type NodeEvent =
  | { type: 'member-joined'; member: MemberView }
  | { type: 'member-updated'; member: MemberView }
  | { type: 'member-suspect'; id: NodeId; name: string; incarnation: number; reason: SuspectReason }
  | { type: 'member-alive'; id: NodeId; name: string; incarnation: number; previous: MemberState }
  | { type: 'member-dead'; id: NodeId; name: string; incarnation: number; suspectedForMs: number }
  | { type: 'member-left'; id: NodeId; name: string }
  | { type: 'member-forgotten'; id: NodeId; name: string }
  | { type: 'protocol-mismatch'; id: NodeId; name: string; protocol: ProtocolName; expected: ProtocolName }
  /** Someone suspected or declared this node dead; it raised its incarnation to refute. */
  | { type: 'refuted'; incarnation: number; by: NodeId }
  | { type: 'role-changed'; from: Role; to: Role; term: number }
  | { type: 'term-changed'; from: number; to: number }
  | { type: 'leader-changed'; from: NodeRef | null; to: NodeRef | null; term: number; fencingToken: number; leaderlessMs: number }
  | { type: 'election-started'; term: number; reason: string }
  | { type: 'election-finished'; term: number; result: 'won' | 'lost' | 'aborted'; durationMs: number }
  /** Raft: this node stopped leading, and why. */
  | { type: 'stepped-down'; term: number; reason: StepDownReason }
  /** Raft: the configuration this node uses changed (log index of its entry or snapshot). */
  | { type: 'configuration-changed'; index: number; voters: NodeRef[]; learners: NodeRef[] }
  /** Raft: a snapshot was taken here, sent to `peer`, or installed from `peer` (the leader). */
  | { type: 'raft-snapshot'; action: SnapshotAction; index: number; term: number; peer: NodeRef | null }
  /** Raft: this leader sent a heartbeat round `lateMs` after it was due (at least one interval late). */
  | { type: 'heartbeat-late'; lateMs: number }
  /** This leader announced a switch of the cluster to `to` (era + 1): asked for by most members, or ordered. */
  | { type: 'protocol-switch-started'; to: ProtocolName; era: number; why: 'requested' | 'ordered' }
  /**
   * This node now runs `to` in `era`: it committed the switch as leader (`agreed`) or followed a
   * member already there (`adopted`). Its first token under `to` is above `tokenFloor`; it keeps
   * the old protocol's promise to `carriedLeader` (itself, if it led) for a while.
   */
  | { type: 'protocol-switched'; from: ProtocolName; to: ProtocolName; era: number; how: 'agreed' | 'adopted'; tokenFloor: number; carriedLeader: NodeRef | null };

export type NodeEventType = NodeEvent['type'];

/** The events an election machine reports itself (the rest come from membership or the summary's diff). */
export type ElectionNodeEvent = Extract<NodeEvent, { type: 'election-started' | 'election-finished' | 'stepped-down' | 'configuration-changed' | 'raft-snapshot' | 'heartbeat-late' }>;

/** Every event type, for consumers that list or validate them (metrics labels, the CLI's filter). */
export const NODE_EVENT_TYPES: readonly NodeEventType[] = [
  'member-joined',
  'member-updated',
  'member-suspect',
  'member-alive',
  'member-dead',
  'member-left',
  'member-forgotten',
  'protocol-mismatch',
  'refuted',
  'role-changed',
  'term-changed',
  'leader-changed',
  'election-started',
  'election-finished',
  'stepped-down',
  'configuration-changed',
  'raft-snapshot',
  'heartbeat-late',
  'protocol-switch-started',
  'protocol-switched',
];
