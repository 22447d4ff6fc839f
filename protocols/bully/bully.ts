/**
 * The Bully election machine with fencing epochs and a quorum guard (issue 3).
 *
 * Rank decides who claims (rank.ts); the epoch decides who wins. A claim is COORDINATOR(E) with
 * E above every epoch seen, persisted before it leaves; a member accepts at most one node per
 * epoch (persisted before it replies, like Raft's votedFor), and with `quorum: 'majority'` a
 * claimant leads only once a majority accepted, then keeps a lease by re-announcing
 * COORDINATOR(E) every leaseMs/4 and stepping down when fresh acceptances fall below a majority.
 * Each role has its own step and tick functions, swapped on transition (etcd-raft style).
 */
import type { CommandResult, Election, ElectionEffect, ElectionInput, ElectionMember, LeadershipCommand } from '../election.js';
import type { Rng } from '../rng.js';
import type { ElectionSummary, NodeId, Role } from '../types.js';
import type { BullyConfig } from './config.js';
import { INITIAL_BULLY_STATE, type BullyMessage, type BullyPersisted, type CoordinatorKind } from './messages.js';
import { clusterSize, countedMembers, isMajority } from './quorum.js';
import { highestRanked, outranks } from './rank.js';
import { BullyView } from './view.js';
import { MAX_MEMBERS } from '../membership/membership.js';

export interface BullyInit {
  selfId: NodeId;
  config: BullyConfig;
  rng: Rng;
  persisted: BullyPersisted | null;
  nowMs: number;
}

/** An election that keeps meeting answering-but-silent higher nodes gives up after this many rounds. */
const MAX_ELECTION_ROUNDS = 4;

type Effect = ElectionEffect<BullyMessage, BullyPersisted>;
type Message<T extends BullyMessage['type']> = Extract<BullyMessage, { type: T }>;

/** One election at this node, from `election-started` to `election-finished`. */
interface Episode {
  startedMs: number;
  term: number;
  forced: boolean;
  rounds: number;
}

type Candidacy =
  /** ELECTION sent to higher-ranked members; claim if none answers by `deadlineMs`. */
  | { stage: 'electing'; deadlineMs: number }
  /** A higher member answered; re-elect if its COORDINATOR has not come by `deadlineMs`. */
  | { stage: 'awaiting'; deadlineMs: number }
  /** COORDINATOR(epoch) sent; lead once a majority accepted, give up at `deadlineMs`. */
  | { stage: 'claiming'; epoch: number; kind: CoordinatorKind; ackAtMs: Map<NodeId, number>; deadlineMs: number; resendAtMs: number };

interface Leadership {
  epoch: number;
  /** Last acceptance of our COORDINATOR(epoch) per member: the lease. */
  ackAtMs: Map<NodeId, number>;
  renewAtMs: number;
}

interface PendingTransfer {
  commandId: number | null;
  to: NodeId;
  deadlineMs: number;
}

export function createBully(init: BullyInit): Election<BullyMessage, BullyPersisted> {
  return new Bully(init);
}

class Bully implements Election<BullyMessage, BullyPersisted> {
  readonly protocol = 'bully' as const;
  private readonly selfId: NodeId;
  private readonly config: BullyConfig;
  private readonly rng: Rng;
  private effects: Effect[] = [];
  private nowMs: number;
  private readonly startedMs: number;
  private durable: BullyPersisted;
  private view: BullyView;
  private viewKey = '';
  private viewStableSinceMs: number;

  private role: Role = 'follower';
  private stepRole: (from: NodeId, message: BullyMessage) => void = this.stepFollower;
  private tickRole: () => void = this.tickFollower;
  /** The leader this node follows and its epoch (may lie below acceptedEpoch after a failed claim). */
  private leader: { id: NodeId; epoch: number } | null = null;
  private candidacy: Candidacy | null = null;
  /** A leader this node suspects but which answered directly since: not gone until it is dead. */
  private suspectButHeard: NodeId | null = null;
  /**
   * The last claim refused because this node still saw its leader alive. The claimer usually saw
   * the leader go first (kill -9 closes connections everywhere at once, but each node hears it a
   * few ms apart): when this node sees it too, it answers the claim then instead of making the
   * claimer wait for its resend.
   */
  private refusedClaim: { from: NodeId; epoch: number; kind: CoordinatorKind; atMs: number } | null = null;
  private leadership: Leadership | null = null;
  private episode: Episode | null = null;

  private settleUntilMs: number;
  private holdUntilMs: number | null = null;
  private retryAtMs: number | null = null;
  private shuttingDown = false;
  private shutdownReadySent = false;
  /** Whether the election owed at the end of the settle period has been considered. */
  private settleEnded = false;
  private shutdownDeadlineMs: number | null = null;
  /** While shutting down after a hand-off: the epoch we led; leave once a successor leads a newer one. */
  private handedOffEpoch: number | null = null;
  private transfer: PendingTransfer | null = null;
  /** A transfer asked of this follower and relayed to the leader: answered when `to` leads. */
  private relayedTransfer: { commandId: number; to: NodeId; deadlineMs: number } | null = null;
  private pendingElects: number[] = [];

