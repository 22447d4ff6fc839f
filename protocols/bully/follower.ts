/**
 * The follower role and the follower's side of the lease: the grant this node gave (for leaseMs
 * on its own clock it helps elect nobody but that leader, itself included, unless the leader is
 * known gone or releases it), the leader it names (only one that proved its majority by a
 * renewal), and the claims and renewals it accepts, refuses, or defers until its grant ends.
 * Also the follower's own timers: the retry of a leaderless node, and with `preempt` a higher
 * node's request that the leader hand over to it.
 */
import { leaderLeaseMs } from '../lease.js';
import type { Rng } from '../rng.js';
import type { StallClock } from '../stall.js';
import type { NodeId, Role } from '../types.js';
import type { Candidate } from './candidate.js';
import type { BullyContext, RoleMachine } from './context.js';
import type { Durable } from './durable.js';
import type { HandOff } from './handoff.js';
import type { Leader } from './leader.js';
import type { BullyMessage, CoordinatorKind } from './messages.js';
import { outranks } from './rank.js';

/** The lease this node granted: until `untilMs` (its clock) it helps elect nobody but `leader`. */
export interface Grant {
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

/** A renewal refused because our grant to another leader still ran (see Follower.deferredRenewal). */
interface DeferredRenewal {
  from: NodeId;
  epoch: number;
  round: number;
  leaseMs: number;
  atMs: number;
}

export interface FollowerPort extends BullyContext {
  readonly rng: Rng;
  readonly role: Role;
  readonly startedMs: number;
  readonly settleUntilMs: number;
  readonly viewStableSinceMs: number;
  /** Whether what we read may have waited out a stall of our own (../stall.ts). */
  readonly stall: StallClock;
  readonly durable: Pick<Durable, 'state' | 'promise' | 'grantLeaseTo' | 'earn'>;
  readonly candidate: Pick<Candidate, 'abandonClaim' | 'finishEpisode' | 'startElection' | 'claiming'>;
  readonly leader: Pick<Leader, 'current' | 'checkLease'>;
  /** `shuttingDown`: a graceful stop began, and this node leaves in a moment. */
  readonly handoff: Pick<HandOff, 'shuttingDown'>;
  settling(): boolean;
  mayStand(): boolean;
  quorumNone(): boolean;
  becomeFollower(): void;
  follow(epoch: number): void;
  endLeadership(): void;
  reject(to: NodeId, epoch: number): void;
  releaseStaleAccept(from: NodeId, epoch: number): void;
}

export class Follower implements RoleMachine {
  private grant: Grant | null = null;
  /** The established leader this node last followed: a plain claim is refused while it still leads. */
  private lastLeader: { id: NodeId; epoch: number } | null = null;
  private deferred: DeferredClaim | null = null;
  /**
   * A renewal refused because our grant to another leader still ran. When that grant ends (the
   * old leader is known gone, say its connection reset a moment after the renewal came) we follow
   * it at once, as heard then, instead of electing or waiting for the next renewal.
   */
  private deferredRenewal: DeferredRenewal | null = null;
  /** A leaderless follower elects again at this time (once it has settled and no grant runs). */
  private retryAtMs: number | null = null;
  /** With preempt: when this node last asked the leader to hand over to it. */
  private preemptAskedAtMs = -Infinity;

  /** `carriedHoldMs`: another protocol ran here last, and its promise to leaseTo may count this long (../carry-over.ts). */
  constructor(
    private readonly m: FollowerPort,
    carriedHoldMs = 0,
  ) {
    const { leaseTo, acceptedEpoch } = m.durable.state;
    if (leaseTo !== null && leaseTo !== m.selfId) {
      // The previous life may have renewed a grant to leaseTo just before it stopped, and that
      // leader may still count it: honour it for one more lease, as if granted now.
      this.grant = { leader: leaseTo, epoch: acceptedEpoch, untilMs: m.nowMs + Math.max(m.config.leaseMs, carriedHoldMs), namedUntilMs: 0 };
    }
  }

  // ---- the role ----

  step(from: NodeId, message: BullyMessage): void {
    switch (message.type) {
      case 'COORDINATOR':
        if (message.kind === 'renew') return this.onRenewal(from, message.epoch, message.round, message.leaseMs);
        return this.onClaim(from, message.epoch, message.kind, message.round);
      case 'ACCEPT':
        return this.m.releaseStaleAccept(from, message.epoch);
      default:
        return;
    }
  }

