import type { ElectionSummary, MemberState, NodeId, ProtocolName } from '../types.js';

/** What each node gossips about itself on every heartbeat. */
export interface MemberMeta extends ElectionSummary {
  name: string;
  /** Multiaddrs the node listens on, as strings. */
  addrs: string[];
  /** The election protocol this node runs now (the cluster's, once it has joined one). */
  protocol: ProtocolName;
  /**
   * The protocol era this node is in (protocols/host/switch.ts): 0 until it has been part of a
   * cluster with a leader, then raised by one at every agreed switch. Absent from older peers: 0.
   */
  era: number;
  /** The protocol this node asks the cluster to run (its config, or `conclave protocol switch`). */
  requested: ProtocolName;
  /**
   * This node holds the cluster's decision to switch to this protocol at era + 1: the leader's
   * announcement, or a member's acknowledgement of it. Null: no switch under way here.
   */
  switchTo: ProtocolName | null;
  /** An operator ordered a switch to this protocol on this node (`conclave protocol switch`), in this era. */
  order: ProtocolName | null;
  /**
   * Its election belongs to a formed cluster (Election.formed): a Raft node that saw a leader
   * record. Absent from older peers: read as `fencingToken !== 0`, which meant the same before
   * a switched node reported the token it carried over.
   */
  formed?: boolean;
  /** The Raft dialect its build speaks (raft/messages.ts RAFT_WIRE). Absent from older peers: 1. */
  raftWire?: number;
  priority: number;
  /** Software version of the daemon. */
  version: string;
}

/** The protocol fields of a node's meta for one that runs and asks for `protocol` in `era`, with no switch under way. */
export function protocolMeta(protocol: ProtocolName, era = 0): Pick<MemberMeta, 'protocol' | 'era' | 'requested' | 'switchTo' | 'order'> {
  return { protocol, era, requested: protocol, switchTo: null, order: null };
}

/** One member as a node currently sees it. */
export interface Member extends MemberMeta {
  id: NodeId;
  state: MemberState;
  incarnation: number;
  /** Monotonic time (ms, host clock) the last first-hand heartbeat arrived; for self: now. */
  lastHeardMs: number;
  /** Monotonic time of the last state change. */
  stateSinceMs: number;
  self: boolean;
  /** Why a `suspect` member is suspected; null in every other state. */
  suspectReason: SuspectReason | null;
}

/**
 * Why a member is suspect: it fell silent, its connection closed, another member gossiped that
 * it left (second-hand, so only a prompt: its own heartbeat clears it, its own leave confirms it),
 * or — for a member this node does not watch (Heartbeat.observers) — one that watches it
 * gossiped a suspicion or death, which this node adopts (SWIM's suspect message).
 */
export type SuspectReason = 'silence' | 'connection-closed' | 'reported-left' | 'reported';

/** A reference to one incarnation of a member, carried in heartbeats' suspicion and death lists. */
export interface IncarnationRef {
  id: NodeId;
  incarnation: number;
}

/**
 * The gossip message. Every node sends one every heartbeat interval to the members that watch it
 * (all of them in a small cluster), and to every member at once when it carries news: a change
 * of its own state or meta, or a suspicion of a member it watches.
 */
export interface Heartbeat {
  v: 1;
  cluster: string;
  id: NodeId;
  incarnation: number;
  /** Grows by one per heartbeat within an incarnation; lets receivers ignore reordered copies. */
  seq: number;
  /** True on the last heartbeats of a graceful leave. */
  leaving: boolean;
  meta: MemberMeta;
  /** Members the sender currently suspects (Lifeguard: independent confirmations). */
  suspects: IncarnationRef[];
  /** Members the sender has declared dead and not yet forgotten (lets a wrongly-dead node refute). */
  dead: IncarnationRef[];
  /**
   * Members the sender saw leave and has not yet forgotten. A leave is the leaver's own word, so
   * receivers apply it second-hand: a node that missed the farewell still learns `left` (memberlist
   * gossips its leave intent the same way) instead of suspecting, then declaring, a clean exit dead.
   */
  left: IncarnationRef[];
  /**
   * The members that watch the sender, in a cluster too large for everyone to watch everyone
   * (more than OBSERVERS_PER_MEMBER others): its routine heartbeats go to them only, and only they
   * suspect it for silence; the rest learn its failure from their gossip. Absent: every member
   * watches it (a small cluster, or a peer of an older version).
   */
  observers?: NodeId[];
  /** The member this heartbeat probes: it answers with its own heartbeat at once (SWIM's ping and ack). */
  probe?: NodeId;
}

