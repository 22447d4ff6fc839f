/**
 * The membership and failure-detection machine: SWIM states and incarnations with Lifeguard's
 * suspicion timeouts and local health (memberlist's state.go, suspicion.go, awareness.go), over
 * heartbeats. In a small cluster every node heartbeats to every node and watches every node. In a
 * larger one (more than OBSERVERS_PER_MEMBER others) each node is watched by a fixed number of
 * observers, its successors in id order (Rapid's monitoring rings): its routine heartbeats go to
 * them, only they suspect it for silence, and a suspicion they raise is news, sent to everyone,
 * who adopt it (SWIM's suspect message) and run their own Lifeguard timers on it. So the load on a
 * node stays constant as the cluster grows, and detection takes the same time. Pure: time arrives
 * in inputs, effects leave through drain(). See DESIGN.md section 4.
 */
import { MAX_COUNTER, MAX_MEMBERS } from '../bounds.js';
import type { NodeId, ProtocolName } from '../types.js';
import {
  expectedConfirmations,
  healthAt,
  isLocalStall,
  raiseHealth,
  leaveAnnounceGapMs,
  selfChangePublishDelayMs,
  stretchedTimeoutEndMs,
  suspicionTimeoutMs,
  type HealthPeak,
} from './formulas.js';
import { applyMeta, copyMember, copyMeta } from './meta.js';
import { LiveRing, ProbeRound, compareIds, sameObservers, watches } from './ring.js';
import { membershipTimingProblems } from './timings.js';
import type {
  Heartbeat,
  IncarnationRef,
  Member,
  MemberMeta,
  MembershipEffect,
  MembershipEvent,
  MembershipInput,
  MembershipTimings,
  SuspectReason,
} from './types.js';

/** Bound on the `suspects`, `dead` and `left` lists of one heartbeat (the codec rejects longer ones). */
export const MAX_GOSSIPED_REFS = 64;

/**
 * How many members watch each member once the cluster has more than this many others; below,
 * everyone watches everyone. Five: a failure is still suspected independently by five nodes, more
 * than the confirmations Lifeguard waits for (MAX_EXPECTED_CONFIRMATIONS), so a dead member's
 * suspicion runs its shortest timeout everywhere, and a node sends five routine heartbeats an
 * interval whatever the cluster's size.
 */
export const OBSERVERS_PER_MEMBER = 5;

/**
 * A member this node does not watch is suspected once this many members gossip a suspicion (or
 * death) of its current life: never on one member's word. One overloaded node that suspects
 * everyone it watches, or one that just cut its connections to a member it declared dead, must
 * not make the whole cluster suspect and declare live members dead (it did, at 25 daemons on
 * one busy machine). A real failure is suspected by all of its observers within milliseconds.
 */
export const ADOPT_AFTER_ACCUSERS = 2;

/**
 * Leaving heartbeats sent on a graceful leave (the first at once, then one every
 * leaveAnnounceGapMs): one lost copy must not turn a leave into a death.
 */
export const LEAVE_ANNOUNCEMENTS = 3;

export interface MembershipInit {
  cluster: string;
  selfId: NodeId;
  selfMeta: MemberMeta;
  /** The host passes wall-clock seconds at boot, so a restart outranks the old life. */
  initialIncarnation: number;
  timings: MembershipTimings;
  nowMs: number;
  /**
   * Observers per member once the cluster is larger (OBSERVERS_PER_MEMBER by default). Infinity:
   * everyone watches everyone at any size, the design before observers (the scale simulator's
   * baseline).
   */
  observersPerMember?: number;
}

export interface Membership {
  step(input: MembershipInput): void;
  drain(): MembershipEffect[];
  /** Self included, sorted by id; fresh copies. */
  members(): Member[];
  member(id: NodeId): Member | undefined;
  /**
   * members() without copies, for a host that reads the view after every step (the simulator's
   * invariants): the same members in the same order, each peer the machine's own record and self
   * built without copying its meta. Current only until the next step: read it, never keep or
   * modify it. Optional, so wrappers that alter the view fall back to members().
   */
  membersView?(): readonly Readonly<Member>[];
  self(): Member;
  /** Lifeguard's local-health multiplier on this node's timeouts: 1 when healthy, up to maxHealthMultiplier. */
  health(): number;
  /**
   * The earliest time (the host's ms) at which a `tick` can change anything: the next heartbeat or
   * leave announcement, a change of own meta to gossip, a member silent long enough to suspect, a
   * suspicion running out, a dead or departed member to forget; Infinity when nothing is due. The
   * host ticks then instead of periodically. A tick before it without lag changes nothing (effects,
   * view, later timing); lag may raise health, which only moves it later. Timeouts stretched by
   * health are solved on health's decay curve, so the moment is exact: never later than a tick
   * would act, though health falls between ticks. Ask after drain(): an undrained heartbeat keeps
   * the old heartbeat time. One pass over the members.
   */
  deadline(): number;
}

