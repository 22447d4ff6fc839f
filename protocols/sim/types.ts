/**
 * Types of the deterministic simulator (DESIGN.md section 1, host 2). The simulator hosts the
 * same pure machines as daemon/runtime.ts, on a virtual clock and a seeded network.
 */
import type { CarryOver } from '../carry-over.js';
import type { Election } from '../election.js';
import type { ElectionNodeEvent, NodeEvent } from '../host/events.js';
import type { MembershipPresetName } from '../membership/presets.js';
import type { Member, MembershipTimings } from '../membership/types.js';
import type { Rng } from '../rng.js';
import type { ElectionSummary, LogEntry, NodeId, ProtocolName, Snapshot } from '../types.js';

/** The simulator hosts the real machine's interface (re-exported under the simulator's name). */
export type { Membership as MembershipMachine, MembershipInit } from '../membership/membership.js';
import type { Membership as MembershipMachine, MembershipInit } from '../membership/membership.js';

export type MembershipFactory = (init: MembershipInit) => MembershipMachine;

export interface ElectionContext<P> {
  id: NodeId;
  /** This node's own stream; forked per node and per life, so other nodes do not shift it. */
  rng: Rng;
  /** What the previous life persisted (the simulated disk survives crashes), or null. */
  persisted: P | null;
  /** A log-based machine's snapshot and entries after it, as the previous lives left them. */
  log: { snapshot: Snapshot | null; entries: readonly LogEntry[] };
  nowMs: number;
  /** What another protocol that ran on this node obliges the machine to (../carry-over.ts); absent: nothing. */
  carryOver?: CarryOver;
}

export type ElectionFactory<M = unknown, P = unknown> = (ctx: ElectionContext<P>) => Election<M, P>;

/** The presets the simulator draws from (`wan` timings would only lengthen runs). */
export type PresetName = Extract<MembershipPresetName, 'local' | 'lan'>;

export interface FaultMix {
  crash: boolean;
  pause: boolean;
  stall: boolean;
  partition: boolean;
  cut: boolean;
  /** Graceful stops (SIGTERM): handoff, leave announcement, exit. */
  stop: boolean;
  /** `conclave resign` on the node that leads: a hand-off while the node stays. */
  resign: boolean;
  /** Mean virtual time between two fault actions in the safety phase. */
  meanGapMs: number;
  /** Chance a node crashed or stopped in the safety phase restarts within that phase. */
  restartProbability: number;
  /** Chance a node still down when the liveness phase starts is restarted (else left dead). */
  reviveProbability: number;
}

/**
 * How the cluster comes up. `together`: every node within 300 ms. `staggered`: one by one over
 * seconds. `late`: most together, one or two seconds later. `isolated`: together, but one node
 * hears nobody (cut off both ways) for the whole safety phase.
 */
export type ColdStart = 'together' | 'staggered' | 'late' | 'isolated';

/** Everything a run does follows from this, and this follows from the seed. */
export interface Scenario {
  seed: number;
  clusterSize: number;
  /** `cluster.bootstrapExpect` of every node. */
  bootstrapExpect: number;
  coldStart: ColdStart;
  /** Per node, in id order: when it first starts (virtual ms). */
  startAtMs: number[];
  /** Index of the node cut off from the others until the liveness phase (`isolated`), else null. */
  isolatedIndex: number | null;
  /**
   * Per node, in id order: how fast its monotonic clock runs against virtual (real) time, within
   * 1 ± the documented drift bound (protocols/lease.ts).
   */
  clockRates: number[];
  preset: PresetName;
  timings: MembershipTimings;
  tickMs: number;
  /** Per node, in id order. */
  priorities: number[];
  /** Per-path one-way delay: a base drawn per path up to this, plus uniform jitter up to `jitterMaxMs`. */
  baseDelayMaxMs: number;
  jitterMaxMs: number;
  /** Safety-phase loss and duplication, per message and path. */
  lossProbability: number;
  duplicateProbability: number;
  faults: FaultMix;
  /** Virtual length of the safety phase. */
  safetyMs: number;
  /** Virtual seconds since the epoch at t = 0; incarnations are wall-clock seconds, as in the daemon. */
  wallClockStartSec: number;
  /**
   * The simulated disk: a write syncs after a delay in [fsyncMinMs, fsyncMaxMs], or with
   * `stallProbability` after up to `stallMaxMs` (a stalled fsync); writes sync in order.
   */
  disk: { fsyncMinMs: number; fsyncMaxMs: number; stallProbability: number; stallMaxMs: number };
}

