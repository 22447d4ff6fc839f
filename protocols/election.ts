import type { KvAnswer, KvRequest } from './kv/requests.js';
import type { KvEvent } from './kv/types.js';
import type { Member } from './membership/types.js';
import type { CarryOver } from './carry-over.js';
import type { DurableBatch, ElectionSummary, LogEntry, MemberState, NodeId, ProtocolName, Role, Snapshot } from './types.js';
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
   * It belongs to a formed cluster of its protocol (Election.formed): what bootstrap rules ask
   * before forming a new one. Absent (older peers, test members): its fencing token is not 0.
   */
  formed?: boolean;
  /** The Raft dialect its build speaks (raft/messages.ts RAFT_WIRE). Absent (older peers): 1. */
  raftWire?: number;
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
  | { kind: 'forget'; id: NodeId }
  /**
   * Take a member out of the election's configuration for good (`conclave leave` asks it for the
   * node itself before it exits). Raft removes it through a configuration entry, relayed to the
   * leader; Bully has no configuration and answers `unsupported` (its leave is the graceful stop).
   */
  | { kind: 'remove'; id: NodeId };

export type ElectionInput<M> =
  | { type: 'tick'; nowMs: number }
  /** The whole membership view, sent after every membership change. */
  | { type: 'members'; nowMs: number; members: readonly ElectionMember[] }
  /** A message from a peer, already validated by the machine's own codec. */
  | { type: 'message'; nowMs: number; from: NodeId; message: M }
  /** A leadership command from the API; answered by a `command-result` effect with the same id. */
  | { type: 'command'; nowMs: number; id: number; command: LeadershipCommand }
  /** A key-value request from the API (only to a machine that `keepsStore`); answered by a `kv-answer` effect with the same id. */
  | { type: 'kv'; nowMs: number; id: number; request: KvRequest }
  /** Graceful shutdown: hand leadership off if leading, then emit `shutdown-ready`. */
  | { type: 'shutdown'; nowMs: number }
  /**
   * The first `persists` persist effects this machine emitted (in this life) are on disk. Sends
   * behind them are released at the same moment; a machine may act on its own writes being
   * durable without waiting for a peer's answer to prove it (Raft's owed lease round).
   */
  | { type: 'durable'; nowMs: number; persists: number };

export type CommandResult =
  | { ok: true; detail: string }
  | { ok: false; code: string; message: string };

export type ElectionEffect<M, P> =
  /**
   * `parallel`: the message may leave before this machine's earlier writes are durable (a Raft
   * leader's appends, thesis §10.2.1); the machine relies on nothing in it being on disk. Every
   * other send waits behind them.
   */
  | { type: 'send'; to: NodeId; message: M; parallel?: true }
  /**
   * State to make durable (types.ts DurableBatch; Bully's whole state is its hard state). Nothing
   * the machine emits after it (sends, and the summary the host reports) takes effect before the
   * host has it on disk, so `fencingToken` must come from persisted state.
   *
   * `deferrable`: the machine needs this write only eventually, and nothing it emits now counts
   * on it (a leaving Raft leader's handover record: raft/leader.ts handOver). The host may hold
   * it back a moment, to leave the disk and the cores to the writes others make at that moment;
   * every write after it waits behind it, and the next one that is not deferrable ends the wait.
   */
  | { type: 'persist'; batch: DurableBatch<P>; deferrable?: true }
  | { type: 'election-started'; term: number; reason: string }
  | { type: 'election-finished'; term: number; result: 'won' | 'lost' | 'aborted'; durationMs: number }
  | { type: 'command-result'; id: number; result: CommandResult }
  | { type: 'kv-answer'; id: number; answer: KvAnswer }
  /** The store applied a write that changed something: its events, in order (what watches follow). */
  | { type: 'kv-events'; events: KvEvent[] }
  | { type: 'shutdown-ready' }
  /** A leader stopped leading, and why (a log-based machine; Bully's leaders lose their lease instead). */
  | { type: 'stepped-down'; term: number; reason: StepDownReason }
  /** The configuration this node uses changed (appended, truncated away, or installed from a snapshot). */
  | { type: 'configuration-changed'; index: number; voters: NodeId[]; learners: NodeId[] }
  /** A snapshot was taken here (log compacted), sent whole to a lagging peer, or installed from the leader. */
  | { type: 'snapshot'; action: SnapshotAction; index: number; term: number; peer: NodeId | null }
  /**
   * A leader sent a heartbeat round at least a full interval after it was due (etcd's "failed to
   * send out heartbeat on time"): the event loop or the disk held it up, and followers may campaign.
   */
  | { type: 'heartbeat-late'; lateMs: number }
  /**
   * A valid message the machine would not act on because of who sent it or what it claims (not
   * a live member, an epoch beyond reach): dropped, and counted and logged by the host.
   */
  | { type: 'refused'; from: NodeId; reason: RefusalReason; detail: string };