interface Suspicion {
  /** The incarnation suspected; confirmations must name it or a newer one. */
  incarnation: number;
  /** When the suspicion began, for `suspectedForMs`. */
  startedMs: number;
  /** Start of the suspicion timer, moved forward by this node's own stalls. */
  clockFromMs: number;
  /** Other nodes that gossiped this member as suspect or dead since the suspicion began. */
  confirmers: Set<NodeId>;
}

interface Peer {
  member: Member;
  lastSeq: number;
  /** Start of the silence clock: lastHeardMs moved forward by this node's own stalls. */
  silenceFromMs: number;
  suspicion: Suspicion | null;
  /**
   * Nodes that gossiped this member as suspect or dead while we still held it alive, with the
   * incarnation they named, since we last heard from it: confirmations the moment we suspect it
   * too. Nodes that lost the same heartbeats suspect within milliseconds of each other, and
   * without these the earliest suspecters' gossip, arriving just before our own suspicion, would
   * count for nothing until their next heartbeat an interval later.
   */
  accusers: Map<NodeId, number>;
  /** The foreign protocol last reported by `protocol-mismatch`, so each change is reported once. */
  reportedProtocol: ProtocolName | null;
  /**
   * This node watches the member: its last heartbeat named this node among its observers (or named
   * none: everyone watches it). Only a watched member is suspected for silence, and only a
   * suspicion of a watched member is news.
   */
  watched: boolean;
  /**
   * When this node probed the member (a routine heartbeat naming it in `probe`), if it has not
   * answered since: a member this node does not watch is suspected for silence when a probe goes
   * unanswered for suspectAfterMs (SWIM's direct probe). Null: no probe outstanding.
   */
  probeFromMs: number | null;
}

export function createMembership(init: MembershipInit): Membership {
  return new MembershipMachine(init);
}

class MembershipMachine implements Membership {
  private readonly cluster: string;
  private readonly selfId: NodeId;
  private readonly observersPerMember: number;
  private timings: MembershipTimings;
  private readonly peers = new Map<NodeId, Peer>();
  /**
   * The peers a tick may act on: watched alive ones (silence), and suspect, dead and departed ones
   * (their timers). deadline() and ticks look at these alone, so in a large cluster a step costs
   * the few members this node watches or suspects, not the whole view.
   */
  private readonly timed = new Set<Peer>();
  /** Peers with accusers (Peer.accusers), so a heartbeat's accusations are reconciled without a pass over the view. */
  private readonly accused = new Set<Peer>();
  /** Peers with `watched` set: when it is all of them, nothing is probed. */
  private watchedPeers = 0;
  /**
   * Peers whose last heartbeat named no observers: each watches every member it knows, so it
   * expects this node's routine heartbeats too (routineTargets).
   */
  private readonly watchingAll = new Set<Peer>();
  /** Bumped whenever a peer is added, forgotten or changes state; keys the sorted-id caches. */
  private viewVersion = 0;
  /** Self and the alive and suspect peers, by id, as they change (observers(), the live count). */
  private readonly ring: LiveRing;
  private notLeftIdsCache: { version: number; ids: NodeId[] } | null = null;
  private effects: MembershipEffect[] = [];
  private selfMeta: MemberMeta;
  private selfIncarnation: number;
  private selfState: 'alive' | 'left' = 'alive';
  private selfStateSinceMs: number;
  private seq = 0;
  private nowMs: number;
  /** The last step that proves this process ran (any input but a tick before deadline()); null before the first. */
  private lastRunMs: number | null = null;
  private healthPeak: HealthPeak;
  /** The first heartbeat is due at once. */
  private nextHeartbeatDueMs: number;
  private publishDue = false;
  /** The next heartbeat is news: it goes to every member, not only to this node's observers. */
  private newsDue = true;
  /** Members that joined or came back since the last heartbeat and need this node's (larger clusters). */
  private readonly welcome = new Set<NodeId>();
  /** SWIM's probe round (routineTargets). */
  private readonly probes: ProbeRound;
  /** Which member held dead routineTargets adds next. */
  private deadTurn = 0;
  /** The observers named in the last heartbeat: null, everyone. */
  private lastObservers: NodeId[] | null = null;
  /** The viewVersion at which observers() was last compared with lastObservers. */
  private observersCheckedVersion = 0;
  /** A change of own meta waits until then to be gossiped (see selfChangePublishDelayMs). */
  private selfChangePublishAtMs: number | null = null;
  private leaveAnnouncementsLeft = 0;
  private leaveDone = false;

  constructor(init: MembershipInit) {
    this.cluster = init.cluster;
    this.selfId = init.selfId;
    this.ring = new LiveRing(init.selfId);
    this.probes = new ProbeRound(init.selfId);
    this.observersPerMember = init.observersPerMember ?? OBSERVERS_PER_MEMBER;
    this.timings = { ...init.timings };
    this.selfMeta = copyMeta(init.selfMeta);
    this.selfIncarnation = init.initialIncarnation;
    this.selfStateSinceMs = init.nowMs;
    this.nowMs = init.nowMs;
    this.healthPeak = { multiplier: 1, atMs: init.nowMs };
    this.nextHeartbeatDueMs = init.nowMs;
  }

