/**
 * The Bully election machine with fencing epochs, a quorum guard and leadership as a lease
 * (issues 3 and 7; the lease arithmetic is ../lease.ts).
 *
 * Rank decides who claims (rank.ts); the epoch decides who wins. A claim is COORDINATOR(E) with
 * E above every epoch seen, persisted before it leaves. A member that accepts it persists the
 * promise (at most one node per epoch, like Raft's votedFor) and grants the claimant a lease: for
 * `leaseMs` on its own clock it helps elect no one else, itself included, unless that node is
 * known gone (it left, or its connection reset while it was talking) or releases the grant. The
 * claimant leads once a majority granted, renews every leaseMs/4, and reports itself leader only
 * while the grants of a majority hold on its clock (counted from when it sent what they
 * accepted). Followers name a leader only once it proved it holds a majority (a renewal), so no
 * two nodes report leadership at one instant and no follower names a mere claimant.
 * Each role has its own step and tick functions, swapped on transition (etcd-raft style).
 */
import { clusterEpoch, MAX_COUNTER, MAX_EPOCH_JUMP, MAX_EPOCH_LEAD, MAX_MEMBERS } from '../bounds.js';
import type { CommandResult, Election, ElectionEffect, ElectionInput, ElectionMember, ElectionStatus, LeadershipCommand, RefusalReason } from '../election.js';
import { leaderLeaseMs } from '../lease.js';
import type { Rng } from '../rng.js';
import type { ElectionSummary, NodeId, Role } from '../types.js';
import type { BullyConfig } from './config.js';
import { INITIAL_BULLY_STATE, type BullyMessage, type BullyPersisted, type CoordinatorKind } from './messages.js';
import { countedMembers, majorityOf } from './quorum.js';
import { highestRanked, outranks } from './rank.js';
import { LeaseRounds } from './rounds.js';
import { BullyView } from './view.js';

export interface BullyInit {
  selfId: NodeId;
  config: BullyConfig;
  /** `cluster.bootstrapExpect`: never claim before the cluster was seen this large. */
  bootstrapExpect: number;
  rng: Rng;
  persisted: BullyPersisted | null;
  nowMs: number;
}

/** An election that keeps meeting answering-but-silent higher nodes gives up after this many rounds. */
const MAX_ELECTION_ROUNDS = 4;

/**
 * After this node itself did not run (SIGSTOP, a blocked loop: no tick for leaseMs/8), what it
 * reads first may have waited in its socket the whole time. Renewals read within this window of
 * waking still earn a grant (that only restrains us) but do not make us name their sender: its
 * lease may have run out long ago. The next renewal, a fresh one, does.
 */
const WAKE_WINDOW_MS = 20;

/**
 * A member counts towards the cluster size for good (the durable member list, and the size a
 * majority is counted of once it is dead) only after it was alive this many lease periods, or
 * granted a lease: one that only flickered (a few heartbeats, a stranger's throwaway identity)
 * must not raise the majority after it has gone.
 */
const EARN_LEASES = 2;

/** How often a follower re-checks which members have earned their place (see EARN_LEASES). */
const EARN_CHECK_MS = 500;

type Effect = ElectionEffect<BullyMessage, BullyPersisted>;
type Message<T extends BullyMessage['type']> = Extract<BullyMessage, { type: T }>;

/** One election at this node, from `election-started` to `election-finished`. */
interface Episode {
  startedMs: number;
  term: number;
  forced: boolean;
  rounds: number;
  /** A member gossiped that it leads: it was asked (an ELECTION) before we claim over it. */
  askedGossipedLeader: boolean;
}

type Candidacy =
  /** ELECTION sent to higher-ranked members (or a grant of ours still runs); claim at `deadlineMs`. */
  | { stage: 'electing'; deadlineMs: number }
  /** A higher member answered; re-elect if its COORDINATOR has not come by `deadlineMs`. */
  | { stage: 'awaiting'; deadlineMs: number }
  /** COORDINATOR(epoch) sent; lead once a majority granted, give up at `deadlineMs`. */
  | {
      stage: 'claiming';
      epoch: number;
      kind: CoordinatorKind;
      rounds: LeaseRounds;
      deadlineMs: number;
      resendAtMs: number;
      /** Members that refused because they promised a newer epoch: each speaks only for itself. */
      rejectedBy: Set<NodeId>;
    };

interface Leadership {
  epoch: number;
  rounds: LeaseRounds;
  renewAtMs: number;
}

/** The lease this node granted: until `untilMs` (its clock) it helps elect nobody but `leader`. */
interface Grant {
  leader: NodeId;
  epoch: number;
  untilMs: number;
  /**
   * Until when we name `leader` as the leader: a renewal proved it held a majority, and said how
   * long its lease still ran. 0 while it has only claimed.
   */
  namedUntilMs: number;
}

/** A claim this node could not accept yet (a grant of ours still ran); answered once it ends. */
interface DeferredClaim {
  from: NodeId;
  epoch: number;
  kind: CoordinatorKind;
  round: number;
  atMs: number;
}

interface PendingTransfer {
  commandId: number | null;
  to: NodeId;
  /** The epoch this node led when it handed off. */
  fromEpoch: number;
  deadlineMs: number;
}

/** A command asked of a follower and relayed to the leader; answered when `done` holds or at the deadline. */
interface RelayedCommand {
  commandId: number;
  kind: 'transfer' | 'resign' | 'elect';
  /** transfer/elect: the node that should end up leading; resign: the leader that should stop. */
  target: NodeId;
  deadlineMs: number;
}

export function createBully(init: BullyInit): Election<BullyMessage, BullyPersisted> {
  return new Bully(init);
}

class Bully implements Election<BullyMessage, BullyPersisted> {
  readonly protocol = 'bully' as const;
  private readonly selfId: NodeId;
  private readonly config: BullyConfig;
  private readonly bootstrapExpect: number;
  private readonly rng: Rng;
  /** How long a leader may count a grant after sending what earned it. */
  private readonly leaderLeaseDurationMs: number;
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
  private grant: Grant | null = null;
  /** The established leader this node last followed: a plain claim is refused while it still leads. */
  private lastLeader: { id: NodeId; epoch: number } | null = null;
  private deferred: DeferredClaim | null = null;
  /**
   * A renewal refused because our grant to another leader still ran. When that grant ends (the
   * old leader is known gone, say its connection reset a moment after the renewal came) we follow
   * it at once, as heard then, instead of electing or waiting for the next renewal.
   */
  private deferredRenewal: { from: NodeId; epoch: number; round: number; leaseMs: number; atMs: number } | null = null;
  private candidacy: Candidacy | null = null;
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
  private relayed: RelayedCommand | null = null;
  private pendingElects: number[] = [];
  /** Every member the view listed since this life began (see rememberMembers). */
  private readonly listedThisLife = new Set<NodeId>();
  /** With preempt: when this node last asked the leader to hand over to it. */
  private preemptAskedAtMs = -Infinity;
  private lastTickMs: number;
  /** Until when what we read may be old (we just woke from a stall); see WAKE_WINDOW_MS. */
  private wokeUntilMs = -Infinity;
  /** Members that earned their place in the cluster size (see EARN_LEASES). */
  private readonly earned = new Set<NodeId>();
  private earnCheckAtMs: number;
  /** Members an operator forgot (`conclave forget`), with when; they count again once back alive. */
  private readonly forgotten = new Map<NodeId, number>();

