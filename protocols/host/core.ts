/**
 * The host core: the whole protocol flow of one node, pure (DESIGN.md section 1). Both the daemon
 * (daemon/runtime.ts) and the simulator (protocols/sim/sim.ts) drive it; they differ only in
 * where inputs come from and what they do with the outputs (real sockets, disk and timers, or
 * virtual ones).
 *
 * One input in, one ordered batch of outputs back:
 *
 *   tick / heartbeat / message / connection-closed / command / shutdown / persisted
 *     → membership and election stepped, effects pumped between them until both are quiet
 *     → [persist…, publish, send, event, command-result, peers, refused, stopped, …]
 *
 * Persist-before-send lives here and only here: a `persist` output is handed out at once (so the
 * disk can write several together), and every output its machine produced after it — messages,
 * heartbeats, events, command results, and the summary the node reports — is held until the
 * host acknowledges that persist with a `persisted` input. Nothing leaves, and nothing is
 * reported, that a crash could take back. Each machine waits for its own writes only. The one
 * exception is a send the machine marks `parallel` (a Raft leader's appends): it leaves at once.
 *
 * Time is the host's monotonic ms. The host ticks at `deadline()` (the earliest moment any timer
 * here or in a machine is due), not periodically; a tick at any other time changes nothing.
 */
import { electionMembers, type CommandResult, type Election, type ElectionEffect, type ElectionStatus, type LeadershipCommand, type RefusalReason } from '../election.js';
import type { CarryOver } from '../carry-over.js';
import type { ElectionImage } from '../election.js';
import { kvRequestError, type KvAnswer, type KvRequest } from '../kv/requests.js';
import type { KvEvent } from '../kv/types.js';
import type { Membership } from '../membership/membership.js';
import type { Heartbeat, Member, MembershipEvent, MembershipTimings } from '../membership/types.js';
import { OBSERVER_SUMMARY, type DurableBatch, type ElectionSummary, type NodeId, type ProtocolName } from '../types.js';
import type { MemberView, NodeEvent, NodeRef } from './events.js';
import { PersistOrder, type WriteSource } from './persist-order.js';
import { nextSwitchStep, switchProgress, type EraRecord, type EraState, type SwitchStep } from './switch.js';
export type { EraRecord } from './switch.js';

/** A leader's hand-off gets this long before the node leaves anyway (a SIGTERM must end in ~2 s). */
export const SHUTDOWN_HANDOFF_MAX_MS = 700;
/**
 * A node that handed its leadership over announces its departure this long after it names its
 * successor, not at once. It learns the successor in the same message round as every other
 * member (the new leader's committed record in Raft, its claim in Bully), and each of them still
 * has to take that in and report it; a `left` announcement and closing connections arriving in
 * those milliseconds made every member handle a departure (membership, events, the election's
 * view) on a 2-core host busy with the hand-off. Measured on the SIGTERM hand-off bench, 36
 * trials each way in alternated runs: Raft p50 20 ms against 23, Bully 14 against 17
 * (README "Hand-off"). The departure itself is announced 50 ms later; the node still exits well
 * within the 2 s a SIGTERM has.
 */
export const LEAVE_AFTER_HANDOFF_MS = 50;
/** A leadership command not answered by its machine within this long (or its own bound, if longer) is answered `timeout`. */
export const COMMAND_TIMEOUT_MS = 5000;
/** A node still short of bootstrapExpect members warns after this long, then at most this often. */
export const BOOTSTRAP_WARN_AFTER_MS = 15_000;
export const BOOTSTRAP_WARN_EVERY_MS = 60_000;
/** Bound on machine ping-pong within one pump; a healthy pump needs 2–3 rounds. */
export const MAX_PUMP_ROUNDS = 32;

export type HostInput =
  /** A deadline came (or the host wants answers as of now). lagMs: how late the host's timer fired. */
  | { type: 'tick'; nowMs: number; lagMs: number }
  /** A heartbeat from gossip, already decoded and validated; `from` is the authenticated sender. */
  | { type: 'heartbeat'; nowMs: number; from: NodeId; heartbeat: Heartbeat }
  /**
   * A protocol message, already validated by the codec of `protocol` (the protocol of the stream
   * it came on; absent: the running one). A message of a protocol this node no longer (or not
   * yet) runs is dropped: a switch is under way.
   */
  | { type: 'message'; nowMs: number; from: NodeId; message: unknown; protocol?: ProtocolName }
  /** The last connection to a peer closed: a hint for membership. */
  | { type: 'connection-closed'; nowMs: number; peer: NodeId }
  /** A leadership command; answered by a `command-result` output with the same id. */
  | { type: 'command'; nowMs: number; id: number; command: LeadershipCommand }
  /** A key-value request; answered by a `kv-answer` output with the same id (ids are the host's, apart from commands'). */
  | { type: 'kv'; nowMs: number; id: number; request: KvRequest }
  /** Graceful stop: hand off (bounded), announce the leave, then output `stopped`. */
  | { type: 'shutdown'; nowMs: number }
  /** This node now asks for `protocol` (its config changed: a start or a reload). */
  | { type: 'request-protocol'; nowMs: number; protocol: ProtocolName }
  /**
   * `conclave protocol switch`: the operator orders the cluster to run `protocol`. Answered by a
   * `command-result` with the same id once this node runs it, or `timeout`.
   */
  | { type: 'order-protocol'; nowMs: number; id: number; protocol: ProtocolName }
  /** The persist output with this id is on disk, and every one before it (one input may acknowledge several). */
  | { type: 'persisted'; nowMs: number; id: number }
  /** The operator changed membership's timings (`conclave reload`): used from the next tick; ignored if they cannot run. */
  | { type: 'membership-timings'; nowMs: number; timings: MembershipTimings };

