/**
 * The Bully election machine with fencing epochs, a quorum guard and leadership as a lease
 * (issues 3 and 7; the lease arithmetic is ../lease.ts). This file owns the machine itself: its
 * clock and view, the role and the transitions between roles, the Election interface (step,
 * summary, status, deadline), input dispatch, and the messages every role handles alike.
 *
 * Rank decides who claims (rank.ts); the epoch decides who wins. A claim is COORDINATOR(E) with
 * E above every epoch seen, persisted before it leaves (candidate.ts). A member that accepts it
 * persists the promise (at most one node per epoch, like Raft's votedFor) and grants the
 * claimant a lease: for `leaseMs` on its own clock it helps elect no one else, itself included,
 * unless that node is known gone or releases the grant (follower.ts). The claimant leads once a
 * majority granted, renews every leaseMs/4, and reports itself leader only while the grants of a
 * majority hold on its clock, counted from when it sent what they accepted (leader.ts).
 * Followers name a leader only once it proved it holds a majority (a renewal), so no two nodes
 * report leadership at one instant and no follower names a mere claimant. Each role has its own
 * step and tick functions, swapped on transition (etcd-raft style).
 *
 * The other parts: commands.ts (transfer/resign/elect/forget and their relay), handoff.ts (the
 * hand-off on transfer and shutdown), durable.ts (persisted state, earned members, bootstrap,
 * cluster size), outbox.ts (effects). Each part owns its state and sees this machine only
 * through the port it declares (context.ts).
 */
import { MAX_EPOCH_JUMP } from '../bounds.js';
import type { Election, ElectionImage, ElectionInput, ElectionMember, ElectionStatus } from '../election.js';
import { leaderLeaseMs } from '../lease.js';
import { StallClock } from '../stall.js';
import { bullyCarryOver, NO_CARRY_OVER, type CarryOver } from '../carry-over.js';
import type { Rng } from '../rng.js';
import type { ElectionSummary, NodeId, Role } from '../types.js';
import { Candidate } from './candidate.js';
import { Commands } from './commands.js';
import type { BullyConfig } from './config.js';
import type { BullyContext, Message, RoleMachine } from './context.js';
import { Durable } from './durable.js';
import { Follower } from './follower.js';
import { HandOff } from './handoff.js';
import { Leader } from './leader.js';
import { INITIAL_BULLY_STATE, type BullyMessage, type BullyPersisted } from './messages.js';
import { Outbox, type BullyEffect } from './outbox.js';
import { outranks } from './rank.js';
import type { LeaseRounds } from './rounds.js';
import { BullyView } from './view.js';

export interface BullyInit {
  selfId: NodeId;
  config: BullyConfig;
  /** `cluster.bootstrapExpect`: never claim before the cluster was seen this large. */
  bootstrapExpect: number;
  rng: Rng;
  persisted: BullyPersisted | null;
  nowMs: number;
  /** What another protocol that ran on this node obliges this one to (../carry-over.ts); absent: nothing. */
  carryOver?: CarryOver;
  /**
   * `membership.forgetAfterMs`: how long the other members keep counting a dead member. A member
   * remembered from before a restart that this life never sees stops counting once this node
   * has been part of a working cluster that long (durable.ts rememberMembers). Absent: never
   * (it counts until it is seen and then forgotten, or an operator forgets it).
   */
  memberForgetAfterMs?: number;
}

export function createBully(init: BullyInit): Election<BullyMessage, BullyPersisted> {
  return new Bully(init);
}

class Bully implements Election<BullyMessage, BullyPersisted>, BullyContext {
  readonly protocol = 'bully' as const;
  readonly keepsStore = false;
  readonly selfId: NodeId;
  readonly config: BullyConfig;
  readonly bootstrapExpect: number;
  readonly rng: Rng;
  readonly leaderLeaseDurationMs: number;
  readonly memberForgetAfterMs: number;
  readonly out = new Outbox();
  nowMs: number;
  readonly startedMs: number;
  view: BullyView;
  private viewKey = '';
  viewStableSinceMs: number;
  /** Whether what we read may have waited out a stall of our own (../stall.ts). */
  readonly stall: StallClock;
  settleUntilMs: number;
  /** Whether the election owed at the end of the settle period has been considered. */
  private settleEnded = false;