  step(input: MembershipInput): void {
    const dueMs = this.deadline();
    this.nowMs = input.nowMs;
    if (input.type !== 'tick' || input.nowMs >= dueMs) this.noteRun(input.nowMs, dueMs);
    switch (input.type) {
      case 'tick':
        return this.onTick(input.nowMs, input.localLagMs);
      case 'heartbeat':
        return this.onHeartbeat(input.nowMs, input.from, input.heartbeat);
      case 'connection-closed':
        return this.onConnectionClosed(input.nowMs, input.peer);
      case 'update-self':
        return this.onUpdateSelf(input.meta, input.urgent === true);
      case 'leave':
        return this.onLeave(input.nowMs);
      case 'forget':
        return this.onForget(input.id);
      case 'set-timings':
        return this.onSetTimings(input.timings);
    }
  }

  drain(): MembershipEffect[] {
    // Members that start or stop watching this node learn it now, not an interval later (they
    // would watch for nothing, or fail to watch, until then).
    if (this.selfState === 'alive' && this.observersCheckedVersion !== this.viewVersion) {
      this.observersCheckedVersion = this.viewVersion;
      if (!sameObservers(this.observers(), this.lastObservers)) this.publishDue = true;
    }
    if (this.publishDue) {
      const news = this.newsDue;
      this.publishDue = false;
      this.newsDue = false;
      const previousObservers = this.lastObservers;
      const heartbeat = this.buildHeartbeat();
      const to = news ? null : this.routineTargets(previousObservers);
      this.probeOne(heartbeat, to);
      this.effects.push({ type: 'publish', heartbeat, to });
      this.welcome.clear();
      if (this.selfState === 'left' && !this.leaveDone && (this.leaveAnnouncementsLeft === 0 || this.liveMemberCount() === 1)) {
        // The last announcement is out, or nobody alive is left to tell.
        this.leaveAnnouncementsLeft = 0;
        this.leaveDone = true;
        this.effects.push({ type: 'leave-done' });
      }
    }
    if (this.welcome.size > 0) {
      // A heartbeat for the newcomers alone, off the schedule: the observers' comes when due.
      if (this.selfState === 'alive') this.effects.push({ type: 'publish', heartbeat: this.heartbeatBody(false, this.lastObservers), to: [...this.welcome].sort(compareIds) });
      this.welcome.clear();
    }
    const out = this.effects;
    this.effects = [];
    return out;
  }

  members(): Member[] {
    const all = [this.self(), ...this.sortedPeers().map((p) => copyMember(p.member))];
    return all.sort((a, b) => compareIds(a.id, b.id));
  }

  membersView(): readonly Readonly<Member>[] {
    // Self shares the machine's own addrs here; members() and self() hand out copies.
    const self: Readonly<Member> = this.selfRecord(this.selfMeta.addrs);
    const all: Readonly<Member>[] = [self];
    for (const peer of this.peers.values()) all.push(peer.member);
    return all.sort((a, b) => compareIds(a.id, b.id));
  }

  member(id: NodeId): Member | undefined {
    if (id === this.selfId) return this.self();
    const peer = this.peers.get(id);
    return peer ? copyMember(peer.member) : undefined;
  }

  health(): number {
    return healthAt(this.healthPeak, this.nowMs);
  }

  deadline(): number {
    let dueMs = Number.POSITIVE_INFINITY;
    if (this.selfState === 'alive' || this.leaveAnnouncementsLeft > 0) {
      dueMs = Math.min(this.nextHeartbeatDueMs, this.selfChangePublishAtMs ?? Number.POSITIVE_INFINITY);
    }
    const expected = expectedConfirmations(this.liveMemberCount());
    for (const peer of this.timed) dueMs = Math.min(dueMs, this.peerDueMs(peer, expected));
    return dueMs;
  }

  self(): Member {
    return this.selfRecord([...this.selfMeta.addrs]);
  }

  /** Self as a member, with `addrs` as given. A plain literal: a spread of the meta is far slower on this hot path. */
  private selfRecord(addrs: string[]): Member {
    const meta = this.selfMeta;
    return {
      name: meta.name,
      addrs,
      protocol: meta.protocol,
      era: meta.era,
      requested: meta.requested,
      switchTo: meta.switchTo,
      order: meta.order,
      priority: meta.priority,
      version: meta.version,
      raftWire: meta.raftWire,
      role: meta.role,
      term: meta.term,
      leader: meta.leader,
      fencingToken: meta.fencingToken,
      id: this.selfId,
      state: this.selfState,
      suspectReason: null,
      incarnation: this.selfIncarnation,
      lastHeardMs: this.nowMs,
      stateSinceMs: this.selfStateSinceMs,
      self: true,
    };
  }