/** What one persist asks the disk to hold: each machine's part, written together. */
export interface NodeBatch {
  /** Membership's incarnation after a refutation. */
  incarnation?: number;
  election?: DurableBatch;
  /** Which protocol's machine `election` belongs to (each protocol's state is kept apart). */
  electionProtocol?: ProtocolName;
  /** The node's protocol era (host/switch.ts), written before anything of the protocol it names. */
  era?: EraRecord;
}

/**
 * Builds the machine of `protocol` for a live switch (host/switch.ts): from `image` when a
 * machine of that protocol ran earlier in this process, else from what the disk held at start,
 * bound by what the protocol it replaces obliges it to (`carryOver`).
 */
export type ElectionFactory = (protocol: ProtocolName, carryOver: CarryOver, image: ElectionImage | null, nowMs: number) => Election<unknown, unknown>;

/** Why an inbound input was dropped: counted and logged by the host. */
export type RefusedReason = RefusalReason | 'impossible-incarnation' | 'no-election';

export type HostOutput =
  /** Write this, then acknowledge it with a `persisted` input carrying the same id. `deferrable`: see ElectionEffect. */
  | { type: 'persist'; id: number; batch: NodeBatch; deferrable?: true }
  /** A heartbeat for these members; null: for every member (membership/types.ts MembershipEffect). */
  | { type: 'publish'; heartbeat: Heartbeat; to: NodeId[] | null }
  /** A message of `protocol`'s machine: it goes on that protocol's stream. */
  | { type: 'send'; to: NodeId; message: unknown; protocol: ProtocolName }
  | { type: 'event'; event: NodeEvent }
  /** The reported election summary changed (after the events that describe the change). */
  | { type: 'summary'; from: ElectionSummary; to: ElectionSummary }
  | { type: 'command-result'; id: number; result: CommandResult }
  /** Not held behind writes: a write is answered once it applied, and only committed entries apply. */
  | { type: 'kv-answer'; id: number; answer: KvAnswer }
  /** The store applied a write that changed something (committed): its events, for watches. Not held either. */
  | { type: 'kv-events'; events: KvEvent[] }
  /** The peers to stay connected to (every known member that has not left); after each membership change. */
  | { type: 'peers'; peers: { id: NodeId; addrs: string[]; state: 'alive' | 'suspect' | 'dead' }[] }
  | { type: 'refused'; from: NodeId; reason: RefusedReason; detail: string }
  /** Still short of `bootstrapExpect` members: the host says so (why is its business: logs). */
  | { type: 'bootstrap-waiting'; seen: number; expect: number; waitingMs: number }
  /** The graceful stop is complete: the hand-off ended and the leave was announced. */
  | { type: 'stopped' }
  /** The machines kept producing effects past MAX_PUMP_ROUNDS; the rest waits for the next input. */
  | { type: 'pump-overflow'; rounds: number };

export interface HostCoreInit {
  selfId: NodeId;
  membership: Membership;
  election: Election<unknown, unknown> | null;
  nowMs: number;
  /** `cluster.bootstrapExpect`: reported while the protocol runs no election (observer); a switch counts at least this many members. */
  bootstrapExpect: number;
  /** First value of the leader revision (the daemon passes wall-clock ms, so a restart never repeats one). */
  revisionBase: number;
  /**
   * The node's protocol era as stored, and the protocol it asks for (host/switch.ts); the
   * election runs the era's protocol. Absent: era 0, asking for the election's protocol.
   */
  era?: { era: number; requested: ProtocolName; tokenFloor?: number };
  /** Builds machines for a live switch; absent (and for a machine without carryOver): this node never switches. */
  factory?: ElectionFactory;
}

/** running → handing-off (a leader hands over, bounded) → leaving (announcements) → left (`stopped` queued) → stopped. */
type ShutdownStage = 'running' | 'handing-off' | 'leaving' | 'left' | 'stopped';

interface PendingCommand {
  command: LeadershipCommand;
  deadlineMs: number;
  /** Its timeout was answered (perhaps not yet released); the machine's own answer is then dropped. */
  answered: boolean;
}

/** What `conclave status` shows of the protocol: the cluster's (this node's) era and any switch under way. */
export interface ProtocolStatus {
  running: ProtocolName;
  era: number;
  requested: ProtocolName;
  /** A switch this node holds: to which protocol, and how many members hold it of how many needed. */
  switch: { to: ProtocolName; holding: number; known: number; needed: number } | null;
  /** A switch an operator ordered here, not yet carried out. */
  ordered: ProtocolName | null;
}