  role: Role = 'follower';
  private current: RoleMachine;
  readonly durable: Durable;
  readonly follower: Follower;
  readonly candidate: Candidate;
  readonly leader: Leader;
  readonly commands: Commands;
  readonly handoff: HandOff;

  constructor(init: BullyInit) {
    this.selfId = init.selfId;
    this.config = init.config;
    this.bootstrapExpect = Math.max(1, init.bootstrapExpect);
    this.rng = init.rng;
    this.nowMs = init.nowMs;
    this.startedMs = init.nowMs;
    this.leaderLeaseDurationMs = leaderLeaseMs(init.config.leaseMs);
    this.memberForgetAfterMs = init.memberForgetAfterMs ?? Infinity;
    this.view = new BullyView(init.selfId, []);
    this.viewStableSinceMs = init.nowMs;
    this.settleUntilMs = init.nowMs + init.config.settleMs;
    this.stall = new StallClock(init.config.leaseMs, init.nowMs, init.carryOver?.staleUntilMs);
    this.durable = new Durable(this, withCarryOver(init.persisted ?? INITIAL_BULLY_STATE, init.carryOver ?? NO_CARRY_OVER));
    this.follower = new Follower(this, init.carryOver?.holdMs ?? 0);
    const carry = init.carryOver ?? NO_CARRY_OVER;
    this.carriedLeadUntilMs = carry.leaseTo === init.selfId && carry.holdMs > 0 ? init.nowMs + carry.holdMs : -Infinity;
    this.candidate = new Candidate(this);
    this.leader = new Leader(this);
    this.commands = new Commands(this);
    this.handoff = new HandOff(this);
    this.current = this.follower;
  }

  /**
   * Until then, this node led under the protocol the cluster just switched from (../carry-over.ts):
   * the members hold their promise for it, so it claims at once, as soon as a majority runs Bully,
   * and the leader stays leader across a live switch (host/switch.ts).
   */
  private carriedLeadUntilMs: number;

  private claimAsCarriedLeader(): void {
    if (this.nowMs >= this.carriedLeadUntilMs || this.role !== 'follower' || this.leader.current || !this.durable.majorityAlive()) return;
    this.carriedLeadUntilMs = -Infinity;
    this.candidate.startElection('protocol-switch', true, 'takeover');
  }

  // ---- Election interface ----