  tick(): void {
    const nowMs = this.m.nowMs;
    if (!this.activeGrant()) {
      if (this.retryAtMs !== null && nowMs >= this.retryAtMs && !this.m.settling()) {
        this.retryAtMs = null;
        this.m.candidate.startElection('no-leader', false);
      }
      return;
    }
    if (this.preemptDue()) this.askLeaderToHandOver();
  }

  /** The retry (not before settling ends), or with a grant running the pre-emption request. */
  deadline(): number {
    if (!this.activeGrant()) return this.retryAtMs === null ? Infinity : Math.max(this.retryAtMs, this.m.settleUntilMs);
    if (!this.mayPreempt()) return Infinity;
    const { config: c, settleUntilMs, viewStableSinceMs, startedMs } = this.m;
    return Math.max(settleUntilMs, viewStableSinceMs + c.preemptDelayMs, startedMs + c.preemptDelayMs, this.preemptAskedAtMs + c.preemptDelayMs);
  }

  // ---- the grant and the named leader ----

  activeGrant(): Grant | null {
    const g = this.grant;
    return g && this.m.nowMs < g.untilMs ? g : null;
  }

  /** The leader a follower names at `nowMs`: one that proved its majority, while our grant to it runs. */
  namedLeader(nowMs: number): { id: NodeId; epoch: number } | null {
    const g = this.grant;
    if (!g || nowMs >= g.namedUntilMs || nowMs >= g.untilMs) return null;
    return { id: g.leader, epoch: g.epoch };
  }

  liveNamedLeader(): { id: NodeId; epoch: number } | null {
    const leader = this.namedLeader(this.m.nowMs);
    return leader && this.m.view.isAlive(leader.id) ? leader : null;
  }

  /** Whatever the role: when the grant ends, and when the named leader lapses (the summary changes). */
  grantDeadline(): number {
    const g = this.grant;
    if (!g) return Infinity;
    return g.namedUntilMs > this.m.nowMs ? Math.min(g.untilMs, g.namedUntilMs) : g.untilMs;
  }

  /** The grant holder hands over (TRANSFER): its grant no longer binds us. */
  dropGrant(): void {
    this.grant = null;
  }

  /** This node leads: it grants nothing, defers no claim, follows nobody. */
  clearForLeading(): void {
    this.grant = null;
    this.deferred = null;
    this.lastLeader = null;
  }

  /** The grant ran out: what waited for it is answered, or this node elects. */
  tickGrant(): void {
    if (this.grant && this.m.nowMs >= this.grant.untilMs) this.grantEnded('leader-lease-lapsed');
  }

  /** The view changed: the grant's holder may be known gone, a deferred claim answerable. */
  onMembers(): void {
    const gone = this.grant ? this.grantHolderGone(this.grant) : null;
    if (gone) this.grantEnded(gone);
    this.reconsiderDeferred();
  }

  /** Only the node we granted to (or last followed) can end that by its own word. */
  onRelease(from: NodeId, epoch: number): void {
    if (this.lastLeader?.id === from && epoch >= this.lastLeader.epoch) this.lastLeader = null;
    const g = this.grant;
    if (g && g.leader === from && g.epoch === epoch) this.grantEnded('leader-released');
    else this.reconsiderDeferred();
  }

  // ---- retry ----

  scheduleRetry(): void {
    if (this.retryAtMs !== null) return;
    const c = this.m.config;
    this.retryAtMs = this.m.nowMs + c.coordinatorTimeoutMs + this.m.rng.int(0, c.answerTimeoutMs);
  }

  /** Elect again at `atMs` (a higher node is still settling). */
  retryAt(atMs: number): void {
    this.retryAtMs = atMs;
  }

  cancelRetry(): void {
    this.retryAtMs = null;
  }

  retryPending(): boolean {
    return this.retryAtMs !== null;
  }

  // ---- claims and renewals ----