  constructor(init: BullyInit) {
    this.selfId = init.selfId;
    this.config = init.config;
    this.bootstrapExpect = Math.max(1, init.bootstrapExpect);
    this.rng = init.rng;
    this.nowMs = init.nowMs;
    this.startedMs = init.nowMs;
    this.leaderLeaseDurationMs = leaderLeaseMs(init.config.leaseMs);
    this.durable = { ...(init.persisted ?? INITIAL_BULLY_STATE) };
    this.view = new BullyView(init.selfId, []);
    this.viewStableSinceMs = init.nowMs;
    this.settleUntilMs = init.nowMs + init.config.settleMs;
    this.lastTickMs = init.nowMs;
    this.earnCheckAtMs = init.nowMs;
    const { leaseTo, acceptedEpoch } = this.durable;
    if (leaseTo !== null && leaseTo !== init.selfId) {
      // The previous life may have renewed a grant to leaseTo just before it stopped, and that
      // leader may still count it: honour it for one more lease, as if granted now.
      this.grant = { leader: leaseTo, epoch: acceptedEpoch, untilMs: init.nowMs + init.config.leaseMs, namedUntilMs: 0 };
    }
  }

  // ---- Election interface ----

  step(input: ElectionInput<BullyMessage>): void {
    this.nowMs = Math.max(this.nowMs, input.nowMs);
    // Ticks come every few ms while this node runs: a longer gap means it did not run.
    if (this.nowMs - this.lastTickMs > this.config.leaseMs / 8) this.wokeUntilMs = this.nowMs + WAKE_WINDOW_MS;
    if (input.type === 'tick') this.lastTickMs = this.nowMs;
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
    this.checkRelayed();
  }

  deadline(): number {
    // Transitional until every timer reports its deadline: the host's former 25 ms tick.
    return this.nowMs + 25;
  }