  step(input: ElectionInput<BullyMessage>): void {
    this.nowMs = Math.max(this.nowMs, input.nowMs);
    // A notice from our own host, not an event of the world: no stall evidence, no relay resend.
    if (input.type === 'durable') {
      this.leader.onDurable(input.persists);
      this.candidate.onDurable(input.persists);
      return;
    }
    this.stall.onInput(this.nowMs, input.type === 'tick');
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
        this.commands.onCommand(input.id, input.command);
        break;
      case 'shutdown':
        this.handoff.onShutdown();
        break;
    }
    this.commands.checkRelayed();
  }

  /**
   * The earliest of every timer a tick acts on, each part reporting its own (the resign hold and
   * a relayed command's bound; the shutdown and transfer bounds; the grant's end and the named
   * leader's; the earn check; the role's: a follower's retry and pre-emption, a candidate's stage
   * deadline and resend, a leader's renewal and lease end), the end of settling, and the liveness
   * tick (../stall.ts). The summary's own lapses are among them: a leader's lease end
   * and a named leader's. A claim or renewal deferred until our grant ends needs no timer of its
   * own: it is read only when that grant ends. Never before the current time: a past deadline
   * (only after a non-tick input) means "tick now".
   */
  deadline(): number {
    const dueMs = Math.min(
      this.stall.livenessTickAtMs(),
      this.settleEnded ? Infinity : this.settleUntilMs,
      this.commands.deadline(),
      this.handoff.deadline(),
      this.follower.grantDeadline(),
      this.durable.deadline(),
      this.current.deadline(),
    );
    return Math.max(this.nowMs, dueMs);
  }

  drain(): BullyEffect[] {
    return this.out.drain();
  }

  summary(nowMs: number): ElectionSummary {
    const fencingToken = this.durable.state.acceptedEpoch;
    const l = this.leader.current;
    if (l) {
      if (this.leader.leaseExpiresAtMs(l) > nowMs) return { role: 'leader', term: l.epoch, leader: this.selfId, fencingToken };
      // The lease ran out since the last step: report what the next tick will make of it.
      return { role: 'follower', term: l.epoch, leader: null, fencingToken };
    }
    const claiming = this.candidate.claiming();
    if (claiming !== null) return { role: 'candidate', term: claiming, leader: null, fencingToken };
    const named = this.follower.namedLeader(nowMs);
    return { role: this.role, term: named?.epoch ?? fencingToken, leader: named?.id ?? null, fencingToken };
  }

  carryOver(): CarryOver {
    const carry = { ...bullyCarryOver(this.durable.state, this.config.leaseMs), staleUntilMs: this.stall.staleUntil() };
    return this.leader.current ? { ...carry, leaseTo: this.selfId } : carry;
  }

  durableImage(): ElectionImage {
    return { persisted: { ...this.durable.state, members: [...this.durable.state.members] }, log: { snapshot: null, entries: [] } };
  }

  status(nowMs: number): ElectionStatus {
    const l = this.leader.current;
    const expiresAtMs = l ? this.leader.leaseExpiresAtMs(l) : -Infinity;
    // A lease that never ends (one-node cluster, quorum none) is reported as one full lease.
    const remainingMs = Number.isFinite(expiresAtMs) ? expiresAtMs - nowMs : this.leaderLeaseDurationMs;
    return {
      leaseRemainingMs: expiresAtMs > nowMs ? Math.floor(remainingMs) : null,
      bootstrap: { expect: this.bootstrapExpect, seen: this.durable.seenMembers(), complete: this.durable.state.bootstrapped },
    };
  }

  // ---- inputs ----

  private tick(): void {
    this.commands.tickHold();
    this.handoff.tick();
    this.follower.tickGrant();
    if (!this.settleEnded && !this.settling()) {
      this.settleEnded = true;
      if (this.role === 'follower' && !this.follower.activeGrant()) this.candidate.startElection('no-leader-after-settle', false);
    }
    this.durable.tick(this.working());
    this.current.tick();
  }

  private onMembers(members: readonly ElectionMember[]): void {
    const wasAlive = new Set(this.view.alivePeers().map((m) => m.id));
    this.view = new BullyView(this.selfId, members);
    const key = this.view.stabilityKey();
    if (key !== this.viewKey) {
      this.viewKey = key;
      this.viewStableSinceMs = this.nowMs;
    }
    this.durable.noteGossipedEpochs();
    this.durable.checkBootstrap();
    this.endSettlingIfNothingFormed();
    this.claimAsCarriedLeader();
    this.follower.onMembers();
    if (this.leader.current) {
      if (this.leader.checkLease()) this.leader.renewToNewcomers(wasAlive);
    } else if (this.role === 'follower' && !this.follower.activeGrant() && !this.settling() && !this.follower.retryPending()) {
      // A leaderless node whose view just changed (say a partition healed) tries at once.
      this.candidate.startElection('no-leader', false);
    }
    this.durable.rememberMembers(this.working());
  }

  private onMessage(from: NodeId, message: BullyMessage): void {
    if (from === this.selfId || this.view.isForeign(from)) return;
    const sender = this.view.member(from);
    if (!sender || (sender.state !== 'alive' && sender.state !== 'suspect')) {
      return this.out.refuse(from, 'not-a-member', `${message.type} from a peer that is not a live member of this cluster`);
    }
    const ceiling = this.durable.epochCeiling();
    if (message.epoch > ceiling) {
      return this.out.refuse(from, 'epoch-out-of-range', `${message.type} at epoch ${message.epoch}, more than ${MAX_EPOCH_JUMP} above the cluster's ${ceiling - MAX_EPOCH_JUMP}`);
    }
    this.durable.noteEpoch(message.epoch);
    switch (message.type) {
      case 'ELECTION':
        return this.onElection(from, message);
      case 'TRANSFER':
        return this.onTransfer(from);
      case 'TRANSFER_REQUEST':
        return this.commands.onTransferRequest(from, message);
      case 'RESIGN_REQUEST':
        return this.commands.onResignRequest(from, message);
      case 'RELEASE':
        return this.follower.onRelease(from, message.epoch);
      case 'FORGET':
        return this.commands.onForget(message);
      default:
        return this.current.step(from, message);
    }
  }

  // ---- messages every role handles alike ----

  private onElection(from: NodeId, message: Message<'ELECTION'>): void {
    // Not standing (resigned, stopping): stay silent so the sender may claim.
    if (!this.mayStand()) return;
    // Only a node that saw the cluster whole elects: the sender has, so the cluster exists (as
    // when a leader renews to us), and the highest rank should lead it whoever saw it first.
    this.durable.markBootstrapped();
    // A settled node that cannot win by its own count stays silent too (members it counts are
    // down, or remembered from before its restart and never seen since): an ANSWER promises a
    // claim, and every lower node would wait for one that never comes, leaderless though they
    // count a majority among them (a highest-ranked node restarted beside phantoms held its
    // cluster so until an operator forgot them). Silent, it lets the sender claim, and grants it.
    if (!this.leader.current && !this.settling() && !this.quorumNone() && !this.durable.majorityAlive()) return;
    const sender = this.view.member(from);
    const senderOutranks = sender !== undefined && outranks(sender, this.view.self);
    if (!senderOutranks) this.out.send(from, { type: 'ANSWER', epoch: this.currentTerm() });
    const l = this.leader.current;
    if (l) {
      // Re-assert the current epoch instead of starting a new one, whoever asks (a higher node
      // that heard we lead asks before claiming): no leader change.
      this.leader.sendRenewal(from, l);
      return;
    }
    if (senderOutranks) return;
    if (this.candidate.joinElection(message.forced)) return;
    // A settling node answers (it outranks the sender) but elects only once it has listened.
    if (this.settling() || this.follower.activeGrant()) return;
    this.candidate.startElection(message.forced ? 'forced-by-peer' : 'election-from-lower', message.forced);
  }

  /**
   * The leader we granted to hands over: its grant is released, and we claim at once. Only the
   * holder of our grant may tell us so; without one, the claim is an ordinary one that members
   * bound to a leader refuse.
   */
  private onTransfer(from: NodeId): void {
    if (!this.mayStand() || this.leader.current) return;
    const g = this.follower.activeGrant();
    if (g && g.leader !== from) return;
    if (g) this.follower.dropGrant();
    this.candidate.startElection(`transfer-from-${this.view.nameOf(from)}`, true, 'takeover', true);
  }

  /** Refuses `to`'s claim or renewal, naming the epoch and the leader this node recognises. */
  reject(to: NodeId, epoch: number): void {
    const leader = this.leader.current ? this.selfId : (this.follower.namedLeader(this.nowMs)?.id ?? null);
    this.out.send(to, { type: 'REJECT', epoch, leader });
  }

  /** An ACCEPT for an epoch we no longer claim or lead: let that member drop its grant to us. */
  releaseStaleAccept(from: NodeId, epoch: number): void {
    const current = this.leader.current?.epoch ?? this.candidate.claiming();
    if (epoch !== current) this.out.send(from, { type: 'RELEASE', epoch });
  }

  /** Tells every reachable member (but `except`) that our claim or leadership of `epoch` is over. */
  release(epoch: number, except?: NodeId): void {
    this.out.sendAll(this.view.reachablePeers().filter((p) => p.id !== except), { type: 'RELEASE', epoch });
  }

  // ---- transitions ----

  becomeFollower(): void {
    this.role = 'follower';
    this.candidate.clear();
    this.leader.end();
    this.current = this.follower;
  }

  /** The candidacy itself is already set (candidate.ts). */
  becomeCandidate(): void {
    this.role = 'candidate';
    this.leader.end();
    this.follower.cancelRetry();
    this.current = this.candidate;
  }

  becomeLeader(epoch: number, rounds: LeaseRounds): void {
    this.role = 'leader';
    this.candidate.clear();
    this.follower.clearForLeading();
    const l = this.leader.begin(epoch, rounds);
    this.current = this.leader;
    this.durable.markBootstrapped();
    this.candidate.finishEpisode('won', epoch);
    // Followers name a leader only after a renewal: send the first one now.
    this.leader.renew(l);
  }

  /** Follow the established leader of `epoch` (the grant is already set); ends our election. */
  follow(epoch: number): void {
    // Settling exists to learn the current leader before acting; that is now done. A node that
    // restarted a moment ago must not sit out the next fail-over (it may be the next in rank).
    this.settleUntilMs = Math.min(this.settleUntilMs, this.nowMs);
    this.durable.markBootstrapped();
    this.becomeFollower();
    this.follower.cancelRetry();
    this.candidate.finishEpisode('lost', epoch);
    this.handoff.onFollow(epoch);
  }

  /**
   * Stop leading with no successor known (lease lost, resigned, shutting down). The release lets
   * followers stop naming us now rather than when the lease we last told them of runs out.
   */
  stepDown(): void {
    const l = this.leader.current;
    if (l) this.release(l.epoch);
    this.endLeadership();
    this.follower.scheduleRetry();
  }

  endLeadership(): void {
    const led = this.leader.current !== null;
    this.becomeFollower();
    if (led) this.handoff.onLeadershipEnded();
  }

  // ---- helpers ----

  settling(): boolean {
    return this.nowMs < this.settleUntilMs;
  }

  /**
   * Settling listens for a current leader. A cluster starting for the first time has none to
   * hear of: once this node has never seen an epoch, the cluster was seen `bootstrapExpect`
   * large, and no live member reports a token or a leader, waiting out the rest of settleMs only
   * delays the first election (about 0.6 s of `npm start`'s 3 s). Safety never rested on it:
   * a claim still needs a majority's acceptance.
   */
  private endSettlingIfNothingFormed(): void {
    if (!this.settling() || !this.durable.state.bootstrapped) return;
    const s = this.durable.state;
    if (s.highestEpochSeen !== 0 || s.acceptedEpoch !== 0) return;
    const peers = this.view.alivePeers().filter((m) => m.protocol === 'bully');
    if (peers.length + 1 < this.bootstrapExpect) return;
    if (peers.some((m) => m.fencingToken !== 0 || m.leader !== null || m.role === 'leader' || m.formed === true)) return;
    this.settleUntilMs = this.nowMs;
  }

  /** Whether this node may claim or answer ELECTIONs: not resigned, not stopping, not handing off. */
  mayStand(): boolean {
    return !this.handoff.handingOff() && !this.commands.holding();
  }

  quorumNone(): boolean {
    return this.config.quorum === 'none';
  }

  currentTerm(): number {
    return this.summary(this.nowMs).term;
  }

  /** Part of a working cluster: leading, or following a live leader (durable.ts rememberMembers). */
  private working(): boolean {
    const leader = this.follower.namedLeader(this.nowMs);
    return this.leader.current !== null || (leader !== null && this.view.isAlive(leader.id));
  }
}

/**
 * The state a Bully machine starts from when another protocol ran here (../carry-over.ts): its
 * tokens at least the other's floor (a follower reports acceptedEpoch, and a claim goes above
 * highestEpochSeen), and the grant it honours after a start going to the other's leader.
 */
function withCarryOver(state: BullyPersisted, carry: CarryOver): BullyPersisted {
  const acceptedEpoch = Math.max(state.acceptedEpoch, carry.tokenFloor);
  return {
    ...state,
    acceptedEpoch,
    acceptedLeader: acceptedEpoch > state.acceptedEpoch ? null : state.acceptedLeader,
    highestEpochSeen: Math.max(state.highestEpochSeen, acceptedEpoch),
    leaseTo: carry.leaseTo ?? state.leaseTo,
    // A cluster with a leader under the other protocol was seen whole already.
    bootstrapped: state.bootstrapped || carry.tokenFloor > 0,
  };
}