export type RefusalReason = 'not-a-member' | 'epoch-out-of-range' | 'malformed-snapshot';

/**
 * Why a leader stepped down: it did not hear from a majority within the election timeout
 * (`check-quorum`), it handed over (`transfer`), it saw a higher term (`higher-term`), a
 * configuration without it as a voter took effect (`removed`), or it is shutting down and no
 * successor took over in time (`shutdown`: it stops leading before it announces its leave).
 */
export type StepDownReason = 'check-quorum' | 'transfer' | 'higher-term' | 'removed' | 'shutdown';
export const STEP_DOWN_REASONS: readonly StepDownReason[] = ['check-quorum', 'transfer', 'higher-term', 'removed', 'shutdown'];

export type SnapshotAction = 'taken' | 'sent' | 'installed';
export const SNAPSHOT_ACTIONS: readonly SnapshotAction[] = ['taken', 'sent', 'installed'];

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
  /** The last index applied to the key-value store (every node applies as it commits). */
  appliedIndex: number;
  /** The key-value store: its revision and how many keys it holds. */
  kv?: { revision: number; keys: number };
  lastIndex: number;
  lastTerm: number;
  voters: NodeId[];
  learners: NodeId[];
  /** Index of the newest snapshot (0: none); entries up to it are compacted away. */
  snapshotIndex: number;
  /** On the leader: each other member it replicates to; empty elsewhere. */
  peers: ElectionPeerProgress[];
  /** Cumulative counts since this process started (for metrics). */
  counters: ElectionLogCounters;
}

/** A leader's view of one follower (etcd's Progress): how far it holds the log, and when it last answered. */
export interface ElectionPeerProgress {
  id: NodeId;
  voter: boolean;
  /** Highest index known replicated there. */
  matchIndex: number;
  nextIndex: number;
  /** The leader's last index minus matchIndex. */
  lag: number;
  /** ms since the leader last heard from it in this term (null: not yet). */
  lastContactMs: number | null;
  /** probe: one append at a time until it accepts; replicate: pipelined; snapshot: a snapshot is on its way. */
  state: 'probe' | 'replicate' | 'snapshot';
}

/** etcd-style counters of a log-based machine, cumulative over this process's life. */
export interface ElectionLogCounters {
  /** Entries this node appended as leader that then committed. */
  proposalsCommitted: number;
  /** Entries this node appended as leader that were lost with its leadership (never committed in its term). */
  proposalsFailed: number;
  /** Pre-vote and vote requests this node answered, by kind and answer. */
  preVotesGranted: number;
  preVotesRefused: number;
  votesGranted: number;
  votesRefused: number;
  /** Key-value requests a follower sent the leader again after no answer came (kv.ts tick). */
  kvResends: number;
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
  /** Whether it keeps the replicated key-value store (takes `kv` inputs); the host answers `not-raft` for one that does not. Absent: false. */
  readonly keepsStore?: boolean;
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
  /**
   * The longest this machine may take to answer a command itself (a relay to the leader, a
   * transfer); the host answers `timeout` no sooner than this, so the machine's own, more
   * precise answer wins. Absent: the host's default (core.ts COMMAND_TIMEOUT_MS).
   */
  commandTimeoutMs?(): number;
  /**
   * What this machine's state obliges a protocol that replaces it on this node now (a live
   * switch, host/switch.ts): the highest token it held or saw, and the leader it last promised
   * its support to (itself while it leads). See ../carry-over.ts. Absent (test doubles): the
   * host never switches this machine out.
   */
  carryOver?(nowMs: number): CarryOver;
  /** Its durable state as it will be on disk once its writes so far are: what a later machine of this protocol starts from. */
  durableImage?(): ElectionImage;
  /**
   * Whether it belongs to a formed cluster of its protocol (Raft: it saw a leader record, so a
   * configuration exists), gossiped so that nodes with nothing yet do not form another beside it.
   * Absent: the host gossips whether its fencing token is not 0.
   */
  formed?(): boolean;
}

/** A machine's durable state: its hard state and, for a log-based machine, its log. */
export interface ElectionImage {
  persisted: unknown;
  log: { snapshot: Snapshot | null; entries: readonly LogEntry[] };
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
    ...(m.formed !== undefined ? { formed: m.formed } : {}),
    ...(m.raftWire !== undefined ? { raftWire: m.raftWire } : {}),
    connectionLost: m.state === 'suspect' && m.suspectReason === 'connection-closed',
    stateSinceMs: m.stateSinceMs,
  }));
}