  /** Claims and takeovers; renewals go to onRenewal. */
  onClaim(from: NodeId, epoch: number, kind: CoordinatorKind, round: number): void {
    // A stopping node grants no claim: it is about to leave, and the members no longer count a
    // grant of a member that left. A successor that led on it (its own grant and one other's of
    // five, the rest still on their way) lost its majority when the leave came and stepped down,
    // leaderless until an election 720 ms later (a Bully bench run, 1 hand-off in 15). It leads on
    // the members that stay; this node follows it from the first renewal, which comes at once.
    if (this.m.handoff.shuttingDown) return;
    const { acceptedEpoch, acceptedLeader } = this.m.durable.state;
    const nowMs = this.m.nowMs;
    if (epoch < acceptedEpoch || (epoch === acceptedEpoch && acceptedLeader !== from)) {
      this.m.reject(from, acceptedEpoch);
      return;
    }
    if (epoch === acceptedEpoch) {
      // A resend of what we accepted: the same promise, granted again from now.
      if (this.grant?.leader !== from || this.grant.epoch !== epoch) this.grant = { leader: from, epoch, untilMs: 0, namedUntilMs: 0 };
      this.grant.untilMs = nowMs + this.m.config.leaseMs;
      this.m.out.send(from, { type: 'ACCEPT', epoch, round });
      return;
    }
    const blocking = this.claimBlockedBy(from);
    if (blocking !== null) {
      if (!this.deferred || epoch >= this.deferred.epoch) this.deferred = { from, epoch, kind, round, atMs: nowMs };
      this.m.reject(from, blocking);
      return;
    }
    this.m.candidate.abandonClaim();
    this.m.durable.promise(epoch, from);
    this.grant = { leader: from, epoch, untilMs: nowMs + this.m.config.leaseMs, namedUntilMs: 0 };
    this.m.out.send(from, { type: 'ACCEPT', epoch, round });
    this.m.candidate.finishEpisode('lost', epoch);
    if (this.m.role !== 'follower') this.m.becomeFollower();
    this.retryAtMs = null;
  }