/** Steps of the switch logic one input may take (adopt, then acknowledge, …); more would be a loop. */
const MAX_SWITCH_STEPS = 4;

export class HostCore {
  private readonly membership: Membership;
  private election: Election<unknown, unknown> | null;
  private readonly factory: ElectionFactory | null;
  private readonly eraState: EraState;
  /** The era record's token floor (switch.ts EraRecord): raised at every live switch, written with the era. */
  private eraTokenFloor: number;
  /** What this node last gossiped as `formed` (gossipFormed); null: nothing yet. */
  private formedGossiped: boolean | null = null;
  /** Machines switched out in this process, by protocol: what a switch back starts from. */
  private readonly retired = new Map<ProtocolName, ElectionImage>();
  /** `order-protocol` inputs waiting for this node to run their protocol: id → protocol and deadline. */
  private readonly pendingOrders = new Map<number, { protocol: ProtocolName; deadlineMs: number }>();
  /** Orders carried out whose answer waits for the era write. */
  private readonly orderResults = new Set<number>();
  private readonly startedAtMs: number;
  private nowMs: number;
  /** Which outputs wait for which writes (persist-before-send). */
  private readonly writes = new PersistOrder<HostOutput>();
  private out: HostOutput[] = [];
  /** The summary as last diffed from the machine (may not be released yet). */
  private machineSummary: ElectionSummary;
  /** The summary whose change was released: what this node reports. */
  private reported: ElectionSummary;
  private revisionNow: number;
  private leaderlessSinceMs: number | null;
  private leaderlessTotalMs = 0;
  private leaderSinceMs: number | null = null;
  private nextBootstrapWarnMs: number;
  private readonly pending = new Map<number, PendingCommand>();
  /** Key-value requests the election has not answered, and when each times out. */
  private readonly pendingKv = new Map<number, number>();
  private stage: ShutdownStage = 'running';
  private handoffDeadlineMs = Infinity;
  private pumping = false;

  constructor(init: HostCoreInit) {
    this.membership = init.membership;
    this.election = init.election;
    this.factory = init.factory ?? null;
    const protocol = init.election?.protocol ?? 'bully';
    this.eraState = { era: init.era?.era ?? 0, protocol, requested: init.era?.requested ?? protocol, switchTo: null, order: null };
    this.eraTokenFloor = init.era?.tokenFloor ?? 0;
    this.startedAtMs = init.nowMs;
    this.nowMs = init.nowMs;
    this.selfIdValue = init.selfId;
    this.bootstrapExpect = init.bootstrapExpect;
    this.machineSummary = this.election ? { ...this.election.summary(init.nowMs) } : { ...OBSERVER_SUMMARY };
    this.reported = { ...this.machineSummary };
    this.revisionNow = init.revisionBase;
    this.leaderlessSinceMs = this.election && this.reported.leader === null ? init.nowMs : null;
    this.nextBootstrapWarnMs = this.election ? init.nowMs + BOOTSTRAP_WARN_AFTER_MS : Infinity;
    // The election learns the membership view on every change, but a node alone sees no change:
    // it is told the view it starts with (its effects leave with the first input's outputs).
    this.election?.step({ type: 'members', nowMs: init.nowMs, members: electionMembers(this.membership.members()) });
    if (this.election && this.factory) this.membership.step({ type: 'update-self', nowMs: init.nowMs, meta: this.eraMeta() });
    if (this.election) this.gossipFormed();
  }

  /** Gossips whether the machine belongs to a formed cluster (Election.formed) when that changed; bootstrap rules read it. */
  private gossipFormed(): void {
    const formed = this.election?.formed?.();
    if (formed === undefined || formed === this.formedGossiped) return;
    this.formedGossiped = formed;
    this.membership.step({ type: 'update-self', nowMs: this.nowMs, meta: { formed } });
  }

  /** The protocol fields this node gossips (membership/types.ts MemberMeta): its era state, whole. */
  private eraMeta(): EraState {
    return { ...this.eraState };
  }

  /** The protocol this node runs now. */
  get runningProtocol(): ProtocolName {
    return this.eraState.protocol;
  }

  protocolStatus(): ProtocolStatus {
    const e = this.eraState;
    return { running: e.protocol, era: e.era, requested: e.requested, switch: switchProgress(e, this.membership.members(), this.summary(this.nowMs), this.bootstrapExpect), ordered: e.order };
  }

  private readonly selfIdValue: NodeId;
  private readonly bootstrapExpect: number;

  get selfId(): NodeId {
    return this.selfIdValue;
  }

  get hasElection(): boolean {
    return this.election !== null;
  }

  /** Changes with every released change of the summary: what a long-poll waits on. */
  get revision(): number {
    return this.revisionNow;
  }

  get stopped(): boolean {
    return this.stage === 'stopped';
  }