/** Time bounds derived from a scenario's timings and network (see bounds.ts for the reasoning). */
export interface SimBounds {
  /** Longest one-way delay any path can draw. */
  maxPathDelayMs: number;
  /** A crashed node is dead at every live observer this long after the crash. */
  detectDeadMs: number;
  /** After the liveness phase begins, every live node sees every live node alive within this. */
  convergeMs: number;
  /** Quiet time (no fault at all) after which a live node must never be declared dead. */
  quietBeforeJudgingMs: number;
  /** A node that was paused or stalled may have stretched (Lifeguard) timeouts for this long after. */
  lagRecoveryMs: number;
}

export type Phase = 'safety' | 'liveness';

export type FaultRecord =
  | { kind: 'start'; node: NodeId; incarnation: number }
  | { kind: 'crash'; node: NodeId }
  /** A graceful stop began (handoff, then `leave`, then the process exits). */
  | { kind: 'stop'; node: NodeId }
  /** `conclave resign` on the node (it hands leadership over and stays). */
  | { kind: 'resign'; node: NodeId }
  | { kind: 'exit'; node: NodeId }
  | { kind: 'restart'; node: NodeId; incarnation: number }
  | { kind: 'pause'; node: NodeId }
  | { kind: 'resume'; node: NodeId; pausedMs: number }
  | { kind: 'stall'; node: NodeId; durationMs: number }
  | { kind: 'partition'; groups: NodeId[][] }
  | { kind: 'cut'; from: NodeId; to: NodeId }
  | { kind: 'uncut'; from: NodeId; to: NodeId }
  | { kind: 'heal' }
  | { kind: 'network'; lossProbability: number; duplicateProbability: number }
  /** An operator edited the node's config to ask for `protocol`: read at its next start, or at once by `conclave reload`. */
  | { kind: 'configure'; node: NodeId; protocol: ProtocolName; reload: boolean }
  /** `conclave protocol switch <protocol>` on the node. */
  | { kind: 'order'; node: NodeId; protocol: ProtocolName }
  | { kind: 'liveness' };

/** The node events that come from membership (what the host core reports of members). */
export type MembershipNodeEvent = Exclude<NodeEvent, ElectionNodeEvent | { type: 'role-changed' | 'term-changed' | 'leader-changed' }>;

/** What one step produced that invariants may look at. */
export type StepRecord =
  | { type: 'fault'; fault: FaultRecord }
  | { type: 'membership'; node: NodeId; event: MembershipNodeEvent }
  | { type: 'summary'; node: NodeId; from: ElectionSummary; to: ElectionSummary }
  | { type: 'election'; node: NodeId; event: ElectionNodeEvent['type']; term: number; detail: string }
  /** A machine refused a valid message or heartbeat (who sent it, what it claimed). */
  | { type: 'refused'; node: NodeId; from: NodeId; reason: string };