  /**
   * The epoch that stops us accepting a claim of `from` now, or null. A grant of ours that still
   * runs stops every claim; any claim is also refused while the leader we followed is alive and
   * still says it leads (its own gossip) and has not released us: one node's bad link, or a
   * stranger calling its claim a takeover, must not depose it. A real hand-off released us first.
   */
  private claimBlockedBy(from: NodeId): number | null {
    const g = this.activeGrant();
    if (g && g.leader !== from) return g.epoch;
    const l = this.m.leader.current;
    if (l) return l.epoch;
    if (this.lastLeader && this.lastLeader.id !== from) {
      const m = this.m.view.member(this.lastLeader.id);
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
  onRenewal(from: NodeId, epoch: number, round: number, leaseMs: number): void {
    const m = this.m;
    const nowMs = m.nowMs;
    const { acceptedEpoch, acceptedLeader } = m.durable.state;
    const l = m.leader.current;
    // With quorum none there are no real leases (each side of a split leads): the higher epoch wins.
    const none = m.quorumNone();
    if (l && (none ? epoch <= l.epoch : m.leader.checkLease())) {
      m.reject(from, l.epoch);
      return;
    }
    // A sender our view holds gone (it left, or its connection reset and it has not spoken on a
    // new one yet) would lose the grant the moment we gave it: granting it, then electing, then
    // following the next renewal again made two such nodes trade epochs for ever (quorum none).
    if (this.grantHolderGone({ leader: from, epoch, untilMs: 0, namedUntilMs: 0 }) !== null) {
      m.reject(from, l?.epoch ?? acceptedEpoch);
      return;
    }
    const g = this.activeGrant();
    if (g !== null && g.leader !== from && !(none && epoch > g.epoch)) {
      if (epoch > g.epoch) this.deferredRenewal = { from, epoch, round, leaseMs, atMs: nowMs };
      m.reject(from, g.epoch);
      return;
    }
    if (epoch < acceptedEpoch && m.candidate.claiming() !== null) {
      m.reject(from, acceptedEpoch);
      return;
    }
    // A leader established at `epoch` had a majority's grants, so any lease older than that
    // epoch has run out; switching within an epoch is safe only towards an established leader
    // too (the node we accepted for it can no longer gather a majority).
    if (epoch > acceptedEpoch || (epoch === acceptedEpoch && acceptedLeader !== from)) m.durable.promise(epoch, from);
    m.durable.grantLeaseTo(from);
    m.candidate.abandonClaim();
    if (m.leader.current) m.endLeadership();
    // Name it no longer than its lease ran as it spoke (shortened for clock drift), and not from
    // a renewal that may have waited out a stall of ours in the socket. A renewal that names no
    // lease (it waited behind the leader's write) neither extends nor ends the naming.
    const fresh = !m.stall.mayBeStale(nowMs);
    const previous = this.grant?.leader === from && this.grant.epoch === epoch ? this.grant.namedUntilMs : 0;
    // No leader's lease runs longer than ours: a larger figure is a bug or a lie.
    const namedForMs = leaderLeaseMs(Math.min(leaseMs, m.config.leaseMs));
    const namedUntilMs = !fresh ? Math.min(previous, nowMs) : leaseMs === 0 ? previous : nowMs + namedForMs;
    this.grant = { leader: from, epoch, untilMs: nowMs + m.config.leaseMs, namedUntilMs };
    m.durable.earn(from);
    this.lastLeader = { id: from, epoch };
    this.deferred = null;
    m.follow(epoch);
    m.out.send(from, { type: 'ACCEPT', epoch, round });
  }

  /**
   * Why the holder of our grant is known to no longer lead, or null. Silence is no such proof
   * (the grant simply runs out); these are: it left, its connection reset while it was talking to
   * us, or its own heartbeat says it follows at (or past) the epoch we granted.
   */
  private grantHolderGone(g: Grant): string | null {
    const m = this.m.view.member(g.leader);
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
    if (this.activeGrant() || this.m.leader.current || this.m.role === 'candidate') return;
    const handingOff = reason === 'leader-released' || reason === 'leader-stepped-down';
    if (handingOff || this.m.settling() || !this.m.mayStand()) {
      this.scheduleRetry();
      return;
    }
    this.m.candidate.startElection(reason, false);
  }

  /** Answers the claim that waited for our grant, if it is still worth answering. */
  private reconsiderDeferred(): void {
    const d = this.deferred;
    if (!d) return;
    if (this.m.nowMs - d.atMs > this.m.config.coordinatorTimeoutMs || !this.m.view.isAlive(d.from) || d.epoch <= this.m.durable.state.acceptedEpoch) {
      this.deferred = null;
      return;
    }
    if (this.claimBlockedBy(d.from) !== null) return;
    this.deferred = null;
    // As if the claim arrived now (a delayed copy, which the protocol tolerates anyway).
    this.onClaim(d.from, d.epoch, d.kind, d.round);
  }

  /** Follows the renewal that waited for our grant to end, if it is recent and its sender alive. */
  private reconsiderDeferredRenewal(): void {
    const d = this.deferredRenewal;
    this.deferredRenewal = null;
    if (!d || this.activeGrant() || this.m.leader.current || !this.m.view.isAlive(d.from)) return;
    const ageMs = this.m.nowMs - d.atMs;
    // Its lease as it stood when it spoke, less the time since: never named past what it said.
    if (ageMs > this.m.config.answerTimeoutMs || ageMs >= d.leaseMs) return;
    this.onRenewal(d.from, d.epoch, d.round, d.leaseMs - ageMs);
  }

  // ---- pre-emption ----

  /**
   * With preempt, whatever the clock says: this node may stand and outranks every live member,
   * the named leader included. The rest of the rule is time (preemptDue, deadline).
   */
  private mayPreempt(): boolean {
    const m = this.m;
    if (!m.config.preempt || !m.mayStand()) return false;
    const named = this.namedLeader(m.nowMs);
    const leader = named ? m.view.member(named.id) : undefined;
    return leader !== undefined && leader.state === 'alive' && outranks(m.view.self, leader) && m.view.selfIsHighestAlive();
  }

  private preemptDue(): boolean {
    const m = this.m;
    const c = m.config;
    if (!this.mayPreempt() || m.settling()) return false;
    return m.nowMs - m.viewStableSinceMs >= c.preemptDelayMs && m.nowMs - m.startedMs >= c.preemptDelayMs;
  }

  /** Asks the named live leader to hand over to this node, at most once per preemptDelayMs. */
  private askLeaderToHandOver(): void {
    const leader = this.liveNamedLeader();
    if (!leader || this.m.nowMs - this.preemptAskedAtMs < this.m.config.preemptDelayMs) return;
    this.preemptAskedAtMs = this.m.nowMs;
    this.m.out.send(leader.id, { type: 'TRANSFER_REQUEST', epoch: leader.epoch, to: this.m.selfId });
  }
}