  /**
   * What this node reports at `nowMs`: the released summary, except that a leadership whose lease
   * has run out since the last step is not reported (the lease contract holds between ticks).
   */
  summary(nowMs: number): ElectionSummary {
    const r = this.reported;
    if (r.leader === null || !this.election) return { ...r };
    // The machine's own view now: a lease (ours, or the one a named leader proved) may have run
    // out since the last step, or while a change waits for the disk. What lapsed is not reported.
    const now = this.election.summary(nowMs);
    if (r.role === 'leader') return now.role === 'leader' && now.term === r.term ? { ...r } : { role: 'follower', term: r.term, leader: null, fencingToken: r.fencingToken };
    // The same leader in another term is another leadership: a naming released late (behind a
    // slow write) must not pass for the one the machine holds now.
    return now.leader === r.leader && now.term === r.term ? { ...r } : { ...r, leader: null };
  }

  status(nowMs: number): ElectionStatus {
    if (this.election) {
      const status = this.election.status(nowMs);
      // No lease is reported while the leadership it belongs to is not reported (not yet durable).
      return this.summary(nowMs).role === 'leader' ? status : { ...status, leaseRemainingMs: null };
    }
    const seen = this.membership.members().filter((m) => m.state !== 'left').length;
    return { leaseRemainingMs: null, bootstrap: { expect: this.bootstrapExpect, seen, complete: false } };
  }

  /** When the reported leader last changed (host ms), for "leader for 42 s"; null without one. */
  get leaderSince(): number | null {
    return this.leaderSinceMs;
  }

  /** Time without a leader so far, the current leaderless period included. */
  leaderlessMs(nowMs: number): number {
    return this.leaderlessTotalMs + (this.leaderlessSinceMs === null ? 0 : Math.max(0, nowMs - this.leaderlessSinceMs));
  }

  members(): Member[] {
    return this.membership.members();
  }

  member(id: NodeId): Member | undefined {
    return this.membership.member(id);
  }

  health(): number {
    return this.membership.health();
  }

  nodeRef(id: NodeId): NodeRef;
  nodeRef(id: NodeId | null): NodeRef | null;
  nodeRef(id: NodeId | null): NodeRef | null {
    if (id === null) return null;
    return { id, name: this.membership.member(id)?.name ?? id };
  }

  memberView(member: Member, nowMs: number): MemberView {
    return {
      id: member.id,
      name: member.name,
      addrs: [...member.addrs],
      state: member.state,
      incarnation: member.incarnation,
      lastSeenMs: member.self ? 0 : Math.max(0, Math.round(nowMs - member.lastHeardMs)),
      self: member.self,
      protocol: member.protocol,
      era: member.era,
      requested: member.requested,
      switchTo: member.switchTo,
      role: member.role,
      term: member.term,
      leader: member.leader,
      priority: member.priority,
      version: member.version,
      raftWire: member.raftWire ?? 1,
    };
  }

  /** The earliest host time at which a tick can change anything; Infinity when nothing is due. */
  /** How long a command may wait for its machine: COMMAND_TIMEOUT_MS, or the machine's own bound when longer. */
  private commandTimeoutMs(): number {
    return Math.max(COMMAND_TIMEOUT_MS, this.election?.commandTimeoutMs?.() ?? 0);
  }

  deadline(): number {
    if (this.stage === 'left' || this.stage === 'stopped') return Infinity;
    let at = Math.min(this.membership.deadline(), this.nextBootstrapWarnMs, this.handoffDeadlineMs);
    if (this.election) at = Math.min(at, this.election.deadline());
    for (const p of this.pending.values()) if (!p.answered) at = Math.min(at, p.deadlineMs);
    for (const deadlineMs of this.pendingKv.values()) at = Math.min(at, deadlineMs);
    for (const o of this.pendingOrders.values()) at = Math.min(at, o.deadlineMs);
    return at;
  }

  /** Applies one input; returns everything it released, in order. */
  step(input: HostInput): HostOutput[] {
    if (this.pumping) throw new Error('HostCore.step re-entered from an output handler');
    this.pumping = true;
    try {
      this.nowMs = Math.max(this.nowMs, input.nowMs);
      if (this.stage === 'stopped' && input.type !== 'persisted') {
        if (input.type === 'command') this.out.push({ type: 'command-result', id: input.id, result: shuttingDown() });
        if (input.type === 'kv') this.out.push({ type: 'kv-answer', id: input.id, answer: kvRequestError('shutting-down', 'the daemon is shutting down') });
      } else {
        this.apply(input);
        this.pump();
        this.followEra();
      }
      const out = this.out;
      this.out = [];
      return out;
    } finally {
      this.pumping = false;
    }
  }