/** One node as invariants see it. */
export interface NodeView {
  readonly id: NodeId;
  readonly priority: number;
  /** Started, not crashed. */
  readonly up: boolean;
  /** What this node would answer if asked now (its machine's summary at its own clock); null while down. */
  report(): ElectionSummary | null;
  /** On a leader: its lease left now, converted to virtual ms; null otherwise or while down. */
  leaseRemainingVirtualMs(): number | null;
  readonly paused: boolean;
  /** Up and not paused: it runs and can answer. */
  readonly live: boolean;
  /** Lives started so far (the first start is life 1); a restart is a new life. */
  readonly life: number;
  /** The incarnation this life started with. */
  readonly lifeIncarnation: number;
  readonly lifeStartedMs: number;
  /** When this node last crashed or exited, or null. */
  readonly crashedAtMs: number | null;
  /** When a pause or stall of this node last ended (or began, while one lasts), or null. */
  readonly lastDisruptedMs: number | null;
  /** Null while down. */
  members(): Member[] | null;
  member(id: NodeId): Member | undefined;
  /** The election summary this node's host last saw; null while down or without an election. */
  summary(): ElectionSummary | null;
  /**
   * The running machine's own summary now, before the host's release rules (a summary waits for
   * its write; after a live switch the last one of the old machine stands until the new one's is
   * released): what a protocol's own rules judge. Null while down or without an election.
   */
  machineSummary(): ElectionSummary | null;
  /**
   * The simulated disk's election state of `protocol` (survives crashes), parsed; by default of
   * the protocol the node runs (or ran last, while down). A node that switched keeps each
   * protocol's state apart, as the daemon's store does.
   */
  persisted(protocol?: ProtocolName): unknown;
  /**
   * The election machine itself (null while down or without one), for protocol invariants that
   * judge internal state the summary does not show (Raft's role and log). Read only.
   */
  election(): Election<unknown, unknown> | null;
}

export interface SimView {
  readonly seed: number;
  readonly scenario: Scenario;
  readonly bounds: SimBounds;
  readonly nowMs: number;
  readonly phase: Phase;
  /** In id order. */
  readonly nodes: readonly NodeView[];
  node(id: NodeId): NodeView;
  /** The node whose machines the last step drove, or null (a fault, a drop). */
  readonly touched: NodeView | null;
  readonly records: readonly StepRecord[];
  /** Since when no loss, partition, cut, pause or stall has been in force; null while one is. */
  readonly quietSinceMs: number | null;
  /** When the liveness phase's healing took full effect (stalls over), or null before. */
  readonly healedAtMs: number | null;
  /** Messages or heartbeats that left a node before a write they followed was durable. */
  readonly orderViolations: readonly string[];
  /** Messages a node of an older Raft dialect refused as its build would (SimProtocol.olderDialectCodec). */
  readonly olderDialectRefusals: readonly string[];
}

/** Checked after every step; returns a short description of the violation, or null. */
export interface Invariant {
  readonly name: string;
  check(view: SimView): string | null;
}

export interface InvariantSetup {
  scenario: Scenario;
  bounds: SimBounds;
}

/** Invariants may keep history (e.g. leaders per term), so each run creates its own. */
export type InvariantFactory = (setup: InvariantSetup) => Invariant;

export interface Violation {
  seed: number;
  invariant: string;
  nowMs: number;
  message: string;
  /** The last trace lines before the violation. */
  trace: string[];
  /** The last faults, membership events and election changes (the trace without message traffic). */
  notable: string[];
}

export interface SimStats {
  virtualMs: number;
  steps: number;
  messagesSent: number;
  messagesDelivered: number;
  messagesDropped: number;
  faults: Record<string, number>;
  /** Virtual ms from healing until every live node saw every live node alive; null if never. */
  convergedAfterHealMs: number | null;
  /** FNV-1a over every trace line: equal hashes, equal runs. */
  traceHash: string;
  /** Key-value operations recorded (a protocol with the store), and how their history checked (null: not checked, the run failed first). */
  kvOperations?: number;
  kvVerdict?: 'linearizable' | 'unknown' | 'violated' | null;
  /** Campaigns in named elections that got a session, and how often one was told it leads (election-workload.ts). */
  campaigns?: number;
  electedInElections?: number;
  /** A switching cluster: machines switched at a node, by a leader's commit (`agreed`) or on seeing a later era (`adopted`). */
  protocolSwitches?: { agreed: number; adopted: number };
}

export interface SimResult {
  scenario: Scenario;
  protocol: string;
  stats: SimStats;
  violation: Violation | null;
}