  /**
   * The moment a tick would act on `peer`: suspect it for silence, declare it dead when its
   * suspicion runs out, or forget it. Ticks and deadline() both ask here, so they agree exactly.
   */
  private peerDueMs(peer: Peer, expected: number): number {
    const { suspectAfterMs, suspicionMinMs, suspicionMaxMs } = this.timings;
    const member = peer.member;
    switch (member.state) {
      case 'alive':
        if (peer.watched) return stretchedTimeoutEndMs(peer.silenceFromMs, suspectAfterMs, this.healthPeak);
        return peer.probeFromMs === null ? Number.POSITIVE_INFINITY : stretchedTimeoutEndMs(peer.probeFromMs, suspectAfterMs, this.healthPeak);
      case 'suspect': {
        if (!peer.suspicion) return Number.POSITIVE_INFINITY;
        const timeoutMs = suspicionTimeoutMs(peer.suspicion.confirmers.size, expected, suspicionMinMs, suspicionMaxMs);
        return stretchedTimeoutEndMs(peer.suspicion.clockFromMs, timeoutMs, this.healthPeak);
      }
      case 'dead':
      case 'left':
        return this.forgetAtMs(member);
    }
  }

  private forgetAtMs(member: Member): number {
    return member.stateSinceMs + this.timings.forgetAfterMs;
  }

  /**
   * Stall detection. A step well past deadline() shows that the process was not running (SIGSTOP,
   * a blocked loop): its host would have ticked at the deadline. Then the gap since the last run
   * counts: silence accumulated in it is no evidence against anyone, and it is lag the host's meter
   * may not have reported yet, so timeouts widen for it. A running node's own heartbeat keeps its
   * deadline within an interval of its last heartbeat, so a host ticking only at deadlines still
   * reveals a stall by the gap, as the fixed 25 ms tick did; the lateness test keeps a long quiet
   * spell (a node that has left, nothing due for a minute) from passing for one. Ticks before the
   * deadline are not runs: counted, they would shrink the gap, and how often the host ticks would
   * change what a stall excuses.
   */
  private noteRun(nowMs: number, dueMs: number): void {
    const { heartbeatIntervalMs, maxHealthMultiplier } = this.timings;
    const gapMs = this.lastRunMs === null ? 0 : Math.max(0, nowMs - this.lastRunMs);
    this.lastRunMs = nowMs;
    if (!isLocalStall(gapMs, nowMs - dueMs, heartbeatIntervalMs)) return;
    this.excuseStall(nowMs, gapMs);
    this.healthPeak = raiseHealth(this.healthPeak, gapMs, nowMs, heartbeatIntervalMs, maxHealthMultiplier);
  }

  private onTick(nowMs: number, localLagMs: number): void {
    const { heartbeatIntervalMs, maxHealthMultiplier } = this.timings;
    this.healthPeak = raiseHealth(this.healthPeak, localLagMs, nowMs, heartbeatIntervalMs, maxHealthMultiplier);

    const heartbeatDue = nowMs >= this.nextHeartbeatDueMs;
    const selfChangeDue = this.selfChangePublishAtMs !== null && nowMs >= this.selfChangePublishAtMs;
    if ((heartbeatDue || selfChangeDue) && (this.selfState === 'alive' || this.leaveAnnouncementsLeft > 0)) this.publishDue = true;

    this.detectFailures(nowMs);
    this.forgetExpired(nowMs);
  }

  /** Silence accumulated while this node itself was not running is not evidence against anyone. */
  private excuseStall(nowMs: number, gapMs: number): void {
    for (const peer of this.sortedPeers()) {
      peer.silenceFromMs = Math.min(nowMs, peer.silenceFromMs + gapMs);
      if (peer.probeFromMs !== null) peer.probeFromMs = Math.min(nowMs, peer.probeFromMs + gapMs);
      if (peer.suspicion) peer.suspicion.clockFromMs = Math.min(nowMs, peer.suspicion.clockFromMs + gapMs);
    }
  }

  private detectFailures(nowMs: number): void {
    const expected = expectedConfirmations(this.liveMemberCount());
    for (const peer of this.sortedTimed()) {
      const state = peer.member.state;
      if ((state !== 'alive' && state !== 'suspect') || nowMs < this.peerDueMs(peer, expected)) continue;
      if (state === 'alive') this.suspect(peer, nowMs, 'silence');
      else this.declareDead(peer, nowMs);
    }
  }

  private forgetExpired(nowMs: number): void {
    for (const peer of this.sortedTimed()) {
      const { state, id, name } = peer.member;
      if ((state === 'dead' || state === 'left') && nowMs >= this.forgetAtMs(peer.member)) {
        this.removePeer(peer);
        this.emit({ type: 'member-forgotten', id, name });
      }
    }
  }