/** Membership timings; presets live in config/, individual fields may be overridden. */
export interface MembershipTimings {
  /** How often a node publishes its heartbeat. */
  heartbeatIntervalMs: number;
  /** Silence after which a member becomes suspect. */
  suspectAfterMs: number;
  /** Suspicion timeout with enough independent confirmations (Lifeguard lower bound). */
  suspicionMinMs: number;
  /** Suspicion timeout when this node alone suspects (Lifeguard upper bound). */
  suspicionMaxMs: number;
  /** How long dead and left members stay listed before they are forgotten. */
  forgetAfterMs: number;
  /** Upper bound on the local-health multiplier applied to the timeouts above. */
  maxHealthMultiplier: number;
}

export type MembershipInput =
  /** Time passes. localLagMs: this process's own recent event-loop delay (Lifeguard). */
  | { type: 'tick'; nowMs: number; localLagMs: number }
  /** A heartbeat arrived over gossip; `from` is the authenticated sender (libp2p peer id). */
  | { type: 'heartbeat'; nowMs: number; from: NodeId; heartbeat: Heartbeat }
  /** The last connection to a peer closed: a hint, not a verdict. */
  | { type: 'connection-closed'; nowMs: number; peer: NodeId }
  /**
   * This node's own metadata changed (e.g. election summary): gossip it promptly, or at once when
   * `urgent` (others act on it at once, as on a protocol switch's announcement or commit).
   */
  | { type: 'update-self'; nowMs: number; meta: Partial<MemberMeta>; urgent?: boolean }
  /** Graceful leave: announce `left` and stop claiming liveness. */
  | { type: 'leave'; nowMs: number }
  /** An operator's `conclave forget`: drop a dead or departed member now rather than at forgetAfterMs. */
  | { type: 'forget'; nowMs: number; id: NodeId }
  /**
   * An operator's `conclave reload`: these timings from now on (the next tick and deadline()).
   * Ignored when membershipTimingProblems (timings.ts) finds any, so the running ones stay.
   */
  | { type: 'set-timings'; nowMs: number; timings: MembershipTimings };

export interface MemberRef {
  id: NodeId;
  name: string;
}

export type MembershipEvent =
  | { type: 'member-joined'; member: Member }
  | { type: 'member-suspect'; id: NodeId; name: string; incarnation: number; reason: SuspectReason }
  | { type: 'member-alive'; id: NodeId; name: string; incarnation: number; previous: MemberState }
  | { type: 'member-dead'; id: NodeId; name: string; incarnation: number; suspectedForMs: number }
  | { type: 'member-left'; id: NodeId; name: string }
  | { type: 'member-updated'; member: Member }
  | { type: 'member-forgotten'; id: NodeId; name: string }
  | { type: 'protocol-mismatch'; id: NodeId; name: string; protocol: ProtocolName; expected: ProtocolName }
  /** Someone suspected or declared this node dead; it raised its incarnation to refute. */
  | { type: 'refuted'; incarnation: number; by: NodeId }
  /**
   * `by` accused this node of an incarnation it never had (above its own): no ground to jump to
   * it, so it is ignored. A buggy or hostile member; the host counts and logs it.
   */
  | { type: 'accusation-ignored'; incarnation: number; by: NodeId };

export type MembershipEffect =
  /** Send `heartbeat` to these members; null: to every member (every connected cluster peer). */
  | { type: 'publish'; heartbeat: Heartbeat; to: NodeId[] | null }
  /**
   * This node raised its own incarnation (a refutation): write it where the next start reads it.
   * It comes before any `publish` carrying that incarnation, and the host holds every effect after
   * it until it is on disk, so a restart never reuses an incarnation already gossiped.
   */
  | { type: 'persist'; incarnation: number }
  | { type: 'event'; event: MembershipEvent }
  /**
   * After `leave`: the last leave announcement has been published (right after the first when no
   * other member is alive or suspect: nobody to tell). The host may stop. Emitted once, after the
   * `publish` of that announcement.
   */
  | { type: 'leave-done' };