  drain(): Effect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }

  summary(nowMs: number): ElectionSummary {
    const fencingToken = this.durable.acceptedEpoch;
    const l = this.leadership;
    if (l) {
      if (this.leaseExpiresAtMs(l) > nowMs) return { role: 'leader', term: l.epoch, leader: this.selfId, fencingToken };
      // The lease ran out since the last step: report what the next tick will make of it.
      return { role: 'follower', term: l.epoch, leader: null, fencingToken };
    }
    if (this.candidacy?.stage === 'claiming') return { role: 'candidate', term: this.candidacy.epoch, leader: null, fencingToken };
    const named = this.namedLeader(nowMs);
    return { role: this.role, term: named?.epoch ?? fencingToken, leader: named?.id ?? null, fencingToken };
  }

  status(nowMs: number): ElectionStatus {
    const l = this.leadership;
    const expiresAtMs = l ? this.leaseExpiresAtMs(l) : -Infinity;
    // A lease that never ends (one-node cluster, quorum none) is reported as one full lease.
    const remainingMs = Number.isFinite(expiresAtMs) ? expiresAtMs - nowMs : this.leaderLeaseDurationMs;
    return {
      leaseRemainingMs: expiresAtMs > nowMs ? Math.floor(remainingMs) : null,
      bootstrap: { expect: this.bootstrapExpect, seen: this.seenMembers(), complete: this.durable.bootstrapped },
    };
  }

  // ---- inputs ----

  private tick(): void {
    if (this.holdUntilMs !== null && this.nowMs >= this.holdUntilMs) {
      this.holdUntilMs = null;
      if (this.role === 'follower' && !this.activeGrant()) this.scheduleRetry();
    }
    if (this.shutdownDeadlineMs !== null && this.nowMs >= this.shutdownDeadlineMs) this.shutdownReady();
    if (this.transfer && this.nowMs >= this.transfer.deadlineMs) {
      const leader = this.namedLeader(this.nowMs);
      const still = leader ? `${this.view.nameOf(leader.id)} leads` : 'a new election follows';
      this.finishTransfer({ ok: false, code: 'transfer-timeout', message: `${this.view.nameOf(this.transfer.to)} did not take over in time; ${still}` });
      if (!leader) this.scheduleRetry();
    }
    if (this.grant && this.nowMs >= this.grant.untilMs) this.grantEnded('leader-lease-lapsed');
    if (!this.settleEnded && !this.settling()) {
      this.settleEnded = true;
      if (this.role === 'follower' && !this.activeGrant()) this.startElection('no-leader-after-settle', false);
    }
    if (this.nowMs >= this.earnCheckAtMs) {
      this.earnCheckAtMs = this.nowMs + EARN_CHECK_MS;
      this.rememberMembers();
    }
    this.tickRole();
  }

  private onMembers(members: readonly ElectionMember[]): void {
    const wasAlive = new Set(this.view.alivePeers().map((m) => m.id));
    this.view = new BullyView(this.selfId, members);
    const key = this.view.stabilityKey();
    if (key !== this.viewKey) {
      this.viewKey = key;
      this.viewStableSinceMs = this.nowMs;
    }
    // The highest epoch members gossip is a hint for our next claim (it saves a rejected round),
    // believed only a little above what most of them say: one member must not move our epochs.
    const epochs = this.gossipedEpochs();
    this.noteEpoch(Math.min(Math.max(0, ...epochs), clusterEpoch(epochs) + MAX_EPOCH_LEAD));
    this.checkBootstrap();
    const gone = this.grant ? this.grantHolderGone(this.grant) : null;
    if (gone) this.grantEnded(gone);
    this.reconsiderDeferred();
    if (this.leadership) {
      if (this.checkLease()) this.renewToNewcomers(this.leadership, wasAlive);
    } else if (this.role === 'follower' && !this.activeGrant() && !this.settling() && this.retryAtMs === null) {
      // A leaderless node whose view just changed (say a partition healed) tries at once.
      this.startElection('no-leader', false);
    }
    this.rememberMembers();
  }

  private onMessage(from: NodeId, message: BullyMessage): void {
    if (from === this.selfId || this.view.isForeign(from)) return;
    const sender = this.view.member(from);
    if (!sender || (sender.state !== 'alive' && sender.state !== 'suspect')) {
      return this.refuse(from, 'not-a-member', `${message.type} from a peer that is not a live member of this cluster`);
    }
    const ceiling = this.epochCeiling();
    if (message.epoch > ceiling) {
      return this.refuse(from, 'epoch-out-of-range', `${message.type} at epoch ${message.epoch}, more than ${MAX_EPOCH_JUMP} above the cluster's ${ceiling - MAX_EPOCH_JUMP}`);
    }
    this.noteEpoch(message.epoch);
    switch (message.type) {
      case 'ELECTION':
        return this.onElection(from, message);
      case 'TRANSFER':
        return this.onTransfer(from, message);
      case 'TRANSFER_REQUEST':
        return this.onTransferRequest(from, message);
      case 'RESIGN_REQUEST':
        return this.onResignRequest(from, message);
      case 'RELEASE':
        return this.onRelease(from, message);
      case 'FORGET':
        return this.onForget(message);
      default:
        return this.stepRole(from, message);
    }
  }

  // ---- messages every role handles alike ----

  private onElection(from: NodeId, message: Message<'ELECTION'>): void {
    // Not standing (resigned, stopping): stay silent so the sender may claim.
    if (!this.mayStand()) return;
    // Only a node that saw the cluster whole elects: the sender has, so the cluster exists (as
    // when a leader renews to us), and the highest rank should lead it whoever saw it first.
    if (!this.durable.bootstrapped) this.persist({ ...this.durable, bootstrapped: true });
    const sender = this.view.member(from);
    const senderOutranks = sender !== undefined && outranks(sender, this.view.self);
    if (!senderOutranks) this.send(from, { type: 'ANSWER', epoch: this.summary(this.nowMs).term });
    const l = this.leadership;
    if (l) {
      // Re-assert the current epoch instead of starting a new one, whoever asks (a higher node
      // that heard we lead asks before claiming): no leader change.
      this.sendRenewal(from, l);
      return;
    }
    if (senderOutranks) return;
    if (this.episode) {
      this.episode.forced ||= message.forced;
      return;
    }
    // A settling node answers (it outranks the sender) but elects only once it has listened.
    if (this.settling() || this.activeGrant()) return;
    this.startElection(message.forced ? 'forced-by-peer' : 'election-from-lower', message.forced);
  }

  /**
   * The leader we granted to hands over: its grant is released, and we claim at once. Only the
   * holder of our grant may tell us so; without one, the claim is an ordinary one that members
   * bound to a leader refuse.
   */
  private onTransfer(from: NodeId, _message: Message<'TRANSFER'>): void {
    if (!this.mayStand() || this.leadership) return;
    const g = this.activeGrant();
    if (g && g.leader !== from) return;
    if (g) this.grant = null;
    this.startElection(`transfer-from-${this.view.nameOf(from)}`, true, 'takeover');
  }

  /** A member relays an operator's transfer: hand off as if asked here (the member sees the result). */
  private onTransferRequest(from: NodeId, message: Message<'TRANSFER_REQUEST'>): void {
    const l = this.leadership;
    if (!l || message.epoch !== l.epoch || this.transfer || this.shuttingDown || !this.isFollower(l, from)) return;
    const target = this.view.member(message.to);
    if (!target || target.self || target.protocol !== 'bully' || target.state !== 'alive' || !this.isFollower(l, target.id)) return;
    this.handOff(target.id, null);
  }

  /** A member relays an operator's resign: resign as if asked here. */
  private onResignRequest(from: NodeId, message: Message<'RESIGN_REQUEST'>): void {
    const l = this.leadership;
    if (!l || message.epoch !== l.epoch || this.shuttingDown || !this.isFollower(l, from)) return;
    this.resign(l);
  }

  /**
   * Whether `id` follows us now: its grant of one of our recent rounds still holds. Only such a
   * member relays an operator's command (it asked us as our follower), and only such a member can
   * take over (it would otherwise not claim, and the hand-off would end in a leaderless election).
   */
  private isFollower(l: Leadership, id: NodeId): boolean {
    return l.rounds.grantHolds(id, this.nowMs);
  }

  /** Only the node we granted to (or last followed) can end that by its own word. */
  private onRelease(from: NodeId, message: Message<'RELEASE'>): void {
    if (this.lastLeader?.id === from && message.epoch >= this.lastLeader.epoch) this.lastLeader = null;
    const g = this.grant;
    if (g && g.leader === from && g.epoch === message.epoch) this.grantEnded('leader-released');
    else this.reconsiderDeferred();
  }

  /** Claims and takeovers; renewals go to onRenewal. */
  private onClaim(from: NodeId, epoch: number, kind: CoordinatorKind, round: number): void {
    const { acceptedEpoch, acceptedLeader } = this.durable;
    if (epoch < acceptedEpoch || (epoch === acceptedEpoch && acceptedLeader !== from)) {
      this.reject(from, acceptedEpoch);
      return;
    }
    if (epoch === acceptedEpoch) {
      // A resend of what we accepted: the same promise, granted again from now.
      if (this.grant?.leader !== from || this.grant.epoch !== epoch) this.grant = { leader: from, epoch, untilMs: 0, namedUntilMs: 0 };
      this.grant.untilMs = this.nowMs + this.config.leaseMs;
      this.send(from, { type: 'ACCEPT', epoch, round });
      return;
    }
    const blocking = this.claimBlockedBy(from, kind);
    if (blocking !== null) {
      if (!this.deferred || epoch >= this.deferred.epoch) this.deferred = { from, epoch, kind, round, atMs: this.nowMs };
      this.reject(from, blocking);
      return;
    }
    if (this.candidacy?.stage === 'claiming') this.abandonClaim();
    this.promise(epoch, from);
    this.grant = { leader: from, epoch, untilMs: this.nowMs + this.config.leaseMs, namedUntilMs: 0 };
    this.send(from, { type: 'ACCEPT', epoch, round });
    if (this.episode) this.finishEpisode('lost', epoch);
    if (this.role !== 'follower') this.becomeFollower();
    this.retryAtMs = null;
  }

  /**
   * The epoch that stops us accepting a claim of `from` now, or null. A grant of ours that still
   * runs stops every claim; any claim is also refused while the leader we followed is alive and
   * still says it leads (its own gossip) and has not released us: one node's bad link, or a
   * stranger calling its claim a takeover, must not depose it. A real hand-off released us first.
   */
  private claimBlockedBy(from: NodeId, _kind: CoordinatorKind): number | null {
    const g = this.activeGrant();
    if (g && g.leader !== from) return g.epoch;
    if (this.leadership) return this.leadership.epoch;
    if (this.lastLeader && this.lastLeader.id !== from) {
      const m = this.view.member(this.lastLeader.id);
      if (m && m.state === 'alive' && m.role === 'leader' && m.term >= this.lastLeader.epoch) return this.lastLeader.epoch;
    }
    return null;
  }

  /**
   * A leader re-announces its epoch: follow it and grant it another lease. Its epoch may lie
   * below what we accepted since (a claim of ours or another's that came to nothing): following
   * it is safe once no grant of ours runs for anyone else. A renewal is only the sender's word
   * that it holds a majority, so it never overrides what we know: a leader whose own lease holds
   * refuses it (no two leases overlap), and so does a member whose grant to another still runs
   * (it follows once that grant ends). One member's message cannot depose a working leader.
   */
  private onRenewal(from: NodeId, epoch: number, round: number, leaseMs: number): void {
    const { acceptedEpoch, acceptedLeader } = this.durable;
    const l = this.leadership;
    // With quorum none there are no real leases (each side of a split leads): the higher epoch wins.
    const none = this.quorumNone();
    if (l && (none ? epoch <= l.epoch : this.checkLease())) {
      this.reject(from, l.epoch);
      return;
    }
    const g = this.activeGrant();
    if (g !== null && g.leader !== from && !(none && epoch > g.epoch)) {
      if (epoch > g.epoch) this.deferredRenewal = { from, epoch, round, leaseMs, atMs: this.nowMs };
      this.reject(from, g.epoch);
      return;
    }
    if (epoch < acceptedEpoch && this.candidacy?.stage === 'claiming') {
      this.reject(from, acceptedEpoch);
      return;
    }
    // A leader established at `epoch` had a majority's grants, so any lease older than that
    // epoch has run out; switching within an epoch is safe only towards an established leader
    // too (the node we accepted for it can no longer gather a majority).
    if (epoch > acceptedEpoch || (epoch === acceptedEpoch && acceptedLeader !== from)) this.promise(epoch, from);
    if (this.durable.leaseTo !== from) this.persist({ ...this.durable, leaseTo: from });
    if (this.candidacy?.stage === 'claiming') this.abandonClaim();
    if (this.leadership) this.endLeadership();
    // Name it no longer than its lease ran as it spoke (shortened for clock drift), and not from
    // a renewal that may have waited out a stall of ours in the socket.
    const fresh = this.nowMs >= this.wokeUntilMs;
    const previous = this.grant?.leader === from && this.grant.epoch === epoch ? this.grant.namedUntilMs : 0;
    // No leader's lease runs longer than ours: a larger figure is a bug or a lie.
    const namedForMs = leaderLeaseMs(Math.min(leaseMs, this.config.leaseMs));
    this.grant = { leader: from, epoch, untilMs: this.nowMs + this.config.leaseMs, namedUntilMs: fresh ? this.nowMs + namedForMs : Math.min(previous, this.nowMs) };
    this.earned.add(from);
    this.lastLeader = { id: from, epoch };
    this.deferred = null;
    this.follow(epoch);
    this.send(from, { type: 'ACCEPT', epoch, round });
  }

  // ---- role: follower ----

  private stepFollower(from: NodeId, message: BullyMessage): void {
    switch (message.type) {
      case 'COORDINATOR':
        if (message.kind === 'renew') return this.onRenewal(from, message.epoch, message.round, message.leaseMs);
        return this.onClaim(from, message.epoch, message.kind, message.round);
      case 'ACCEPT':
        return this.releaseStaleAccept(from, message.epoch);
      default:
        return;
    }
  }

  private tickFollower(): void {
    if (!this.activeGrant()) {
      if (this.retryAtMs !== null && this.nowMs >= this.retryAtMs && !this.settling()) {
        this.retryAtMs = null;
        this.startElection('no-leader', false);
      }
      return;
    }
    if (this.shouldPreempt()) this.askLeaderToHandOver(this.selfId);
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
        if (message.kind === 'renew') return this.onRenewal(from, message.epoch, message.round, message.leaseMs);
        return this.onClaim(from, message.epoch, message.kind, message.round);
      case 'ACCEPT':
        if (c.stage !== 'claiming' || message.epoch !== c.epoch) return this.releaseStaleAccept(from, message.epoch);
        c.rounds.ack(from, message.round);
        this.earned.add(from);
        if (this.quorumNone() || this.leaseExpiresAt(c.rounds) > this.nowMs) this.becomeLeader(c.epoch, c.rounds);
        return;
      case 'REJECT': {
        if (c.stage !== 'claiming' || message.epoch <= c.epoch) return;
        // That member promised a newer epoch: its refusal speaks for itself alone. Give up only
        // once the refusals leave no majority to be had.
        c.rejectedBy.add(from);
        const size = this.size();
        if (size - c.rejectedBy.size < majorityOf(size)) this.giveUp('lost', message.epoch);
        return;
      }
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
      // Covers lost COORDINATORs, and members whose grant to another node had not run out yet.
      c.resendAtMs = this.nowMs + this.config.answerTimeoutMs;
      const round = c.rounds.next(this.nowMs);
      for (const m of this.view.reachablePeers()) {
        if (!c.rounds.acked(m.id)) this.send(m.id, { type: 'COORDINATOR', epoch: c.epoch, kind: c.kind, round, leaseMs: 0 });
      }
    }
  }

  // ---- role: leader ----

  private stepLeader(from: NodeId, message: BullyMessage): void {
    const l = this.leadership!;
    switch (message.type) {
      case 'COORDINATOR':
        if (message.kind === 'renew') return this.onRenewal(from, message.epoch, message.round, message.leaseMs);
        // A leader holds its own lease: it yields only by handing off (TRANSFER) or resigning.
        this.reject(from, l.epoch);
        return;
      case 'ACCEPT':
        if (message.epoch === l.epoch) {
          l.rounds.ack(from, message.round);
          this.earned.add(from);
        } else {
          this.releaseStaleAccept(from, message.epoch);
        }
        return;
      case 'REJECT':
        // That member promised a newer epoch: its grant to us is gone.
        if (message.epoch > l.epoch) {
          l.rounds.drop(from);
          this.checkLease();
        }
        return;
      default:
        return;
    }
  }

  private tickLeader(): void {
    const l = this.leadership!;
    if (!this.checkLease()) return;
    if (this.nowMs >= l.renewAtMs) this.renew(l);
  }

  private renew(l: Leadership): void {
    l.renewAtMs = this.nowMs + this.renewIntervalMs();
    l.rounds.next(this.nowMs);
    for (const m of this.view.reachablePeers()) this.sendRenewal(m.id, l);
  }

  /** The current round, with the lease as it stands now (before this round's grants extend it). */
  private sendRenewal(to: NodeId, l: Leadership): void {
    const remainingMs = Math.max(0, Math.floor(Math.min(this.leaseExpiresAtMs(l), this.nowMs + this.leaderLeaseDurationMs) - this.nowMs));
    this.send(to, { type: 'COORDINATOR', epoch: l.epoch, kind: 'renew', round: l.rounds.current, leaseMs: remainingMs });
  }

  /** A member that just joined or came back hears the current round at once, not at the next renewal. */
  private renewToNewcomers(l: Leadership, wasAlive: ReadonlySet<NodeId>): void {
    for (const m of this.view.alivePeers()) if (!wasAlive.has(m.id)) this.sendRenewal(m.id, l);
  }

  /** Steps down when the lease no longer holds; true while still leading. */
  private checkLease(): boolean {
    const l = this.leadership;
    if (!l) return false;
    if (this.leaseExpiresAtMs(l) > this.nowMs) return true;
    this.stepDown();
    return false;
  }

  private leaseExpiresAtMs(l: Leadership): number {
    return this.quorumNone() ? Infinity : this.leaseExpiresAt(l.rounds);
  }

  /**
   * A lease rests only on members that count towards the cluster and whose connection to us
   * still stands: a leader that loses its connections to a majority steps down at once.
   */
  private leaseExpiresAt(rounds: LeaseRounds): number {
    const counted = new Set(this.countedMemberIds());
    const anyAcceptor = this.config.expectedSize !== null;
    return rounds.expiresAtMs(majorityOf(this.size()), (id) => id !== this.selfId && (anyAcceptor || counted.has(id)) && !this.view.member(id)?.connectionLost);
  }

  // ---- grants ----

  private activeGrant(): Grant | null {
    const g = this.grant;
    return g && this.nowMs < g.untilMs ? g : null;
  }

  /** The leader a follower names at `nowMs`: one that proved its majority, while our grant to it runs. */
  private namedLeader(nowMs: number): { id: NodeId; epoch: number } | null {
    const g = this.grant;
    if (!g || nowMs >= g.namedUntilMs || nowMs >= g.untilMs) return null;
    return { id: g.leader, epoch: g.epoch };
  }

  /**
   * Why the holder of our grant is known to no longer lead, or null. Silence is no such proof
   * (the grant simply runs out); these are: it left, its connection reset while it was talking to
   * us, or its own heartbeat says it follows at (or past) the epoch we granted.
   */
  private grantHolderGone(g: Grant): string | null {
    const m = this.view.member(g.leader);
    if (!m) return null;
    if (m.state === 'left') return 'leader-left';
    if (m.connectionLost) return 'leader-connection-reset';
    if (m.state === 'alive' && m.role === 'follower' && m.term >= g.epoch) return 'leader-stepped-down';
    return null;
  }

  /**
   * Our grant ended (ran out, released, holder gone): answer what waited, else elect. A leader
   * that released us or says it stepped down (its heartbeat may overtake its RELEASE) usually
   * hands off, and the target claims at once: give it that moment first.
   */
  private grantEnded(reason: string): void {
    this.grant = null;
    this.reconsiderDeferred();
    this.reconsiderDeferredRenewal();
    if (this.activeGrant() || this.leadership || this.role === 'candidate') return;
    const handingOff = reason === 'leader-released' || reason === 'leader-stepped-down';
    if (handingOff || this.settling() || !this.mayStand()) {
      this.scheduleRetry();
      return;
    }
    this.startElection(reason, false);
  }

  /** Answers the claim that waited for our grant, if it is still worth answering. */
  private reconsiderDeferred(): void {
    const d = this.deferred;
    if (!d) return;
    if (this.nowMs - d.atMs > this.config.coordinatorTimeoutMs || !this.view.isAlive(d.from) || d.epoch <= this.durable.acceptedEpoch) {
      this.deferred = null;
      return;
    }
    if (this.claimBlockedBy(d.from, d.kind) !== null) return;
    this.deferred = null;
    // As if the claim arrived now (a delayed copy, which the protocol tolerates anyway).
    this.onClaim(d.from, d.epoch, d.kind, d.round);
  }

  /** Follows the renewal that waited for our grant to end, if it is recent and its sender alive. */
  private reconsiderDeferredRenewal(): void {
    const d = this.deferredRenewal;
    this.deferredRenewal = null;
    if (!d || this.activeGrant() || this.leadership || !this.view.isAlive(d.from)) return;
    const ageMs = this.nowMs - d.atMs;
    // Its lease as it stood when it spoke, less the time since: never named past what it said.
    if (ageMs > this.config.answerTimeoutMs || ageMs >= d.leaseMs) return;
    this.onRenewal(d.from, d.epoch, d.round, d.leaseMs - ageMs);
  }

  /** An ACCEPT for an epoch we no longer claim or lead: let that member drop its grant to us. */
  private releaseStaleAccept(from: NodeId, epoch: number): void {
    const current = this.leadership?.epoch ?? (this.candidacy?.stage === 'claiming' ? this.candidacy.epoch : null);
    if (epoch !== current) this.send(from, { type: 'RELEASE', epoch });
  }

  // ---- bootstrap ----

  /**
   * Members seen, what bootstrapExpect counts: every Bully member in the view whatever its state
   * (one that left was still part of the cluster), those remembered durably, and itself.
   */
  private seenMembers(): number {
    return new Set([this.selfId, ...this.view.members.map((m) => m.id), ...this.durable.members]).size;
  }

  private checkBootstrap(): void {
    if (this.durable.bootstrapped || this.seenMembers() < this.bootstrapExpect) return;
    this.persist({ ...this.durable, bootstrapped: true });
  }

  /**
   * Keeps the durable member list: it grows with every member seen, and loses a member when it
   * left, or when membership forgot it (listed earlier in this life, gone now) while this node is
   * part of a working cluster. A member not heard from since a restart is not forgotten, only not seen yet:
   * dropping it would shrink the majority a restarted node counts against.
   */
  private rememberMembers(): void {
    for (const m of this.view.members) {
      this.listedThisLife.add(m.id);
      // Back after an operator forgot it: it counts again, once it has earned its place anew.
      const forgotAtMs = this.forgotten.get(m.id);
      if (forgotAtMs !== undefined && m.state === 'alive' && (m.stateSinceMs ?? Infinity) > forgotAtMs) this.forgotten.delete(m.id);
    }
    const current = countedMembers(this.view.members.filter((m) => this.hasEarned(m) && !this.forgotten.has(m.id)), this.selfId);
    const known = this.durable.members;
    const leader = this.namedLeader(this.nowMs);
    const working = this.leadership !== null || (leader !== null && this.view.isAlive(leader.id));
    const listed = new Set(this.view.members.map((m) => m.id));
    const forgotten = (id: NodeId) => working && this.listedThisLife.has(id) && !listed.has(id);
    // A member that announced its leave is no longer part of the cluster.
    const left = (id: NodeId) => this.view.stateOf(id) === 'left';
    let next = [...new Set([...known.filter((id) => !forgotten(id) && !left(id) && !this.forgotten.has(id)), ...current])].sort();
    next = next.slice(0, MAX_MEMBERS);
    if (next.length === known.length && next.every((id, i) => id === known[i])) return;
    this.persist({ ...this.durable, members: next });
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
      case 'forget':
        return this.commandForget(id, command.id);
    }
  }

  /**
   * An operator says `target` is gone for good: it stops counting towards the cluster size here
   * at once, and at every live member that also sees it dead or gone (told by FORGET).
   */
  private commandForget(id: number, target: NodeId): void {
    if (target === this.selfId) return this.fail(id, 'cannot-forget-self', 'a node cannot forget itself; stop it with SIGTERM and it leaves the cluster');
    const member = this.view.all.find((m) => m.id === target);
    if (member && (member.state === 'alive' || member.state === 'suspect')) {
      return this.fail(id, 'member-alive', `${member.name} is ${member.state}: only a dead or departed member can be forgotten (stop it first)`);
    }
    const counted = this.countedMemberIds().includes(target);
    if (!member && !counted) return this.fail(id, 'unknown-node', `${target} is not a member this node counts`);
    const before = this.size();
    this.forget(target);
    const told = this.view.alivePeers();
    for (const m of told) this.send(m.id, { type: 'FORGET', epoch: this.durable.acceptedEpoch, id: target });
    const after = this.size();
    const floor = after === this.bootstrapExpect && after > this.countedMemberIds().length ? ` (never below bootstrapExpect ${this.bootstrapExpect})` : '';
    this.reply(id, {
      ok: true,
      detail: `forgot ${member?.name ?? target}: the cluster size here went from ${before} to ${after}${floor}, a majority is now ${majorityOf(after)}; told ${told.length} live member(s), each obeys if it too sees ${member?.name ?? target} gone`,
    });
  }

  /** Another member's operator forgot `id`: obey only if our own view agrees it is gone. */
  private onForget(message: Message<'FORGET'>): void {
    if (message.id === this.selfId) return;
    const m = this.view.member(message.id);
    if (m && (m.state === 'alive' || m.state === 'suspect')) return;
    this.forget(message.id);
  }

  private forget(id: NodeId): void {
    this.forgotten.set(id, this.nowMs);
    this.earned.delete(id);
    if (this.durable.members.includes(id)) this.persist({ ...this.durable, members: this.durable.members.filter((m) => m !== id) });
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
    const leader = this.liveNamedLeader();
    if (!leader) return this.fail(id, 'not-leader', 'this node is not the leader and knows no live leader to relay the transfer to');
    if (this.relayed) return this.fail(id, 'busy', `a relayed ${this.relayed.kind} is already under way`);
    const target = this.transferTarget(id, to, leader.id, leader.epoch);
    if (!target) return;
    this.relay(id, 'transfer', target.id);
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

  private relay(commandId: number, kind: RelayedCommand['kind'], target: NodeId): void {
    this.relayed = { commandId, kind, target, deadlineMs: this.nowMs + this.config.answerTimeoutMs + 2 * this.config.coordinatorTimeoutMs };
  }

  /** Answers a relayed command once it took effect, or fails it at the bound. */
  private checkRelayed(): void {
    const r = this.relayed;
    if (!r) return;
    const leader = this.leadership ? { id: this.selfId, epoch: this.leadership.epoch } : this.namedLeader(this.nowMs);
    const done = r.kind === 'resign' ? leader !== null && leader.id !== r.target : leader?.id === r.target;
    if (done && leader) {
      this.relayed = null;
      const detail =
        r.kind === 'resign'
          ? `${this.view.nameOf(r.target)} resigned; ${this.view.nameOf(leader.id)} leads at epoch ${leader.epoch}`
          : `${this.view.nameOf(r.target)} leads at epoch ${leader.epoch}`;
      this.reply(r.commandId, { ok: true, detail });
    } else if (this.nowMs >= r.deadlineMs) {
      this.relayed = null;
      const now = leader ? `${this.view.nameOf(leader.id)} leads` : 'no leader right now';
      const what = r.kind === 'resign' ? `${this.view.nameOf(r.target)} did not resign in time` : `${this.view.nameOf(r.target)} did not take over in time`;
      this.fail(r.commandId, r.kind === 'resign' ? 'resign-timeout' : 'transfer-timeout', `${what}; ${now}`);
    }
  }

  private commandResign(id: number): void {
    const l = this.leadership;
    if (l) {
      const successor = this.resign(l);
      const handOff = successor ? `handing off to ${successor.name}` : 'no live member to hand off to';
      return this.reply(id, { ok: true, detail: `resigned leadership of epoch ${l.epoch}; ${handOff}; not standing for ${this.config.resignHoldMs} ms` });
    }
    // Asked of a follower: relayed to the leader it follows, as a transfer is.
    const leader = this.liveNamedLeader();
    if (!leader) return this.fail(id, 'not-leader', this.notLeaderMessage());
    if (this.relayed) return this.fail(id, 'busy', `a relayed ${this.relayed.kind} is already under way`);
    this.relay(id, 'resign', leader.id);
    this.send(leader.id, { type: 'RESIGN_REQUEST', epoch: leader.epoch });
  }

  /** Stops leading, stays out for resignHoldMs, and hands off to the next-ranked live member. */
  private resign(l: Leadership): ElectionMember | null {
    this.holdUntilMs = this.nowMs + this.config.resignHoldMs;
    const successor = this.view.successor();
    this.stepDown();
    if (successor) this.send(successor.id, { type: 'TRANSFER', epoch: l.epoch });
    return successor;
  }

  private commandElect(id: number): void {
    if (this.shuttingDown) return this.fail(id, 'shutting-down', 'this node is shutting down');
    const l = this.leadership;
    if (l && this.view.selfIsHighestAlive()) {
      return this.reply(id, { ok: true, detail: `already leading at epoch ${l.epoch}; no live member outranks this node` });
    }
    if (l) {
      // The highest-ranked live member takes over: a hand-off, so no lease is broken.
      const target = this.view.successor();
      if (target) return this.handOff(target.id, id);
    }
    const leader = this.liveNamedLeader();
    if (leader) {
      // A leader holds the lease: the Bully outcome (highest rank leads) comes by its hand-off.
      const self = this.view.member(this.selfId);
      const best = highestRanked([...(self && this.mayStand() ? [self] : []), ...this.view.alivePeers()]);
      if (!best || best.id === leader.id) {
        return this.reply(id, { ok: true, detail: `${this.view.nameOf(leader.id)} already leads at epoch ${leader.epoch}; no live member outranks it` });
      }
      if (this.relayed) return this.fail(id, 'busy', `a relayed ${this.relayed.kind} is already under way`);
      this.relay(id, 'elect', best.id);
      this.send(leader.id, { type: 'TRANSFER_REQUEST', epoch: leader.epoch, to: best.id });
      return;
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
    if (l) this.stepDown();
    if (this.candidacy) this.giveUp('aborted', this.summary(this.nowMs).term);
    this.shutdownReady();
  }

  /**
   * Release first, then TRANSFER: this node stops leading before anyone may grant the target,
   * so the hand-off never has two leaders; the target claims at once and the others, released,
   * accept it.
   */
  private handOff(to: NodeId, commandId: number | null): void {
    const l = this.leadership!;
    this.transfer = { commandId, to, fromEpoch: l.epoch, deadlineMs: this.nowMs + this.config.answerTimeoutMs + this.config.coordinatorTimeoutMs };
    this.release(l.epoch);
    this.endLeadership();
    this.send(to, { type: 'TRANSFER', epoch: l.epoch });
  }

  /** Tells every reachable member that our claim or leadership of `epoch` is over. */
  private release(epoch: number): void {
    this.broadcast({ type: 'RELEASE', epoch });
  }

  private askLeaderToHandOver(to: NodeId): void {
    const leader = this.liveNamedLeader();
    if (!leader || this.nowMs - this.preemptAskedAtMs < this.config.preemptDelayMs) return;
    this.preemptAskedAtMs = this.nowMs;
    this.send(leader.id, { type: 'TRANSFER_REQUEST', epoch: leader.epoch, to });
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
    const leader = this.namedLeader(this.nowMs);
    return leader ? `this node is not the leader; ${this.view.nameOf(leader.id)} leads at epoch ${leader.epoch}` : 'this node is not the leader; no leader is known';
  }

  private liveNamedLeader(): { id: NodeId; epoch: number } | null {
    const leader = this.namedLeader(this.nowMs);
    return leader && this.view.isAlive(leader.id) ? leader : null;
  }

  private shouldPreempt(): boolean {
    const c = this.config;
    if (!c.preempt || this.settling() || !this.mayStand()) return false;
    const named = this.namedLeader(this.nowMs);
    const leader = named ? this.view.member(named.id) : undefined;
    if (!leader || leader.state !== 'alive' || !outranks(this.view.self, leader) || !this.view.selfIsHighestAlive()) return false;
    return this.nowMs - this.viewStableSinceMs >= c.preemptDelayMs && this.nowMs - this.startedMs >= c.preemptDelayMs;
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
    this.retryAtMs = null;
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickCandidate;
  }

  private becomeLeader(epoch: number, rounds: LeaseRounds): void {
    this.role = 'leader';
    this.candidacy = null;
    this.grant = null;
    this.deferred = null;
    this.lastLeader = null;
    this.leadership = { epoch, rounds, renewAtMs: this.nowMs };
    this.stepRole = this.stepLeader;
    this.tickRole = this.tickLeader;
    if (!this.durable.bootstrapped) this.persist({ ...this.durable, bootstrapped: true });
    this.finishEpisode('won', epoch);
    // Followers name a leader only after a renewal: send the first one now.
    this.renew(this.leadership);
  }

  /** Follow the established leader of `epoch` (the grant is already set); ends our election. */
  private follow(epoch: number): void {
    // Settling exists to learn the current leader before acting; that is now done. A node that
    // restarted a moment ago must not sit out the next fail-over (it may be the next in rank).
    this.settleUntilMs = Math.min(this.settleUntilMs, this.nowMs);
    if (!this.durable.bootstrapped) this.persist({ ...this.durable, bootstrapped: true });
    this.becomeFollower();
    this.retryAtMs = null;
    if (this.episode) this.finishEpisode('lost', epoch);
    this.checkTransferDone();
    if (this.shuttingDown && this.handedOffEpoch !== null && epoch > this.handedOffEpoch) this.shutdownReady();
  }

  /**
   * Stop leading with no successor known (lease lost, resigned, shutting down). The release lets
   * followers stop naming us now rather than when the lease we last told them of runs out.
   */
  private stepDown(): void {
    const l = this.leadership;
    if (l) this.release(l.epoch);
    this.endLeadership();
    this.scheduleRetry();
  }

  private endLeadership(): void {
    const led = this.leadership !== null;
    this.becomeFollower();
    if (led && this.shuttingDown && this.handedOffEpoch === null) this.shutdownReady();
  }

  /** A pending transfer succeeded once its target leads a newer epoch. */
  private checkTransferDone(): void {
    const t = this.transfer;
    const leader = this.namedLeader(this.nowMs);
    if (!t || !leader || leader.epoch <= t.fromEpoch) return;
    if (leader.id === t.to) this.finishTransfer({ ok: true, detail: `leadership transferred to ${this.view.nameOf(t.to)} at epoch ${leader.epoch}` });
    else this.finishTransfer({ ok: false, code: 'not-leader', message: `${this.view.nameOf(leader.id)} took over at epoch ${leader.epoch} instead of ${this.view.nameOf(t.to)}` });
  }

  /** An election or claim that ended without this node leading. */
  private giveUp(result: 'lost' | 'aborted', term: number): void {
    if (this.candidacy?.stage === 'claiming') this.abandonClaim();
    this.becomeFollower();
    this.scheduleRetry();
    if (this.episode) this.finishEpisode(result, term);
  }

  /** Our claim is over: members that granted it may grant others now. */
  private abandonClaim(): void {
    const c = this.candidacy;
    if (c?.stage !== 'claiming') return;
    this.release(c.epoch);
    this.candidacy = null;
  }

  // ---- elections ----

  /** Starts (or, within a running episode, repeats) an election. */
  private startElection(reason: string, forced: boolean, kind?: CoordinatorKind): void {
    if (this.shuttingDown || (!forced && !this.mayStand())) return;
    if (!this.episode && !forced && this.waitForSettlingHigher()) return;
    if (!this.episode) {
      // Without a reachable majority, or before the cluster has been seen whole, an election
      // cannot succeed: wait quietly instead of inflating epochs.
      if (!this.durable.bootstrapped || (!forced && !this.quorumNone() && !this.majorityAlive())) {
        this.scheduleRetry();
        return;
      }
      const term = this.nextEpoch();
      this.episode = { startedMs: this.nowMs, term, forced, rounds: 0, askedGossipedLeader: false };
      this.emit({ type: 'election-started', term, reason });
    } else {
      this.episode.forced ||= forced;
    }
    if (kind === 'takeover') this.tryClaim('takeover');
    else this.runElectionRound();
  }

  /**
   * A higher-ranked member that joined or came back within settleMs is still settling: it answers
   * an ELECTION late, or not yet, and would claim itself once settled. Electing now would let a
   * lower node lead a cluster whose highest rank is about to arrive (the last node of a cold
   * start is the busiest one). Wait until it has settled; true while waiting.
   */
  private waitForSettlingHigher(): boolean {
    let untilMs = -Infinity;
    for (const m of this.view.higherReachable()) {
      if (m.stateSinceMs !== undefined && m.state === 'alive') untilMs = Math.max(untilMs, m.stateSinceMs + this.config.settleMs);
    }
    if (untilMs <= this.nowMs) return false;
    this.retryAtMs = untilMs;
    return true;
  }

  private runElectionRound(): void {
    const episode = this.episode!;
    if (++episode.rounds > MAX_ELECTION_ROUNDS) {
      this.giveUp('aborted', this.summary(this.nowMs).term);
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
    if (!this.mayStand() || !this.durable.bootstrapped) return this.giveUp('aborted', this.summary(this.nowMs).term);
    if (!this.quorumNone() && !this.majorityAlive()) return this.giveUp('aborted', this.summary(this.nowMs).term);
    const g = this.activeGrant();
    if (g) {
      // We granted a lease to another node: we may not help elect anyone, ourselves included,
      // until it ends. Claim then (a renewal meanwhile makes us follow instead).
      this.becomeCandidate({ stage: 'electing', deadlineMs: g.untilMs });
      return;
    }
    const episode = this.episode;
    if (kind === 'claim' && episode && !episode.askedGossipedLeader) {
      // A live member gossips that it leads: gossip may prompt, never decide. Ask it first (a
      // leader answers an ELECTION with a renewal, which we follow); claim if it stays silent.
      const gossiped = this.view.gossipedLeader();
      if (gossiped && gossiped.term >= this.durable.acceptedEpoch) {
        episode.askedGossipedLeader = true;
        this.send(gossiped.id, { type: 'ELECTION', epoch: this.durable.acceptedEpoch, forced: episode.forced });
        this.becomeCandidate({ stage: 'awaiting', deadlineMs: this.nowMs + this.config.answerTimeoutMs });
        return;
      }
    }
    const epoch = this.nextEpoch();
    if (epoch > MAX_COUNTER) return this.giveUp('aborted', this.summary(this.nowMs).term);
    // Persisted before the COORDINATOR leaves (the host writes persists first): a restarted node
    // never announces an epoch at or below one it already used.
    this.promise(epoch, this.selfId);
    const rounds = new LeaseRounds(this.leaderLeaseDurationMs);
    const round = rounds.next(this.nowMs);
    this.becomeCandidate({
      stage: 'claiming',
      epoch,
      kind,
      rounds,
      deadlineMs: this.nowMs + this.config.coordinatorTimeoutMs,
      resendAtMs: this.nowMs + this.config.answerTimeoutMs,
      rejectedBy: new Set(),
    });
    this.broadcast({ type: 'COORDINATOR', epoch, kind, round, leaseMs: 0 });
    if (this.quorumNone() || this.leaseExpiresAt(rounds) > this.nowMs) this.becomeLeader(epoch, rounds);
  }

  private finishEpisode(result: 'won' | 'lost' | 'aborted', term: number): void {
    const episode = this.episode;
    if (!episode) return;
    this.episode = null;
    this.emit({ type: 'election-finished', term, result, durationMs: this.nowMs - episode.startedMs });
    const elects = this.pendingElects;
    this.pendingElects = [];
    const leader = this.namedLeader(this.nowMs);
    const leaderName = leader ? this.view.nameOf(leader.id) : null;
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
    if (!this.durable.bootstrapped) return `the cluster has not yet been seen with ${this.bootstrapExpect} members (bootstrapExpect)`;
    if (!this.quorumNone() && !this.majorityAlive()) return 'no majority of the cluster is reachable';
    return 'no claim was accepted by a majority';
  }

  // ---- helpers ----

  private settling(): boolean {
    return this.nowMs < this.settleUntilMs;
  }

  /** Whether this node may claim or answer ELECTIONs: not resigned, not stopping, not handing off. */
  private mayStand(): boolean {
    return !this.shuttingDown && this.holdUntilMs === null && this.transfer === null;
  }

  private quorumNone(): boolean {
    return this.config.quorum === 'none';
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
    return this.view.aliveCount() >= majorityOf(this.size());
  }

  /**
   * The cluster a majority is counted of: expectedSize, or the members known, and never fewer
   * than bootstrapExpect. Members that left stop counting, but a cluster that shrinks below
   * bootstrapExpect that way must not let a remnant lead that never met the rest.
   */
  private size(): number {
    return Math.max(this.bootstrapExpect, this.config.expectedSize ?? this.countedMemberIds().length);
  }

  /**
   * Who the cluster size counts: every live member, dead ones only if they earned their place
   * (EARN_LEASES) and no operator forgot them, and members remembered from before a restart.
   */
  private countedMemberIds(): NodeId[] {
    const members = this.view.members.filter((m) => !this.forgotten.has(m.id) && (m.state === 'alive' || m.state === 'suspect' || this.hasEarned(m)));
    return countedMembers(members, this.selfId, this.durable.members.filter((id) => !this.forgotten.has(id)));
  }

  private hasEarned(m: ElectionMember): boolean {
    if (m.self || this.earned.has(m.id) || this.durable.members.includes(m.id)) return true;
    const earnedNow = m.state === 'alive' && (m.stateSinceMs === undefined || this.nowMs - m.stateSinceMs >= EARN_LEASES * this.config.leaseMs);
    if (earnedNow) this.earned.add(m.id);
    return earnedNow;
  }

  private gossipedEpochs(): number[] {
    return this.view.members.filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => Math.max(m.term, m.fencingToken));
  }

  /** The epoch most Bully members gossip (their term or token), self included. */
  private gossipedClusterEpoch(): number {
    return clusterEpoch(this.gossipedEpochs());
  }


  /**
   * The highest epoch a message may carry: MAX_EPOCH_JUMP above what we promised or most of the
   * cluster reports. Not above highestEpochSeen, which messages themselves raise: that would let
   * a stream of messages climb without bound.
   */
  private epochCeiling(): number {
    return Math.min(MAX_COUNTER, Math.max(this.durable.acceptedEpoch, this.gossipedClusterEpoch()) + MAX_EPOCH_JUMP);
  }

  private refuse(from: NodeId, reason: RefusalReason, detail: string): void {
    this.emit({ type: 'refused', from, reason, detail });
  }

  /** Our next claim goes above `epoch` (messages reach here only within epochCeiling). */
  private noteEpoch(epoch: number): void {
    if (epoch <= this.durable.highestEpochSeen) return;
    this.persist({ ...this.durable, highestEpochSeen: epoch });
  }

  /** Accept `leader` for `epoch` durably; the host writes it before the reply leaves. */
  private promise(epoch: number, leader: NodeId): void {
    this.persist({ ...this.durable, acceptedEpoch: epoch, acceptedLeader: leader, leaseTo: leader, highestEpochSeen: Math.max(this.durable.highestEpochSeen, epoch) });
  }

  private persist(state: BullyPersisted): void {
    this.durable = state;
    this.emit({ type: 'persist', batch: { hardState: { ...state } } });
  }

  private reject(to: NodeId, epoch: number): void {
    const leader = this.leadership ? this.selfId : (this.namedLeader(this.nowMs)?.id ?? null);
    this.send(to, { type: 'REJECT', epoch, leader });
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
