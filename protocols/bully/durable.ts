/**
 * Bully's durable bookkeeping: the hard state it persists (the epoch it promised and to whom, the
 * highest epoch seen, the members it knew, whether the cluster bootstrapped), and the cluster
 * size a majority is counted of, which rests on it: which members earned their place and which
 * an operator forgot. Every change to the hard state leaves as a `persist` effect, ahead of any
 * message that depends on it.
 */
import { clusterEpoch, MAX_COUNTER, MAX_EPOCH_JUMP, MAX_EPOCH_LEAD, MAX_MEMBERS } from '../bounds.js';
import type { ElectionMember } from '../election.js';
import type { NodeId } from '../types.js';
import type { BullyContext } from './context.js';
import { INITIAL_BULLY_STATE, type BullyPersisted } from './messages.js';
import { countedMembers, majorityOf } from './quorum.js';

/**
 * A member counts towards the cluster size for good (the durable member list, and the size a
 * majority is counted of once it is dead) only after it was alive this many lease periods, or
 * granted a lease: one that only flickered (a few heartbeats, a stranger's throwaway identity)
 * must not raise the majority after it has gone.
 */
const EARN_LEASES = 2;

/** How often the machine re-checks which members have earned their place (see EARN_LEASES). */
const EARN_CHECK_MS = 500;

export type DurableContext = Pick<BullyContext, 'selfId' | 'config' | 'bootstrapExpect' | 'memberForgetAfterMs' | 'nowMs' | 'view' | 'out'>;

export class Durable {
  private current: BullyPersisted;
  /** Members that earned their place in the cluster size (see EARN_LEASES). */
  private readonly earned = new Set<NodeId>();
  /** Members an operator forgot (`conclave forget`), with when; they count again once back alive. */
  private readonly forgotten = new Map<NodeId, number>();
  /** Every member the view listed since this life began (see rememberMembers). */
  private readonly listedThisLife = new Set<NodeId>();
  /** Since when this node has been part of a working cluster without a break; null while it is not (see rememberMembers). */
  private workingSinceMs: number | null = null;
  private earnCheckAtMs: number;

  constructor(
    private readonly ctx: DurableContext,
    persisted: BullyPersisted | null,
  ) {
    this.current = { ...(persisted ?? INITIAL_BULLY_STATE) };
    this.earnCheckAtMs = ctx.nowMs;
  }

  /** The hard state as last persisted. */
  get state(): Readonly<BullyPersisted> {
    return this.current;
  }

  // ---- epochs and promises ----

  /** Accept `leader` for `epoch` durably; the host writes it before the reply leaves. */
  promise(epoch: number, leader: NodeId): void {
    const s = this.current;
    this.persist({ ...s, acceptedEpoch: epoch, acceptedLeader: leader, leaseTo: leader, highestEpochSeen: Math.max(s.highestEpochSeen, epoch) });
  }

  /** Records that this node's current grant went to `leader` (it follows an established leader). */
  grantLeaseTo(leader: NodeId): void {
    if (this.current.leaseTo !== leader) this.persist({ ...this.current, leaseTo: leader });
  }

  /** Our next claim goes above `epoch` (messages reach here only within epochCeiling). */
  noteEpoch(epoch: number): void {
    if (epoch <= this.current.highestEpochSeen) return;
    this.persist({ ...this.current, highestEpochSeen: epoch });
  }

  /**
   * The highest epoch members gossip is a hint for our next claim (it saves a rejected round),
   * believed only a little above what most of them say: one member must not move our epochs.
   */
  noteGossipedEpochs(): void {
    const epochs = this.gossipedEpochs();
    this.noteEpoch(Math.min(Math.max(0, ...epochs), clusterEpoch(epochs) + MAX_EPOCH_LEAD));
  }

  nextEpoch(): number {
    return Math.max(this.current.highestEpochSeen, this.current.acceptedEpoch) + 1;
  }

  /**
   * The highest epoch a message may carry: MAX_EPOCH_JUMP above what we promised or most of the
   * cluster reports. Not above highestEpochSeen, which messages themselves raise: that would let
   * a stream of messages climb without bound.
   */
  epochCeiling(): number {
    return Math.min(MAX_COUNTER, Math.max(this.current.acceptedEpoch, clusterEpoch(this.gossipedEpochs())) + MAX_EPOCH_JUMP);
  }