  private apply(input: HostInput): void {
    const nowMs = this.nowMs;
    switch (input.type) {
      case 'tick':
        this.membership.step({ type: 'tick', nowMs, localLagMs: input.lagMs });
        this.election?.step({ type: 'tick', nowMs });
        this.expireCommands(nowMs);
        this.expireOrders(nowMs);
        if (this.stage === 'handing-off' && nowMs >= this.handoffDeadlineMs) this.leave();
        if (nowMs >= this.nextBootstrapWarnMs) this.checkBootstrap(nowMs);
        return;
      case 'heartbeat':
        this.membership.step({ type: 'heartbeat', nowMs, from: input.from, heartbeat: input.heartbeat });
        return;
      case 'message':
        if (!this.election) this.emit('election', { type: 'refused', from: input.from, reason: 'no-election', detail: 'this node runs no election protocol' });
        else if (input.protocol === undefined || input.protocol === this.election.protocol) this.election.step({ type: 'message', nowMs, from: input.from, message: input.message });
        return;
      case 'request-protocol':
        if (input.protocol === this.eraState.requested) return;
        this.eraState.requested = input.protocol;
        this.persistEra();
        return this.gossipEra();
      case 'order-protocol':
        return this.order(input.id, input.protocol);
      case 'connection-closed':
        this.membership.step({ type: 'connection-closed', nowMs, peer: input.peer });
        return;
      case 'membership-timings':
        this.membership.step({ type: 'set-timings', nowMs, timings: input.timings });
        return;
      case 'command':
        if (!this.election || this.stage !== 'running') {
          this.out.push({ type: 'command-result', id: input.id, result: this.election ? shuttingDown() : noElection() });
          return;
        }
        this.pending.set(input.id, { command: input.command, deadlineMs: nowMs + this.commandTimeoutMs(), answered: false });
        this.election.step({ type: 'command', nowMs, id: input.id, command: input.command });
        return;
      case 'kv':
        if (!this.election?.keepsStore) {
          this.out.push({ type: 'kv-answer', id: input.id, answer: kvRequestError('not-raft', 'the key-value store needs protocol: raft') });
          return;
        }
        if (this.stage !== 'running') {
          this.out.push({ type: 'kv-answer', id: input.id, answer: kvRequestError('shutting-down', 'the daemon is shutting down') });
          return;
        }
        this.pendingKv.set(input.id, nowMs + this.commandTimeoutMs());
        this.election.step({ type: 'kv', nowMs, id: input.id, request: input.request });
        return;
      case 'shutdown':
        if (this.stage !== 'running') return;
        if (!this.election) return this.leave();
        this.stage = 'handing-off';
        this.handoffDeadlineMs = nowMs + SHUTDOWN_HANDOFF_MAX_MS;
        this.election.step({ type: 'shutdown', nowMs });
        return;
      case 'persisted': {
        const { ready, electionDurable } = this.writes.acknowledgeThrough(input.id);
        // In order, per machine: an output waits only for writes before it, which come back in order.
        for (const output of ready) this.deliver(output);
        // The election learns which of its writes are durable (after what waited on them left).
        if (electionDurable > 0 && this.stage !== 'stopped') this.election?.step({ type: 'durable', nowMs, persists: electionDurable });
        return;
      }
    }
  }

  /**
   * Queues an output of `source`: released at once unless a persist that machine asked for
   * before it is not yet on disk. Each machine waits only for its own writes: a heartbeat does
   * not wait for an election write it has nothing of (the summary it gossips is the released
   * one), so a slow election fsync cannot make this node look dead.
   */
  private emit(source: WriteSource | 'both', output: HostOutput): void {
    if (!this.writes.hold(source, output)) this.deliver(output);
  }

  private persist(source: WriteSource, batch: NodeBatch, deferrable = false): void {
    const id = this.writes.write(source);
    // Tagged where machines can change (a factory): each protocol's state is kept apart.
    if (source === 'election' && this.election && this.factory) batch.electionProtocol = this.election.protocol;
    // Handed out at once: the disk may write it together with earlier ones (group commit).
    this.out.push(deferrable ? { type: 'persist', id, batch, deferrable } : { type: 'persist', id, batch });
  }

  /** An output leaves the core. A summary change takes effect here: reported, events, gossiped. */
  private deliver(output: HostOutput): void {
    if (output.type === 'summary') return this.applySummary(output.to);
    if (output.type === 'stopped') this.stage = 'stopped';
    // Answered already (timed out): the machine's late answer is dropped.
    if (output.type === 'kv-answer' && !this.pendingKv.delete(output.id)) return;
    if (output.type === 'command-result' && this.orderResults.delete(output.id)) {
      this.out.push(output);
      return;
    }
    if (output.type === 'command-result') {
      const pending = this.pending.get(output.id);
      if (!pending) return; // answered already (timed out)
      this.pending.delete(output.id);
      // Forgotten by the election: this node's membership drops its dead entry now as well.
      if (output.result.ok && pending.command.kind === 'forget') this.membership.step({ type: 'forget', nowMs: this.nowMs, id: pending.command.id });
    }
    this.out.push(output);
  }