  constructor(init: BullyInit) {
    this.selfId = init.selfId;
    this.config = init.config;
    this.rng = init.rng;
    this.nowMs = init.nowMs;
    this.startedMs = init.nowMs;
    this.durable = { ...(init.persisted ?? INITIAL_BULLY_STATE) };
    this.view = new BullyView(init.selfId, []);
    this.viewStableSinceMs = init.nowMs;
    this.settleUntilMs = init.nowMs + init.config.settleMs;
  }

  // ---- Election interface ----

  step(input: ElectionInput<BullyMessage>): void {
    this.nowMs = Math.max(this.nowMs, input.nowMs);
    switch (input.type) {
      case 'tick':
        this.tick();
        break;
      case 'members':
        this.onMembers(input.members);
        break;
      case 'message':
        this.onMessage(input.from, input.message);
        break;
      case 'command':
        this.onCommand(input.id, input.command);
        break;
      case 'shutdown':
        this.onShutdown();
        break;
    }
    this.checkRelayedTransfer();
  }

  drain(): Effect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }

  summary(): ElectionSummary {
    const fencingToken = this.durable.acceptedEpoch;
    if (this.leadership) return { role: 'leader', term: this.leadership.epoch, leader: this.selfId, fencingToken };
    if (this.candidacy?.stage === 'claiming') return { role: 'candidate', term: this.candidacy.epoch, leader: null, fencingToken };
    return { role: this.role, term: this.leader?.epoch ?? fencingToken, leader: this.leader?.id ?? null, fencingToken };
  }

  // ---- inputs ----

  private tick(): void {
    if (this.holdUntilMs !== null && this.nowMs >= this.holdUntilMs) {
      this.holdUntilMs = null;
      if (this.role === 'follower' && this.leader === null) this.scheduleRetry();
    }
    if (this.shutdownDeadlineMs !== null && this.nowMs >= this.shutdownDeadlineMs) this.shutdownReady();
    if (this.transfer && this.nowMs >= this.transfer.deadlineMs) {
      this.finishTransfer({ ok: false, code: 'transfer-timeout', message: `${this.view.nameOf(this.transfer.to)} did not take over in time; still leading` });
    }
    if (!this.settleEnded && !this.settling()) {
      this.settleEnded = true;
      if (this.role === 'follower' && this.leader === null) this.startElection('no-leader-after-settle', false);
    }
    this.tickRole();
  }

  private onMembers(members: readonly ElectionMember[]): void {
    this.view = new BullyView(this.selfId, members);
    this.checkHandOffDone();
    const key = this.view.stabilityKey();
    if (key !== this.viewKey) {
      this.viewKey = key;
      this.viewStableSinceMs = this.nowMs;
    }
    this.noteEpoch(this.view.highestEpoch());
    if (this.suspectButHeard !== null && this.view.stateOf(this.suspectButHeard) !== 'suspect') this.suspectButHeard = null;
    this.followGossipedLeader();
    if (this.role === 'follower') {
      if (this.leader !== null) {
        const gone = this.leaderGoneReason(this.leader.id, this.leader.epoch);
        if (gone) this.leaderGone(gone);
      } else if (!this.settling() && this.retryAtMs === null) {
        // A leaderless node whose view just changed (say a partition healed) tries at once.
        this.startElection('no-leader', false);
      }
    }
    this.rememberMembers();
  }

  /**
   * Keeps the durable member list: it grows with every member seen, and shrinks to the view
   * (forgotten members dropped) only while this node is part of a working cluster.
   */
  private rememberMembers(): void {
    const current = countedMembers(this.view.members, this.selfId).sort();
    const known = this.durable.members;
    const working = this.leadership !== null || (this.role === 'follower' && this.leader !== null && this.view.isAlive(this.leader.id));
    let next: NodeId[];
    if (working) next = current;
    else if (current.some((id) => !known.includes(id))) next = [...new Set([...known, ...current])].sort();
    else return;
    next = next.slice(0, MAX_MEMBERS);
    if (next.length === known.length && next.every((id, i) => id === known[i])) return;
    this.persist({ ...this.durable, members: next });
  }

  private onMessage(from: NodeId, message: BullyMessage): void {
    if (from === this.selfId || this.view.isForeign(from)) return;
    this.noteEpoch(message.epoch);
    switch (message.type) {
      case 'ELECTION':
        return this.onElection(from, message);
      case 'TRANSFER':
        return this.onTransfer(from, message);
      case 'TRANSFER_REQUEST':
        return this.onTransferRequest(from, message);
      default:
        return this.stepRole(from, message);
    }
  }

  // ---- messages every role handles alike ----

  private onElection(from: NodeId, message: Message<'ELECTION'>): void {
    // Not standing (resigned, stopping): stay silent so the sender may claim.
    if (!this.mayStand()) return;
    const sender = this.view.member(from);
    if (sender && outranks(sender, this.view.self)) return;
    this.send(from, { type: 'ANSWER', epoch: this.summary().term });
    if (this.leadership) {
      // Re-assert the current epoch instead of starting a new one: no leader change.
      this.send(from, { type: 'COORDINATOR', epoch: this.leadership.epoch, kind: 'renew' });
      return;
    }
    if (this.episode) {
      this.episode.forced ||= message.forced;
      return;
    }
    // A settling node answers (it outranks the sender) but elects only once it has listened.
    if (this.settling()) return;
    if (this.leader !== null && this.view.isAlive(this.leader.id) && !message.forced) return;
    this.startElection(message.forced ? 'forced-by-peer' : 'election-from-lower', message.forced);
  }

  private onTransfer(from: NodeId, message: Message<'TRANSFER'>): void {
    if (!this.mayStand() || this.leadership) return;
    const current = this.leader;
    const fromLeader = current === null || (current.id === from && message.epoch >= current.epoch) || message.epoch > current.epoch;
    if (!fromLeader) return;
    this.startElection(`transfer-from-${this.view.nameOf(from)}`, true, 'takeover');
  }

  /** A member relays an operator's transfer: hand off as if asked here (the member sees the result). */
  private onTransferRequest(from: NodeId, message: Message<'TRANSFER_REQUEST'>): void {
    const l = this.leadership;
    if (!l || message.epoch !== l.epoch || this.transfer || this.shuttingDown) return;
    const target = this.view.member(message.to);
    if (!target || target.self || target.protocol !== 'bully' || target.state !== 'alive') return;
    this.handOff(target.id, null);
  }

  /** Claims and takeovers; renewals go to the role step functions. */
  private onClaim(from: NodeId, epoch: number, kind: CoordinatorKind): void {
    const { acceptedEpoch, acceptedLeader } = this.durable;
    if (epoch < acceptedEpoch || (epoch === acceptedEpoch && acceptedLeader !== from)) {
      this.reject(from, acceptedEpoch);
      return;
    }
    if (epoch === acceptedEpoch) {
      this.send(from, { type: 'ACCEPT', epoch });
      if (this.role === 'follower' && this.leader?.id !== from) this.leader = { id: from, epoch };
      return;
    }
    if (kind === 'claim' && this.followsLiveLeaderOtherThan(from)) {
      this.refusedClaim = { from, epoch, kind, atMs: this.nowMs };
      this.reject(from, this.summary().term);
      return;
    }
    this.promise(epoch, from);
    this.follow(from, epoch);
    this.send(from, { type: 'ACCEPT', epoch });
  }

  // ---- role: follower ----

  private stepFollower(from: NodeId, message: BullyMessage): void {
    if (message.type !== 'COORDINATOR') return;
    if (message.kind !== 'renew') return this.onClaim(from, message.epoch, message.kind);
    const current = this.leader;
    if (current && current.id !== from) {
      // Equal epochs: an established leader beats a mere claim; two established leaders (only
      // possible without the quorum guard) are ordered by rank.
      const currentLeads = this.view.isAlive(current.id) && this.view.member(current.id)?.role === 'leader';
      const stale = message.epoch < current.epoch || (message.epoch === current.epoch && currentLeads && this.outranksById(current.id, from));
      if (stale) {
        this.reject(from, current.epoch);
        return;
      }
    }
    this.acceptRenewal(from, message.epoch);
  }

  private tickFollower(): void {
    if (this.leader === null) {
      if (this.retryAtMs !== null && this.nowMs >= this.retryAtMs && !this.settling()) {
        this.retryAtMs = null;
        this.startElection('no-leader', false);
      }
      return;
    }
    if (this.shouldPreempt()) this.startElection('preempt', true, 'takeover');
  }

  // ---- role: candidate ----

  private stepCandidate(from: NodeId, message: BullyMessage): void {
    const c = this.candidacy!;
    switch (message.type) {
      case 'ANSWER': {
        const sender = this.view.member(from);
        if (c.stage === 'electing' && (!sender || outranks(sender, this.view.self))) {
          this.candidacy = { stage: 'awaiting', deadlineMs: this.nowMs + this.config.coordinatorTimeoutMs };
        }
        return;
      }
      case 'COORDINATOR':
        // An established leader is reachable: follow it rather than add a leader change.
        if (message.kind === 'renew') return this.acceptRenewal(from, message.epoch);
        return this.onClaim(from, message.epoch, message.kind);
      case 'ACCEPT':
        if (c.stage === 'claiming' && message.epoch === c.epoch) {
          c.ackAtMs.set(from, this.nowMs);
          if (this.hasMajority(c.ackAtMs)) this.becomeLeader(c.epoch, c.ackAtMs);
        }
        return;
      case 'REJECT':
        if (c.stage === 'claiming' && message.epoch > c.epoch) this.giveUp('lost', message.epoch);
        return;
      default:
        return;
    }
  }

  private tickCandidate(): void {
    const c = this.candidacy!;
    if (c.stage === 'electing') {
      if (this.nowMs >= c.deadlineMs) this.tryClaim(this.episode?.forced ? 'takeover' : 'claim');
    } else if (c.stage === 'awaiting') {
      if (this.nowMs >= c.deadlineMs) this.runElectionRound();
    } else if (this.nowMs >= c.deadlineMs) {
      this.giveUp('aborted', c.epoch);
    } else if (this.nowMs >= c.resendAtMs) {
      // Covers lost COORDINATORs, and members that refused while they still saw the old leader.
      c.resendAtMs = this.nowMs + this.config.answerTimeoutMs;
      for (const m of this.view.reachablePeers()) {
        if (!c.ackAtMs.has(m.id)) this.send(m.id, { type: 'COORDINATOR', epoch: c.epoch, kind: c.kind });
      }
    }
  }

  // ---- role: leader ----

  private stepLeader(from: NodeId, message: BullyMessage): void {
    const l = this.leadership!;
    switch (message.type) {
      case 'COORDINATOR':
        if (message.kind !== 'renew') return this.onClaim(from, message.epoch, message.kind);
        // Two leaders meet (a healed partition): the lower (epoch, rank) yields.
        if (message.epoch > l.epoch || (message.epoch === l.epoch && this.outranksById(from, this.selfId))) {
          return this.acceptRenewal(from, message.epoch);
        }
        this.reject(from, l.epoch);
        return;
      case 'ACCEPT':
        if (message.epoch === l.epoch) l.ackAtMs.set(from, this.nowMs);
        return;
      case 'REJECT':
        if (message.epoch > l.epoch) this.stepDown();
        return;
      default:
        return;
    }
  }

  private tickLeader(): void {
    const l = this.leadership!;
    if (this.config.quorum === 'majority' && !this.hasMajority(l.ackAtMs, this.nowMs - this.config.leaseMs)) {
      this.stepDown();
      return;
    }
    if (this.nowMs >= l.renewAtMs) {
      l.renewAtMs = this.nowMs + this.renewIntervalMs();
      this.broadcast({ type: 'COORDINATOR', epoch: l.epoch, kind: 'renew' });
    }
  }

  // ---- transitions ----

  private becomeFollower(): void {
    this.role = 'follower';
    this.candidacy = null;
    this.leadership = null;
    this.stepRole = this.stepFollower;
    this.tickRole = this.tickFollower;
  }

  private becomeCandidate(candidacy: Candidacy): void {
    this.role = 'candidate';
    this.candidacy = candidacy;
    this.leadership = null;
    this.leader = null;
    this.retryAtMs = null;
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickCandidate;
  }

  private becomeLeader(epoch: number, ackAtMs: Map<NodeId, number>): void {
    this.role = 'leader';
    this.candidacy = null;
    this.leader = null;
    this.leadership = { epoch, ackAtMs, renewAtMs: this.nowMs + this.renewIntervalMs() };
    this.stepRole = this.stepLeader;
    this.tickRole = this.tickLeader;
    this.finishEpisode('won', epoch);
  }

  /** Follow `id` at `epoch`; ends any election or leadership of ours. */
  private follow(id: NodeId, epoch: number): void {
    // Settling exists to learn the current leader before acting; that is now done. A node that
    // restarted a moment ago must not sit out the next fail-over (it may be the next in rank).
    this.settleUntilMs = Math.min(this.settleUntilMs, this.nowMs);
    const ledEpoch = this.leadership?.epoch ?? null;
    this.becomeFollower();
    this.leader = { id, epoch };
    this.retryAtMs = null;
    if (this.episode) this.finishEpisode('lost', epoch);
    if (ledEpoch !== null) this.afterLeadership(ledEpoch, { id, epoch });
  }

  /** Stop leading with no successor known (lease lost, a higher epoch seen, resigned). */
  private stepDown(): void {
    const ledEpoch = this.leadership?.epoch ?? null;
    this.becomeFollower();
    this.leader = null;
    this.scheduleRetry();
    if (ledEpoch !== null) this.afterLeadership(ledEpoch, null);
  }

  /** An election or claim that ended without this node leading. */
  private giveUp(result: 'lost' | 'aborted', term: number): void {
    this.becomeFollower();
    this.leader = null;
    this.scheduleRetry();
    if (this.episode) this.finishEpisode(result, term);
  }

  private afterLeadership(ledEpoch: number, successor: { id: NodeId; epoch: number } | null): void {
    if (this.transfer) {
      const name = successor ? this.view.nameOf(successor.id) : null;
      this.finishTransfer(
        successor && successor.id === this.transfer.to && successor.epoch > ledEpoch
          ? { ok: true, detail: `leadership transferred to ${name} at epoch ${successor.epoch}` }
          : { ok: false, code: 'not-leader', message: `lost leadership of epoch ${ledEpoch} before the transfer completed${name ? ` (${name} leads)` : ''}` },
      );
    }
    // After a hand-off, seeing the successor's claim is not enough: it leads only once a majority
    // accepted. Leave when the members view shows it leading (or at the deadline), so peers never
    // see this node leave before they have a new leader.
    if (this.shuttingDown && this.handedOffEpoch === null) this.shutdownReady();
  }

  /** The hand-off is done once some live member gossips leadership of a newer epoch. */
  private checkHandOffDone(): void {
    const epoch = this.handedOffEpoch;
    if (epoch === null || !this.shuttingDown) return;
    const successorLeads = this.view.members.some((m) => !m.self && m.state === 'alive' && m.role === 'leader' && m.term > epoch);
    if (successorLeads) this.shutdownReady();
  }

  // ---- elections ----

  /** Starts (or, within a running episode, repeats) an election. */
  private startElection(reason: string, forced: boolean, kind?: CoordinatorKind): void {
    if (this.shuttingDown || (!forced && !this.mayStand())) return;
    if (!this.episode) {
      // Without a reachable majority an election cannot succeed: wait quietly instead of
      // inflating epochs (a partition's minority would otherwise disrupt the majority on healing).
      if (!forced && this.config.quorum === 'majority' && !this.majorityAlive()) {
        this.scheduleRetry();
        return;
      }
      const term = this.nextEpoch();
      this.episode = { startedMs: this.nowMs, term, forced, rounds: 0 };
      this.emit({ type: 'election-started', term, reason });
    } else {
      this.episode.forced ||= forced;
    }
    if (kind === 'takeover') this.tryClaim('takeover');
    else this.runElectionRound();
  }

  private runElectionRound(): void {
    const episode = this.episode!;
    if (++episode.rounds > MAX_ELECTION_ROUNDS) {
      this.giveUp('aborted', this.summary().term);
      return;
    }
    const higher = this.view.higherReachable();
    if (higher.length === 0) {
      this.tryClaim(episode.forced ? 'takeover' : 'claim');
      return;
    }
    for (const m of higher) this.send(m.id, { type: 'ELECTION', epoch: this.durable.acceptedEpoch, forced: episode.forced });
    this.becomeCandidate({ stage: 'electing', deadlineMs: this.nowMs + this.config.answerTimeoutMs });
  }

  private tryClaim(kind: CoordinatorKind): void {
    if (!this.mayStand()) return this.giveUp('aborted', this.summary().term);
    if (this.config.quorum === 'majority' && !this.majorityAlive()) return this.giveUp('aborted', this.summary().term);
    if (kind === 'claim') {
      // Never claim over a live leader we can see: follow it (it may be what we just missed).
      const gossiped = this.view.gossipedLeader();
      if (gossiped && gossiped.term >= this.durable.acceptedEpoch) {
        this.promiseIfHigher(gossiped.term, gossiped.id);
        return this.follow(gossiped.id, gossiped.term);
      }
    }
    const epoch = this.nextEpoch();
    // Persisted before the COORDINATOR leaves (the host writes persists first): a restarted node
    // never announces an epoch at or below one it already used.
    this.promise(epoch, this.selfId);
    const ackAtMs = new Map<NodeId, number>([[this.selfId, this.nowMs]]);
    this.becomeCandidate({ stage: 'claiming', epoch, kind, ackAtMs, deadlineMs: this.nowMs + this.config.coordinatorTimeoutMs, resendAtMs: this.nowMs + this.config.answerTimeoutMs });
    this.broadcast({ type: 'COORDINATOR', epoch, kind });
    if (this.config.quorum === 'none' || this.hasMajority(ackAtMs)) this.becomeLeader(epoch, ackAtMs);
  }

  private finishEpisode(result: 'won' | 'lost' | 'aborted', term: number): void {
    const episode = this.episode;
    if (!episode) return;
    this.episode = null;
    this.emit({ type: 'election-finished', term, result, durationMs: this.nowMs - episode.startedMs });
    const elects = this.pendingElects;
    this.pendingElects = [];
    const leaderName = this.leader ? this.view.nameOf(this.leader.id) : null;
    for (const id of elects) {
      const outcome: CommandResult =
        result === 'won'
          ? { ok: true, detail: `won the election: leading at epoch ${term}` }
          : result === 'lost'
            ? { ok: true, detail: `election finished: ${leaderName ?? 'another node'} leads at epoch ${term}` }
            : { ok: false, code: 'election-aborted', message: `the election gave up without a leader (${this.abortReason()}); it will be retried` };
      this.emit({ type: 'command-result', id, result: outcome });
    }
  }

  private abortReason(): string {
    if (this.holdUntilMs !== null) return 'this node resigned and does not stand';
    if (this.config.quorum === 'majority' && !this.majorityAlive()) return 'no majority of the cluster is reachable';
    return 'no claim was accepted by a majority';
  }

  // ---- leader tracking ----

  private followGossipedLeader(): void {
    const g = this.view.gossipedLeader();
    if (!g) return;
    if (this.leadership) {
      const l = this.leadership;
      if (g.term > l.epoch || (g.term === l.epoch && outranks(g, this.view.self))) {
        this.promiseIfHigher(g.term, g.id);
        this.follow(g.id, g.term);
      }
      return;
    }
    // Only a leader at or above every epoch we accepted: a stale leader is left to be rejected.
    if (g.term < this.durable.acceptedEpoch) return;
    const current = this.leader;
    if (current && current.id !== g.id && !(g.term > current.epoch || (g.term === current.epoch && !this.view.isAlive(current.id)))) return;
    if (current && current.id === g.id && current.epoch === g.term) return;
    this.promiseIfHigher(g.term, g.id);
    this.follow(g.id, g.term);
  }

  /** Why the followed leader counts as gone, or null while it leads. */
  private leaderGoneReason(id: NodeId, epoch: number): string | null {
    const m = this.view.member(id);
    if (!m) return 'leader-unknown';
    // Suspect counts: the daemon suspects at once when the leader's connection closes, so this is
    // what makes kill -9 fail over fast. A false suspicion costs no leader change: members that
    // still see the leader alive refuse a plain claim, and the leader re-asserts when asked.
    if (m.state === 'suspect' && this.suspectButHeard === id) return null;
    if (m.state !== 'alive') return `leader-${m.state}`;
    if (m.role === 'follower' && m.term >= epoch) return 'leader-stepped-down';
    return null;
  }

  private leaderGone(reason: string): void {
    this.leader = null;
    const refused = this.refusedClaim;
    this.refusedClaim = null;
    if (refused && this.nowMs - refused.atMs <= this.config.coordinatorTimeoutMs && this.view.isAlive(refused.from)) {
      // As if the claim arrived now (a delayed copy, which the protocol tolerates anyway).
      this.onClaim(refused.from, refused.epoch, refused.kind);
      if (this.leader !== null) return;
    }
    if (this.settling() || !this.mayStand()) {
      this.scheduleRetry();
      return;
    }
    this.startElection(reason, false);
  }

  private acceptRenewal(from: NodeId, epoch: number): void {
    const { acceptedEpoch, acceptedLeader } = this.durable;
    // Switching within an epoch is safe only towards an established leader (it already holds a
    // majority, so the node we accepted before can no longer gather one for this epoch).
    if (epoch > acceptedEpoch || (epoch === acceptedEpoch && acceptedLeader !== from)) this.promise(epoch, from);
    if (this.leadership || this.candidacy || this.leader?.id !== from || this.leader.epoch !== epoch) this.follow(from, epoch);
    // It answered although suspected: do not elect again over the same suspicion.
    if (this.view.stateOf(from) === 'suspect') this.suspectButHeard = from;
    this.send(from, { type: 'ACCEPT', epoch });
  }

  private followsLiveLeaderOtherThan(id: NodeId): boolean {
    if (this.leadership) return true;
    return this.leader !== null && this.leader.id !== id && this.view.isAlive(this.leader.id);
  }

  private shouldPreempt(): boolean {
    const c = this.config;
    if (!c.preempt || this.settling() || !this.mayStand() || this.leader === null) return false;
    const leader = this.view.member(this.leader.id);
    if (!leader || leader.state !== 'alive' || !outranks(this.view.self, leader) || !this.view.selfIsHighestAlive()) return false;
    return this.nowMs - this.viewStableSinceMs >= c.preemptDelayMs && this.nowMs - this.startedMs >= c.preemptDelayMs;
  }

  // ---- commands and shutdown ----

  private onCommand(id: number, command: LeadershipCommand): void {
    switch (command.kind) {
      case 'transfer':
        return this.commandTransfer(id, command.to);
      case 'resign':
        return this.commandResign(id);
      case 'elect':
        return this.commandElect(id);
    }
  }

  private commandTransfer(id: number, to: NodeId | null): void {
    const l = this.leadership;
    if (!l) return this.relayTransfer(id, to);
    if (this.transfer) return this.fail(id, 'transfer-in-progress', `a transfer to ${this.view.nameOf(this.transfer.to)} is already under way`);
    const target = this.transferTarget(id, to, this.selfId, l.epoch);
    if (target) this.handOff(target.id, id);
  }

  /**
   * A transfer asked of a follower: checked here as the leader would, then relayed to the leader
   * it follows. The answer comes when the target leads (or when the bound runs out).
   */
  private relayTransfer(id: number, to: NodeId | null): void {
    const leader = this.leader;
    if (!leader || !this.view.isAlive(leader.id)) return this.fail(id, 'not-leader', 'this node is not the leader and knows no live leader to relay the transfer to');
    if (this.relayedTransfer) return this.fail(id, 'transfer-in-progress', `a transfer to ${this.view.nameOf(this.relayedTransfer.to)} is already under way`);
    const target = this.transferTarget(id, to, leader.id, leader.epoch);
    if (!target) return;
    this.relayedTransfer = { commandId: id, to: target.id, deadlineMs: this.nowMs + this.config.answerTimeoutMs + 2 * this.config.coordinatorTimeoutMs };
    this.send(leader.id, { type: 'TRANSFER_REQUEST', epoch: leader.epoch, to: target.id });
  }

  /**
   * Whom a transfer away from `leaderId` (leading at `epoch`) goes to: `to`, or with null the
   * highest-ranked live Bully member other than the leader. Null once the command is answered
   * here instead (unknown, unfit, or already the leader).
   */
  private transferTarget(id: number, to: NodeId | null, leaderId: NodeId, epoch: number): ElectionMember | null {
    if (to === null) {
      const self = this.view.member(this.selfId);
      const standing = self && this.mayStand() ? [self] : [];
      const target = highestRanked([...standing, ...this.view.alivePeers()].filter((m) => m.id !== leaderId && m.protocol === 'bully'));
      if (!target) this.fail(id, 'no-candidate', 'no other live Bully member to take over');
      return target;
    }
    const member = this.view.all.find((m) => m.id === to);
    if (!member) {
      this.fail(id, 'unknown-node', `${to} is not a known member`);
    } else if (member.id === leaderId) {
      this.reply(id, { ok: true, detail: member.self ? `already the leader at epoch ${epoch}` : `${member.name} already leads at epoch ${epoch}` });
    } else if (member.protocol !== 'bully') {
      this.fail(id, 'no-candidate', `${member.name} runs ${member.protocol}, not bully`);
    } else if (member.self && !this.mayStand()) {
      this.fail(id, 'no-candidate', 'this node resigned or is stopping and does not stand');
    } else if (!member.self && member.state !== 'alive') {
      this.fail(id, 'no-candidate', `${member.name} is ${member.state}`);
    } else {
      return member;
    }
    return null;
  }

  /** Answers a relayed transfer once its target leads, or fails it at the bound. */
  private checkRelayedTransfer(): void {
    const r = this.relayedTransfer;
    if (!r) return;
    const leads = r.to === this.selfId ? this.leadership : this.leader?.id === r.to ? this.leader : null;
    if (leads) {
      this.relayedTransfer = null;
      this.reply(r.commandId, { ok: true, detail: `${this.view.nameOf(r.to)} leads at epoch ${leads.epoch}` });
    } else if (this.nowMs >= r.deadlineMs) {
      this.relayedTransfer = null;
      this.fail(r.commandId, 'transfer-timeout', `${this.view.nameOf(r.to)} did not take over in time; ${this.leader ? `${this.view.nameOf(this.leader.id)} still leads` : 'no leader right now'}`);
    }
  }

  private commandResign(id: number): void {
    const l = this.leadership;
    if (!l) return this.fail(id, 'not-leader', this.notLeaderMessage());
    this.holdUntilMs = this.nowMs + this.config.resignHoldMs;
    const successor = this.view.successor();
    this.stepDown();
    if (successor) this.send(successor.id, { type: 'TRANSFER', epoch: l.epoch });
    const handOff = successor ? `handing off to ${successor.name}` : 'no live member to hand off to';
    this.reply(id, { ok: true, detail: `resigned leadership of epoch ${l.epoch}; ${handOff}; not standing for ${this.config.resignHoldMs} ms` });
  }

  private commandElect(id: number): void {
    if (this.shuttingDown) return this.fail(id, 'shutting-down', 'this node is shutting down');
    if (this.leadership && this.view.selfIsHighestAlive()) {
      return this.reply(id, { ok: true, detail: `already leading at epoch ${this.leadership.epoch}; no live member outranks this node` });
    }
    this.pendingElects.push(id);
    if (this.episode) {
      this.episode.forced = true;
      return;
    }
    this.startElection('command', true);
  }

  private onShutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const id of this.pendingElects) this.fail(id, 'shutting-down', 'this node is shutting down');
    this.pendingElects = [];
    const l = this.leadership;
    const successor = l ? this.view.successor() : null;
    if (l && successor) {
      if (this.transfer) this.finishTransfer({ ok: false, code: 'shutting-down', message: 'this node is shutting down' });
      this.shutdownDeadlineMs = this.nowMs + this.config.coordinatorTimeoutMs;
      this.handedOffEpoch = l.epoch;
      this.handOff(successor.id, null);
      return;
    }
    if (this.candidacy) this.giveUp('aborted', this.summary().term);
    this.shutdownReady();
  }

  private handOff(to: NodeId, commandId: number | null): void {
    const l = this.leadership!;
    this.transfer = { commandId, to, deadlineMs: this.nowMs + this.config.answerTimeoutMs + this.config.coordinatorTimeoutMs };
    this.send(to, { type: 'TRANSFER', epoch: l.epoch });
  }

  private finishTransfer(result: CommandResult): void {
    const t = this.transfer;
    this.transfer = null;
    if (t?.commandId != null) this.reply(t.commandId, result);
  }

  private shutdownReady(): void {
    if (this.shutdownDeadlineMs === null && !this.shuttingDown) return;
    this.shutdownDeadlineMs = null;
    if (this.shutdownReadySent) return;
    this.shutdownReadySent = true;
    this.emit({ type: 'shutdown-ready' });
  }

  private notLeaderMessage(): string {
    return this.leader ? `this node is not the leader; ${this.view.nameOf(this.leader.id)} leads at epoch ${this.leader.epoch}` : 'this node is not the leader; no leader is known';
  }

  // ---- helpers ----

  private settling(): boolean {
    return this.nowMs < this.settleUntilMs;
  }

  /** Whether this node may claim or answer ELECTIONs: not resigned, not stopping. */
  private mayStand(): boolean {
    return !this.shuttingDown && this.holdUntilMs === null;
  }

  private nextEpoch(): number {
    return Math.max(this.durable.highestEpochSeen, this.durable.acceptedEpoch) + 1;
  }

  private renewIntervalMs(): number {
    return Math.max(1, Math.floor(this.config.leaseMs / 4));
  }

  private scheduleRetry(): void {
    if (this.retryAtMs !== null) return;
    this.retryAtMs = this.nowMs + this.config.coordinatorTimeoutMs + this.rng.int(0, this.config.answerTimeoutMs);
  }

  private majorityAlive(): boolean {
    return isMajority(this.view.aliveCount(), this.size());
  }

  private size(): number {
    return clusterSize(this.view.members, this.selfId, this.config.expectedSize, this.durable.members);
  }

  /** Counts acceptances (at or after `sinceMs`) from members of the cluster, self included. */
  private hasMajority(ackAtMs: ReadonlyMap<NodeId, number>, sinceMs = -Infinity): boolean {
    const counted = new Set(countedMembers(this.view.members, this.selfId, this.durable.members));
    // Self always counts; with expectedSize the view may not list every acceptor yet.
    let fresh = 1;
    for (const [id, atMs] of ackAtMs) {
      if (id !== this.selfId && atMs >= sinceMs && (this.config.expectedSize !== null || counted.has(id))) fresh++;
    }
    return isMajority(fresh, this.size());
  }

  private outranksById(a: NodeId, b: NodeId): boolean {
    const rank = (id: NodeId) => ({ id, priority: this.view.member(id)?.priority ?? 0 });
    return outranks(rank(a), rank(b));
  }

  private noteEpoch(epoch: number): void {
    if (epoch <= this.durable.highestEpochSeen) return;
    this.persist({ ...this.durable, highestEpochSeen: epoch });
  }

  /** Accept `leader` for `epoch` durably; the host writes it before the reply leaves. */
  private promise(epoch: number, leader: NodeId): void {
    this.persist({ ...this.durable, acceptedEpoch: epoch, acceptedLeader: leader, highestEpochSeen: Math.max(this.durable.highestEpochSeen, epoch) });
  }

  private promiseIfHigher(epoch: number, leader: NodeId): void {
    if (epoch > this.durable.acceptedEpoch || (epoch === this.durable.acceptedEpoch && this.durable.acceptedLeader !== leader)) this.promise(epoch, leader);
  }

  private persist(state: BullyPersisted): void {
    this.durable = state;
    this.emit({ type: 'persist', state: { ...state } });
  }

  private reject(to: NodeId, epoch: number): void {
    this.send(to, { type: 'REJECT', epoch, leader: this.leadership ? this.selfId : (this.leader?.id ?? null) });
  }

  private broadcast(message: BullyMessage): void {
    for (const m of this.view.reachablePeers()) this.send(m.id, message);
  }

  private send(to: NodeId, message: BullyMessage): void {
    this.emit({ type: 'send', to, message });
  }

  private reply(id: number, result: CommandResult): void {
    this.emit({ type: 'command-result', id, result });
  }

  private fail(id: number, code: string, message: string): void {
    this.reply(id, { ok: false, code, message });
  }

  private emit(effect: Effect): void {
    this.effects.push(effect);
  }
}