  /** What each live Bully member (self included) gossips as its epoch: its term or its token. */
  private gossipedEpochs(): number[] {
    return this.ctx.view.members.filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => Math.max(m.term, m.fencingToken));
  }

  // ---- bootstrap ----

  /** Once set it stays set: a node that saw (or followed) its cluster whole never re-counts. */
  markBootstrapped(): void {
    if (!this.current.bootstrapped) this.persist({ ...this.current, bootstrapped: true });
  }

  checkBootstrap(): void {
    if (this.seenMembers() >= this.ctx.bootstrapExpect) this.markBootstrapped();
  }

  /**
   * Members seen, what bootstrapExpect counts: every Bully member in the view whatever its state
   * (one that left was still part of the cluster), those remembered durably, and itself.
   */
  seenMembers(): number {
    return new Set([this.ctx.selfId, ...this.ctx.view.members.map((m) => m.id), ...this.current.members]).size;
  }

  // ---- who counts ----

  /**
   * The cluster a majority is counted of: expectedSize, or the members known, and never fewer
   * than bootstrapExpect. Members that left stop counting, but a cluster that shrinks below
   * bootstrapExpect that way must not let a remnant lead that never met the rest.
   */
  size(): number {
    return Math.max(this.ctx.bootstrapExpect, this.ctx.config.expectedSize ?? this.countedMemberIds().length);
  }

  majorityAlive(): boolean {
    return this.ctx.view.aliveCount() >= majorityOf(this.size());
  }

  /**
   * Who the cluster size counts: every live member, dead ones only if they earned their place
   * (EARN_LEASES) and no operator forgot them, and members remembered from before a restart.
   * Members running another protocol count too (they never grant a Bully lease): a few nodes
   * that run Bully must not lead a cluster whose majority runs Raft (README "Switching protocols").
   */
  countedMemberIds(): NodeId[] {
    const members = this.ctx.view.all.filter((m) => !this.forgotten.has(m.id) && (m.state === 'alive' || m.state === 'suspect' || this.hasEarned(m)));
    return countedMembers(members, this.ctx.selfId, this.current.members.filter((id) => !this.forgotten.has(id)));
  }

  /** `id` granted us a lease: it has earned its place whatever its age. */
  earn(id: NodeId): void {
    this.earned.add(id);
  }

  private hasEarned(m: ElectionMember): boolean {
    if (m.self || this.earned.has(m.id) || this.current.members.includes(m.id)) return true;
    const earnedNow = m.state === 'alive' && (m.stateSinceMs === undefined || this.ctx.nowMs - m.stateSinceMs >= EARN_LEASES * this.ctx.config.leaseMs);
    if (earnedNow) this.earned.add(m.id);
    return earnedNow;
  }

  /** Drops `id` from the cluster size for good, until it comes back alive. */
  forget(id: NodeId): void {
    this.forgotten.set(id, this.ctx.nowMs);
    this.earned.delete(id);
    if (this.current.members.includes(id)) this.persist({ ...this.current, members: this.current.members.filter((m) => m !== id) });
  }

  /** Every EARN_CHECK_MS: members alive long enough earn their place (`working`: see rememberMembers). */
  tick(working: boolean): void {
    if (this.ctx.nowMs < this.earnCheckAtMs) return;
    this.earnCheckAtMs = this.ctx.nowMs + EARN_CHECK_MS;
    this.rememberMembers(working);
  }

  deadline(): number {
    return this.earnCheckAtMs;
  }

  /**
   * Keeps the durable member list: it grows with every member seen, and loses a member when it
   * left, or when membership forgot it (listed earlier in this life, gone now) while this node is
   * part of a `working` cluster (it leads, or follows a live leader). A member not heard from
   * since a restart is not forgotten at once, only not seen yet: dropping it would shrink the
   * majority a restarted node counts against. But once this node has been part of a working
   * cluster for `memberForgetAfterMs` without the view ever listing it, it goes: the other
   * members stop counting a dead member that long after their verdict, and no one has gossiped it
   * since. Kept for ever, it raised this node's majority for good (a chaos run: a stranger dead
   * when its leader restarted left that leader counting 6 of 5 live members, and a later 2 | 3
   * cut left the side of 3 without a leader for the whole cut).
   */
  rememberMembers(working: boolean): void {
    const view = this.ctx.view;
    if (!working) this.workingSinceMs = null;
    else this.workingSinceMs ??= this.ctx.nowMs;
    // Every member, whatever protocol it runs (see countedMemberIds).
    for (const m of view.all) {
      this.listedThisLife.add(m.id);
      // Back after an operator forgot it: it counts again, once it has earned its place anew.
      const forgotAtMs = this.forgotten.get(m.id);
      if (forgotAtMs !== undefined && m.state === 'alive' && (m.stateSinceMs ?? Infinity) > forgotAtMs) this.forgotten.delete(m.id);
    }
    const current = countedMembers(view.all.filter((m) => this.hasEarned(m) && !this.forgotten.has(m.id)), this.ctx.selfId);
    const known = this.current.members;
    const listed = new Set(view.all.map((m) => m.id));
    const unseenLongEnough = this.workingSinceMs !== null && this.ctx.nowMs - this.workingSinceMs >= this.ctx.memberForgetAfterMs;
    const forgotten = (id: NodeId) => working && !listed.has(id) && (this.listedThisLife.has(id) || unseenLongEnough);
    // A member that announced its leave is no longer part of the cluster.
    const left = (id: NodeId) => view.all.some((m) => m.id === id && m.state === 'left');
    let next = [...new Set([...known.filter((id) => !forgotten(id) && !left(id) && !this.forgotten.has(id)), ...current])].sort();
    next = next.slice(0, MAX_MEMBERS);
    if (next.length === known.length && next.every((id, i) => id === known[i])) return;
    this.persist({ ...this.current, members: next });
  }

  private persist(state: BullyPersisted): void {
    this.current = state;
    this.ctx.out.emit({ type: 'persist', batch: { hardState: { ...state } } });
  }
}