  private onHeartbeat(nowMs: number, from: NodeId, heartbeat: Heartbeat): void {
    if (heartbeat.cluster !== this.cluster || heartbeat.id !== from || heartbeat.id === this.selfId) return;
    // A probe is answered whatever this node holds of the prober: a member wrongly held dead here
    // reads that in the answer and refutes.
    if (heartbeat.probe === this.selfId) this.welcome.add(from);
    this.refuteIfAccused(from, heartbeat);
    if (!this.acceptFirstHand(nowMs, heartbeat)) return;
    this.countConfirmations(nowMs, from, heartbeat);
    this.acceptRelayedLeaves(nowMs, heartbeat);
  }

  /**
   * A leave heard second-hand: anyone could gossip it of anyone, so it is a verdict only when the
   * leader this node follows relays it (it too heard the member's own farewell). From any other
   * member it is a prompt: a suspicion of that life, which the member's next heartbeat clears and
   * its silence confirms. Either way it counts only for the life that left.
   */
  private acceptRelayedLeaves(nowMs: number, heartbeat: Heartbeat): void {
    const fromLeader = this.selfMeta.leader !== null && heartbeat.id === this.selfMeta.leader;
    for (const ref of heartbeat.left) {
      const peer = this.peers.get(ref.id);
      if (!peer || ref.id === heartbeat.id) continue;
      const member = peer.member;
      if ((member.state !== 'alive' && member.state !== 'suspect') || ref.incarnation < member.incarnation) continue;
      if (!fromLeader) {
        if (member.state === 'alive') this.suspect(peer, nowMs, 'reported-left');
        continue;
      }
      member.incarnation = ref.incarnation;
      this.setState(peer, 'left', nowMs);
      this.emit({ type: 'member-left', id: member.id, name: member.name });
    }
  }

  /** Order as in memberlist's state.go: unknown, stale, then apply. True when the heartbeat was fresh. */
  private acceptFirstHand(nowMs: number, heartbeat: Heartbeat): boolean {
    const known = this.peers.get(heartbeat.id);
    if (!known) {
      // Nothing to learn from the farewell of a node never seen.
      if (heartbeat.leaving || this.peers.size >= MAX_MEMBERS) return false;
      this.addPeer(nowMs, heartbeat);
      return true;
    }
    const member = known.member;
    if (heartbeat.incarnation < member.incarnation) return false;
    if (heartbeat.incarnation === member.incarnation && heartbeat.seq <= known.lastSeq) return false;
    // SWIM: a verdict on an incarnation stands; only a newer life overturns it.
    if ((member.state === 'dead' || member.state === 'left') && heartbeat.incarnation <= member.incarnation) return false;

    const previous = member.state;
    if (heartbeat.incarnation > member.incarnation && this.lastObservers !== null) this.welcome.add(member.id);
    const watched = watches(heartbeat, this.selfId);
    if (watched !== known.watched) this.watchedPeers += watched ? 1 : -1;
    known.watched = watched;
    this.noteWatchesAll(known, heartbeat);
    member.incarnation = heartbeat.incarnation;
    member.lastHeardMs = nowMs;
    known.lastSeq = heartbeat.seq;
    known.silenceFromMs = nowMs;
    known.probeFromMs = null;
    this.clearAccusers(known);
    const metaChanged = applyMeta(member, heartbeat.meta);
    if (heartbeat.leaving) {
      if (previous !== 'left') {
        this.setState(known, 'left', nowMs);
        this.emit({ type: 'member-left', id: member.id, name: member.name });
      }
    } else if (previous !== 'alive') {
      this.setState(known, 'alive', nowMs);
      this.emit({ type: 'member-alive', id: member.id, name: member.name, incarnation: member.incarnation, previous });
    }
    if (metaChanged) this.emit({ type: 'member-updated', member: copyMember(member) });
    this.retime(known);
    this.reportProtocol(known);
    return true;
  }

  private addPeer(nowMs: number, heartbeat: Heartbeat): void {
    const member: Member = {
      ...copyMeta(heartbeat.meta),
      id: heartbeat.id,
      state: 'alive',
      suspectReason: null,
      incarnation: heartbeat.incarnation,
      lastHeardMs: nowMs,
      stateSinceMs: nowMs,
      self: false,
    };
    const peer: Peer = {
      member,
      lastSeq: heartbeat.seq,
      silenceFromMs: nowMs,
      suspicion: null,
      accusers: new Map(),
      reportedProtocol: null,
      watched: watches(heartbeat, this.selfId),
      probeFromMs: null,
    };
    this.peers.set(member.id, peer);
    if (peer.watched) this.watchedPeers += 1;
    this.noteWatchesAll(peer, heartbeat);
    this.ring.set(member.id, true);
    this.viewVersion += 1;
    this.retime(peer);
    // A newcomer hears routine heartbeats only from the members it watches: send it ours.
    if (this.lastObservers !== null) this.welcome.add(member.id);
    this.emit({ type: 'member-joined', member: copyMember(member) });
    this.reportProtocol(peer);
  }