  private pump(): void {
    for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
      let busy = false;
      let membersChanged = false;
      for (const effect of this.membership.drain()) {
        busy = true;
        switch (effect.type) {
          case 'publish':
            this.emit('membership', { type: 'publish', heartbeat: effect.heartbeat, to: effect.to });
            break;
          case 'persist':
            this.persist('membership', { incarnation: effect.incarnation });
            break;
          case 'leave-done':
            if (this.stage === 'leaving') this.finishStop();
            break;
          case 'event':
            membersChanged = this.onMembershipEvent(effect.event) || membersChanged;
            break;
        }
      }
      if (membersChanged) {
        const peers = this.membership
          .members()
          .flatMap((m) => (m.self || m.state === 'left' ? [] : [{ id: m.id, addrs: [...m.addrs], state: m.state }]));
        this.emit('membership', { type: 'peers', peers });
        this.election?.step({ type: 'members', nowMs: this.nowMs, members: electionMembers(this.membership.members()) });
      }
      if (this.election) {
        const effects = this.election.drain();
        if (effects.length > 0) busy = true;
        // What a drain reports (election events, the summary) describes the state it persisted,
        // so it follows every persist of that drain; messages keep their place.
        for (const effect of effects) if (!isReport(effect)) this.onElectionEffect(effect);
        for (const effect of effects) if (isReport(effect)) this.onElectionEffect(effect);
        this.diffSummary();
      }
      if (!busy) return;
    }
    this.emit('both', { type: 'pump-overflow', rounds: MAX_PUMP_ROUNDS });
  }

  /** Membership events become node events; true when the members' view changed. */
  private onMembershipEvent(event: MembershipEvent): boolean {
    switch (event.type) {
      case 'member-joined':
      case 'member-updated':
        this.emit('membership', { type: 'event', event: { type: event.type, member: this.memberView(event.member, this.nowMs) } });
        return true;
      case 'refuted':
        this.emit('membership', { type: 'event', event });
        return false;
      case 'accusation-ignored':
        this.emit('membership', { type: 'refused', from: event.by, reason: 'impossible-incarnation', detail: `an accusation of incarnation ${event.incarnation}, above this node's own` });
        return false;
      default:
        this.emit('membership', { type: 'event', event });
        return true;
    }
  }

  private onElectionEffect(effect: ElectionEffect<unknown, unknown>): void {
    switch (effect.type) {
      case 'persist':
        this.persist('election', { election: effect.batch }, effect.deferrable === true);
        return;
      case 'send':
        // A parallel send needs none of the writes before it (ElectionEffect): it leaves now.
        if (effect.parallel) this.deliver({ type: 'send', to: effect.to, message: effect.message, protocol: this.election!.protocol });
        else this.emit('election', { type: 'send', to: effect.to, message: effect.message, protocol: this.election!.protocol });
        return;
      case 'election-started':
        this.emit('election', { type: 'event', event: { type: 'election-started', term: effect.term, reason: effect.reason } });
        return;
      case 'election-finished':
        this.emit('election', { type: 'event', event: { type: 'election-finished', term: effect.term, result: effect.result, durationMs: effect.durationMs } });
        return;
      case 'stepped-down':
        this.emit('election', { type: 'event', event: { type: 'stepped-down', term: effect.term, reason: effect.reason } });
        return;
      case 'configuration-changed':
        this.emit('election', { type: 'event', event: { type: 'configuration-changed', index: effect.index, voters: effect.voters.map((id) => this.nodeRef(id)), learners: effect.learners.map((id) => this.nodeRef(id)) } });
        return;
      case 'snapshot':
        this.emit('election', { type: 'event', event: { type: 'raft-snapshot', action: effect.action, index: effect.index, term: effect.term, peer: this.nodeRef(effect.peer) } });
        return;
      case 'heartbeat-late':
        this.emit('election', { type: 'event', event: { type: 'heartbeat-late', lateMs: effect.lateMs } });
        return;
      case 'command-result':
        this.emit('election', { type: 'command-result', id: effect.id, result: effect.result });
        return;
      case 'kv-answer':
        this.deliver({ type: 'kv-answer', id: effect.id, answer: effect.answer });
        return;
      case 'kv-events':
        this.out.push({ type: 'kv-events', events: effect.events });
        return;
      case 'refused':
        this.emit('election', { type: 'refused', from: effect.from, reason: effect.reason, detail: effect.detail });
        return;
      case 'shutdown-ready': {
        if (this.stage !== 'handing-off') return;
        const successor = this.election!.summary(this.nowMs).leader;
        if (successor !== null && successor !== this.selfId) this.handoffDeadlineMs = Math.min(this.handoffDeadlineMs, this.nowMs + LEAVE_AFTER_HANDOFF_MS);
        else this.leave();
        return;
      }
    }
  }

  /** Diffs the machine's summary; a change is released (reported) in order with the outputs before it. */
  private diffSummary(): void {
    this.gossipFormed();
    const next = this.election!.summary(this.nowMs);
    const prev = this.machineSummary;
    if (sameSummary(next, prev)) return;
    this.machineSummary = { ...next };
    this.emit('election', { type: 'summary', from: prev, to: { ...next } });
  }

  private applySummary(next: ElectionSummary): void {
    const prev = this.reported;
    if (sameSummary(next, prev)) return;
    const nowMs = this.nowMs;
    this.reported = { ...next };
    this.revisionNow++;
    if (next.term !== prev.term) this.out.push({ type: 'event', event: { type: 'term-changed', from: prev.term, to: next.term } });
    if (next.role !== prev.role) this.out.push({ type: 'event', event: { type: 'role-changed', from: prev.role, to: next.role, term: next.term } });
    if (next.leader !== prev.leader) {
      let leaderlessMs = 0;
      if (next.leader === null) {
        this.leaderlessSinceMs = nowMs;
      } else if (this.leaderlessSinceMs !== null) {
        leaderlessMs = Math.round(nowMs - this.leaderlessSinceMs);
        this.leaderlessTotalMs += leaderlessMs;
        this.leaderlessSinceMs = null;
      }
      this.leaderSinceMs = next.leader === null ? null : nowMs;
      this.out.push({
        type: 'event',
        event: { type: 'leader-changed', from: this.nodeRef(prev.leader), to: this.nodeRef(next.leader), term: next.term, fencingToken: next.fencingToken, leaderlessMs },
      });
    }
    this.out.push({ type: 'summary', from: prev, to: { ...next } });
    // Gossip carries what this node reports, never more.
    this.membership.step({ type: 'update-self', nowMs, meta: { ...next } });
  }

  private expireCommands(nowMs: number): void {
    for (const [id, p] of this.pending) {
      if (p.answered || nowMs < p.deadlineMs) continue;
      p.answered = true;
      this.emit('election', { type: 'command-result', id, result: { ok: false, code: 'timeout', message: `no result within ${this.commandTimeoutMs()} ms` } });
    }
    for (const [id, deadlineMs] of this.pendingKv) {
      if (nowMs < deadlineMs) continue;
      this.pendingKv.delete(id);
      this.out.push({ type: 'kv-answer', id, answer: kvRequestError('timeout', `no answer within ${this.commandTimeoutMs()} ms; a write may still be applied`) });
    }
  }

  private leave(): void {
    this.stage = 'leaving';
    this.handoffDeadlineMs = Infinity;
    this.membership.step({ type: 'leave', nowMs: this.nowMs });
  }

  private finishStop(): void {
    this.stage = 'left';
    for (const [id, p] of this.pending) {
      if (p.answered) continue;
      p.answered = true;
      this.emit('election', { type: 'command-result', id, result: shuttingDown() });
    }
    for (const id of this.pendingKv.keys()) this.out.push({ type: 'kv-answer', id, answer: kvRequestError('shutting-down', 'the daemon is shutting down; a write may still be applied') });
    this.pendingKv.clear();
    // Delivered like any output, so it follows the last leave heartbeat it was waiting for.
    this.emit('both', { type: 'stopped' });
  }

  // ---- protocol eras (switch.ts) ----

  /** Whether this node can switch machines at all (a factory, and a machine that says what it obliges). */
  private get switchable(): boolean {
    return this.factory !== null && this.election?.carryOver !== undefined && this.election.durableImage !== undefined;
  }

  /** Takes the steps switch.ts asks for after an input, until there are none. */
  private followEra(): void {
    if (this.stage !== 'running' || !this.switchable) return;
    for (let i = 0; i < MAX_SWITCH_STEPS; i++) {
      const now = this.summary(this.nowMs);
      const members = this.membership.membersView?.() ?? this.membership.members();
      const step = nextSwitchStep(this.eraState, now, members, this.bootstrapExpect);
      if (step === null) return;
      this.takeSwitchStep(step);
      this.pump();
    }
  }

  private takeSwitchStep(step: SwitchStep): void {
    const e = this.eraState;
    switch (step.kind) {
      case 'adopt':
        // A node that was part of a cluster takes its decision as its own request too, so that
        // an unchanged config does not ask to switch back; a fresh node keeps asking for its own.
        if (e.era > 0) e.requested = step.protocol;
        return this.enterEra(step.era, step.protocol, 'adopted');
      case 'settle':
        return this.enterEra(1, e.protocol, 'agreed');
      case 'announce':
        e.switchTo = step.protocol;
        this.emit('both', { type: 'event', event: { type: 'protocol-switch-started', to: step.protocol, era: e.era + 1, why: step.why } });
        return this.gossipEra();
      case 'acknowledge':
        e.switchTo = step.protocol;
        return this.gossipEra();
      case 'commit':
        e.requested = step.protocol;
        return this.enterEra(e.era + 1, step.protocol, 'agreed');
    }
  }

  /** Runs `protocol` in `era`: the era is written first, then a new machine takes over if the protocol changes. */
  private enterEra(era: number, protocol: ProtocolName, how: 'agreed' | 'adopted'): void {
    const e = this.eraState;
    const from = e.protocol;
    e.era = era;
    e.protocol = protocol;
    e.switchTo = null;
    // An order stands until the cluster runs what it asked for (an era change alone, say a settle, does not carry it out).
    if (e.order === protocol) e.order = null;
    // What the old machine obliges the new one to is on disk with the era, before the new one reports a token.
    const carry = protocol !== from ? this.election!.carryOver!(this.nowMs) : null;
    if (carry) this.eraTokenFloor = Math.max(this.eraTokenFloor, carry.tokenFloor);
    this.persistEra();
    if (carry) this.replaceMachine(from, protocol, how, carry);
    this.gossipEra();
    for (const [id, o] of this.pendingOrders) {
      if (o.protocol !== protocol) continue;
      this.pendingOrders.delete(id);
      // Held like the rest: answered once the era is on disk.
      this.orderResults.add(id);
      this.emit('both', { type: 'command-result', id, result: { ok: true, detail: `the cluster switched to ${protocol} (era ${era})` } });
    }
  }

  /**
   * The live switch at this node: the old machine stops (what it promised and the highest token
   * it saw carry over, ../carry-over.ts), and a machine of `to` starts under that. Nothing the
   * new one says leaves before the era record is on disk (persistEra just queued it); what the
   * old one had not reported yet is never reported.
   */
  private replaceMachine(from: ProtocolName, to: ProtocolName, how: 'agreed' | 'adopted', carry: CarryOver): void {
    const old = this.election!;
    this.retired.set(from, old.durableImage!());
    const next = this.factory!(to, carry, this.retired.get(to) ?? null, this.nowMs);
    this.election = next;
    // The old machine's writes still complete in order, but it learns nothing more of them; a
    // change of its summary not yet released is dropped: it no longer runs.
    this.writes.replaceElection((output) => output.type !== 'summary');
    this.machineSummary = { ...this.reported };
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (!p.answered) this.out.push({ type: 'command-result', id, result: { ok: false, code: 'protocol-switched', message: `the cluster switched from ${from} to ${to} meanwhile; ask again` } });
    }
    for (const id of this.pendingKv.keys()) this.out.push({ type: 'kv-answer', id, answer: kvRequestError('timeout', `the cluster switched from ${from} to ${to}; a write may still be applied`) });
    this.pendingKv.clear();
    this.emit('both', { type: 'event', event: { type: 'protocol-switched', from, to, era: this.eraState.era, how, tokenFloor: carry.tokenFloor, carriedLeader: this.nodeRef(carry.leaseTo) } });
    next.step({ type: 'members', nowMs: this.nowMs, members: electionMembers(this.membership.members()) });
  }

  private persistEra(): void {
    const e = this.eraState;
    // Everything the election says after it waits for it (the new machine's first token rests on
    // the floor it holds). Heartbeats do not: one that tells of an era not yet on disk misleads no
    // one (a node that restarts in the older era adopts the newer one from its peers), and one held
    // behind a slow fsync would make this node look dead (switch seed 7901).
    const id = this.writes.write('election', false);
    const tokenFloor = this.eraTokenFloor > 0 ? { tokenFloor: this.eraTokenFloor } : {};
    this.out.push({ type: 'persist', id, batch: { era: { era: e.era, protocol: e.protocol, requested: e.requested, ...tokenFloor } } });
  }

  /** At once, with whether the machine (perhaps a new one) belongs to a formed cluster: every step of a switch waits for the next node to hear of it. */
  private gossipEra(): void {
    this.gossipFormed();
    this.membership.step({ type: 'update-self', nowMs: this.nowMs, meta: this.eraMeta(), urgent: true });
  }

  /** An operator's order: this node asks for `protocol` and says it was ordered, so the leader switches the cluster. */
  private order(id: number, protocol: ProtocolName): void {
    const e = this.eraState;
    if (!this.election || this.stage !== 'running') {
      this.out.push({ type: 'command-result', id, result: this.election ? shuttingDown() : noElection() });
      return;
    }
    if (!this.switchable) {
      this.out.push({ type: 'command-result', id, result: { ok: false, code: 'unsupported', message: 'this node cannot switch protocols live' } });
      return;
    }
    if (e.protocol === protocol) {
      this.out.push({ type: 'command-result', id, result: { ok: true, detail: `the cluster already runs ${protocol} (era ${e.era})` } });
      return;
    }
    e.order = protocol;
    if (e.requested !== protocol) {
      e.requested = protocol;
      this.persistEra();
    }
    this.gossipEra();
    this.pendingOrders.set(id, { protocol, deadlineMs: this.nowMs + this.commandTimeoutMs() });
  }

  private expireOrders(nowMs: number): void {
    for (const [id, o] of this.pendingOrders) {
      if (nowMs < o.deadlineMs) continue;
      this.pendingOrders.delete(id);
      const leader = this.summary(nowMs).leader;
      const why = leader === null ? 'no leader is known to carry it out' : 'the leader has not switched the cluster yet';
      this.out.push({ type: 'command-result', id, result: { ok: false, code: 'timeout', message: `ordered, but ${why} within ${this.commandTimeoutMs()} ms; the order stands (conclave status shows the switch)` } });
    }
  }

  private checkBootstrap(nowMs: number): void {
    this.nextBootstrapWarnMs = nowMs + BOOTSTRAP_WARN_EVERY_MS;
    const { bootstrap } = this.status(nowMs);
    if (bootstrap.complete) {
      this.nextBootstrapWarnMs = Infinity;
      return;
    }
    this.emit('election', { type: 'bootstrap-waiting', seen: bootstrap.seen, expect: bootstrap.expect, waitingMs: nowMs - this.startedAtMs });
  }
}

function isReport(effect: ElectionEffect<unknown, unknown>): boolean {
  switch (effect.type) {
    case 'election-started':
    case 'election-finished':
    case 'stepped-down':
    case 'configuration-changed':
    case 'snapshot':
    case 'heartbeat-late':
      return true;
    default:
      return false;
  }
}

function sameSummary(a: ElectionSummary, b: ElectionSummary): boolean {
  return a.role === b.role && a.term === b.term && a.leader === b.leader && a.fencingToken === b.fencingToken;
}

function shuttingDown(): CommandResult {
  return { ok: false, code: 'shutting-down', message: 'the daemon is shutting down' };
}

function noElection(): CommandResult {
  return { ok: false, code: 'no-election', message: 'this node runs no election protocol' };
}