  /**
   * Lifeguard: each other node that gossips a suspicion we hold is one independent confirmation.
   * A member this node does not watch gives it no silence to judge by: a suspicion of it gossiped
   * by anyone is adopted at once (SWIM), and its own heartbeat or its refutation clears it.
   */
  private countConfirmations(nowMs: number, from: NodeId, heartbeat: Heartbeat): void {
    const named = new Set<NodeId>();
    for (const ref of [...heartbeat.suspects, ...heartbeat.dead]) {
      if (ref.id === from) continue;
      named.add(ref.id);
      const peer = this.peers.get(ref.id);
      if (!peer) continue;
      const suspicion = peer.suspicion;
      if (suspicion && ref.incarnation >= suspicion.incarnation) suspicion.confirmers.add(from);
      else if (!suspicion && peer.member.state === 'alive' && ref.incarnation >= peer.member.incarnation) {
        peer.accusers.set(from, ref.incarnation);
        this.accused.add(peer);
        if (!peer.watched && this.accusersOf(peer) >= ADOPT_AFTER_ACCUSERS) this.suspect(peer, nowMs, 'reported');
      }
    }
    // An accuser that no longer names the member has heard from it since.
    for (const peer of [...this.accused]) {
      if (!peer.accusers.has(from) || named.has(peer.member.id)) continue;
      peer.accusers.delete(from);
      if (peer.accusers.size === 0) this.accused.delete(peer);
    }
  }

  /**
   * SWIM refutation: outrank any suspicion or death verdict about this node's current life. An
   * accusation naming an incarnation above ours is about a life we never had (we persist every
   * incarnation we use): nobody honest can hold it, and jumping to it would let one message
   * push us to the counter's limit. It is ignored and reported.
   */
  private refuteIfAccused(from: NodeId, heartbeat: Heartbeat): void {
    if (this.selfState === 'left') return;
    let accused = false;
    let impossible = -1;
    for (const ref of [...heartbeat.suspects, ...heartbeat.dead, ...heartbeat.left]) {
      if (ref.id !== this.selfId) continue;
      if (ref.incarnation === this.selfIncarnation) accused = true;
      else if (ref.incarnation > this.selfIncarnation) impossible = Math.max(impossible, ref.incarnation);
      // An older life: refuted already, but the accuser missed it (a lost frame, a partition)
      // and may not hear from us otherwise in a large cluster. Tell it.
      else this.welcome.add(from);
    }
    if (impossible >= 0) this.emit({ type: 'accusation-ignored', incarnation: impossible, by: from });
    if (!accused || this.selfIncarnation >= MAX_COUNTER) return;
    this.selfIncarnation += 1;
    this.publishDue = true;
    this.newsDue = true;
    // Before the heartbeat that carries it (drain() adds publishes last): the host holds later
    // effects until it is on disk, so a restart can never reuse an incarnation already gossiped.
    this.effects.push({ type: 'persist', incarnation: this.selfIncarnation });
    this.emit({ type: 'refuted', incarnation: this.selfIncarnation, by: from });
  }

  private onConnectionClosed(nowMs: number, id: NodeId): void {
    const peer = this.peers.get(id);
    // A hint, not a verdict: it only starts the suspicion timer early; a fresh heartbeat clears it.
    if (peer && peer.member.state === 'alive') this.suspect(peer, nowMs, 'connection-closed');
  }

  private onUpdateSelf(meta: Partial<MemberMeta>, urgent: boolean): void {
    const defined = Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined)) as Partial<MemberMeta>;
    const next = { ...this.selfMeta, ...defined };
    if (applyMeta(this.selfMeta, next) && this.selfState === 'alive') {
      this.newsDue = true;
      if (urgent) this.publishDue = true;
      else this.selfChangePublishAtMs ??= this.nowMs + selfChangePublishDelayMs(this.timings.heartbeatIntervalMs);
    }
  }

  private onForget(id: NodeId): void {
    const peer = this.peers.get(id);
    if (!peer || (peer.member.state !== 'dead' && peer.member.state !== 'left')) return;
    this.removePeer(peer);
    this.emit({ type: 'member-forgotten', id, name: peer.member.name });
  }

  /**
   * Timers already running are measured against the new timings at the next tick: a member
   * silent for longer than a shortened suspectAfterMs is suspected then. A shorter heartbeat
   * interval counts from the last heartbeat sent, not from the one due under the old interval.
   */
  private onSetTimings(timings: MembershipTimings): void {
    if (membershipTimingProblems(timings).length > 0) return;
    const old = this.timings;
    this.timings = { ...timings };
    const shorterMs = old.heartbeatIntervalMs - timings.heartbeatIntervalMs;
    if (shorterMs > 0 && this.selfState === 'alive') this.nextHeartbeatDueMs -= shorterMs;
  }

  private onLeave(nowMs: number): void {
    if (this.selfState === 'left') return;
    this.selfState = 'left';
    this.selfStateSinceMs = nowMs;
    this.leaveAnnouncementsLeft = LEAVE_ANNOUNCEMENTS;
    this.publishDue = true;
    this.newsDue = true;
  }

  private buildHeartbeat(): Heartbeat {
    // Whatever changed is in this heartbeat.
    this.selfChangePublishAtMs = null;
    const leaving = this.selfState === 'left';
    this.nextHeartbeatDueMs = this.nowMs + (leaving ? leaveAnnounceGapMs(this.timings.heartbeatIntervalMs) : this.timings.heartbeatIntervalMs);
    if (leaving) {
      this.leaveAnnouncementsLeft = Math.max(0, this.leaveAnnouncementsLeft - 1);
      // Every announcement goes to everyone: one lost copy must not turn a leave into a death.
      this.newsDue = this.leaveAnnouncementsLeft > 0;
    }
    const observers = this.observers();
    this.lastObservers = observers;
    return this.heartbeatBody(leaving, observers);
  }

  /** The next heartbeat in sequence, with what this node knows now. */
  private heartbeatBody(leaving: boolean, observers: NodeId[] | null): Heartbeat {
    this.seq += 1;
    const suspects: IncarnationRef[] = [];
    const dead: IncarnationRef[] = [];
    const left: IncarnationRef[] = [];
    for (const { member } of this.sortedTimed()) {
      const ref = { id: member.id, incarnation: member.incarnation };
      if (member.state === 'suspect' && suspects.length < MAX_GOSSIPED_REFS) suspects.push(ref);
      if (member.state === 'dead' && dead.length < MAX_GOSSIPED_REFS) dead.push(ref);
      if (member.state === 'left' && left.length < MAX_GOSSIPED_REFS) left.push(ref);
    }
    return {
      v: 1,
      cluster: this.cluster,
      id: this.selfId,
      incarnation: this.selfIncarnation,
      seq: this.seq,
      leaving,
      meta: copyMeta(this.selfMeta),
      suspects,
      dead,
      left,
      ...(observers ? { observers } : {}),
    };
  }

  /** This node's observers on the live ring (ring.ts observersOf); null: everyone watches everyone. */
  private observers(): NodeId[] | null {
    return this.ring.observersOf(this.selfId, this.observersPerMember);
  }

  /** Every peer that has not left, by id. */
  private notLeftIds(): NodeId[] {
    if (this.notLeftIdsCache?.version !== this.viewVersion) {
      const ids: NodeId[] = [];
      for (const { member } of this.peers.values()) if (member.state !== 'left') ids.push(member.id);
      this.notLeftIdsCache = { version: this.viewVersion, ids: ids.sort(compareIds) };
    }
    return this.notLeftIdsCache.ids;
  }

  /**
   * Where a routine heartbeat goes: everyone in a small cluster; otherwise the observers, any that
   * just stopped being one (so they stop watching), the newcomers to welcome, the members whose view
   * is small enough that they watch everyone, and one more member,
   * which it probes (`probe`): SWIM's round of probes, each member once per round in an order of
   * this node's own, dead ones included. The probed member answers with its heartbeat; one this
   * node does not watch that leaves it unanswered for suspectAfterMs is suspected, first-hand. So
   * a member whose observers are all cut off from this node (a partition), or this node cut off
   * from everyone, is still judged within a round, and a member wrongly held dead (as after a long
   * partition) reads it in the probe and refutes.
   */
  private routineTargets(previous: NodeId[] | null): NodeId[] | null {
    const observers = this.lastObservers;
    if (observers === null || previous === null) return null;
    const to = new Set([...observers, ...previous, ...this.welcome]);
    // And every live member that watches everyone (its view is small): it waits for ours too.
    // Without this, a member of a small view that lost this node's first heartbeats never learns
    // this node at all, since this node, watching it, never probes it either.
    for (const peer of this.watchingAll) if (isLive(peer.member.state)) to.add(peer.member.id);
    // And one member this node holds dead, in turn: if it lives (a partition healed, our verdict
    // was wrong) it reads its death here and refutes at once, as every member heard every
    // heartbeat in a small cluster. Nothing while nobody is dead.
    const dead = this.sortedTimed().filter((p) => p.member.state === 'dead');
    if (dead.length > 0) to.add(dead[this.deadTurn++ % dead.length]!.member.id);
    return [...to].sort(compareIds);
  }

  /**
   * Names the next member of the probe round in `heartbeat` and adds it to `to` (in place; null
   * is everyone already). In a small cluster every member is watched and none is probed, unless
   * this node's view shrank below the size its peers saw (cut off from most of a large cluster).
   */
  private probeOne(heartbeat: Heartbeat, to: NodeId[] | null): void {
    if (this.selfState !== 'alive') return;
    const probed = this.nextProbe();
    if (probed === null) return;
    heartbeat.probe = probed;
    if (to !== null && !to.includes(probed)) {
      to.push(probed);
      to.sort(compareIds);
    }
    const peer = this.peers.get(probed)!;
    if (peer.member.state === 'alive' && peer.probeFromMs === null) {
      peer.probeFromMs = this.nowMs;
      this.retime(peer);
    }
  }

  /**
   * The next member of this probe round that this node does not watch (those it judges by their
   * heartbeats already); a new round, freshly shuffled, when this one is done.
   */
  private nextProbe(): NodeId | null {
    if (this.watchedPeers === this.peers.size) return null;
    return this.probes.next(
      () => this.notLeftIds(),
      (id) => {
        const peer = this.peers.get(id);
        return peer !== undefined && peer.member.state !== 'left' && !peer.watched;
      },
    );
  }

  private suspect(peer: Peer, nowMs: number, reason: SuspectReason): void {
    const member = peer.member;
    const firstHand = peer.watched || (reason === 'silence' && peer.probeFromMs !== null);
    this.setState(peer, 'suspect', nowMs);
    member.suspectReason = reason;
    const confirmers = new Set([...peer.accusers].filter(([, incarnation]) => incarnation >= member.incarnation).map(([id]) => id));
    this.clearAccusers(peer);
    peer.suspicion = { incarnation: member.incarnation, startedMs: nowMs, clockFromMs: nowMs, confirmers };
    // A suspicion of a member this node watches is news, gossiped to everyone now, not at the next
    // heartbeat: the other suspecters' confirmations (Lifeguard) and the suspect's refutation then
    // take milliseconds, not an interval. It costs one extra heartbeat per suspicion, and
    // suspicions are rare. One adopted from others' gossip is theirs to spread.
    if (this.selfState === 'alive' && firstHand) {
      this.publishDue = true;
      this.newsDue = true;
    }
    this.emit({ type: 'member-suspect', id: member.id, name: member.name, incarnation: member.incarnation, reason });
  }

  private declareDead(peer: Peer, nowMs: number): void {
    const member = peer.member;
    const suspectedForMs = nowMs - (peer.suspicion?.startedMs ?? nowMs);
    this.setState(peer, 'dead', nowMs);
    this.emit({ type: 'member-dead', id: member.id, name: member.name, incarnation: member.incarnation, suspectedForMs });
  }

  private setState(peer: Peer, state: Member['state'], nowMs: number): void {
    const wasLive = isLive(peer.member.state);
    if (wasLive !== isLive(state)) this.ring.set(peer.member.id, !wasLive);
    if (peer.member.state !== state) this.viewVersion += 1;
    peer.member.state = state;
    peer.member.stateSinceMs = nowMs;
    peer.member.suspectReason = null;
    if (state !== 'suspect') peer.suspicion = null;
    peer.probeFromMs = null;
    this.retime(peer);
  }

  /** Keeps `watchingAll` exact: the peer's heartbeat names no observers, so it watches everyone. */
  private noteWatchesAll(peer: Peer, heartbeat: Heartbeat): void {
    if (heartbeat.observers === undefined) this.watchingAll.add(peer);
    else this.watchingAll.delete(peer);
  }

  /** Keeps `timed` exact: a peer is in it while a tick could act on it. */
  private retime(peer: Peer): void {
    if (peer.member.state !== 'alive' || peer.watched || peer.probeFromMs !== null) this.timed.add(peer);
    else this.timed.delete(peer);
  }

  private removePeer(peer: Peer): void {
    this.peers.delete(peer.member.id);
    if (peer.watched) this.watchedPeers -= 1;
    this.watchingAll.delete(peer);
    this.timed.delete(peer);
    this.accused.delete(peer);
    if (isLive(peer.member.state)) this.ring.set(peer.member.id, false);
    this.viewVersion += 1;
  }

  /** Members accusing `peer`'s current life. */
  private accusersOf(peer: Peer): number {
    let count = 0;
    for (const incarnation of peer.accusers.values()) if (incarnation >= peer.member.incarnation) count++;
    return count;
  }

  private clearAccusers(peer: Peer): void {
    peer.accusers.clear();
    this.accused.delete(peer);
  }

  private sortedTimed(): Peer[] {
    return [...this.timed].sort((a, b) => compareIds(a.member.id, b.member.id));
  }

  private reportProtocol(peer: Peer): void {
    const { protocol, id, name } = peer.member;
    const expected = this.selfMeta.protocol;
    if (protocol === expected) {
      peer.reportedProtocol = null;
    } else if (peer.reportedProtocol !== protocol) {
      peer.reportedProtocol = protocol;
      this.emit({ type: 'protocol-mismatch', id, name, protocol, expected });
    }
  }

  /** Self plus every member not yet dead or gone: the cluster size Lifeguard scales against. */
  private liveMemberCount(): number {
    return this.ring.size;
  }

  private sortedPeers(): Peer[] {
    return [...this.peers.values()].sort((a, b) => compareIds(a.member.id, b.member.id));
  }

  private emit(event: MembershipEvent): void {
    this.effects.push({ type: 'event', event });
  }
}

function isLive(state: Member['state']): boolean {
  return state === 'alive' || state === 'suspect';
}

