/**
 * The leader role: leadership of one epoch, held as a lease (../lease.ts, rounds.ts). It renews
 * every leaseMs/4, counts the grants its renewals earn, and steps down the moment a majority's
 * grants no longer hold on its own clock (or it lost its connections to a majority).
 */
import type { NodeId } from '../types.js';
import type { BullyContext, RoleMachine } from './context.js';
import type { Durable } from './durable.js';
import type { Follower } from './follower.js';
import type { BullyMessage } from './messages.js';
import { majorityOf } from './quorum.js';
import { MAX_ROUNDS_KEPT, type LeaseRounds } from './rounds.js';

export interface Leadership {
  epoch: number;
  rounds: LeaseRounds;
  renewAtMs: number;
}

export interface LeaderPort extends BullyContext {
  readonly durable: Pick<Durable, 'earn' | 'countedMemberIds' | 'size'>;
  readonly follower: Pick<Follower, 'onRenewal'>;
  quorumNone(): boolean;
  stepDown(): void;
  reject(to: NodeId, epoch: number): void;
  releaseStaleAccept(from: NodeId, epoch: number): void;
}

export class Leader implements RoleMachine {
  private leadership: Leadership | null = null;
  /**
   * How many of this machine's persists are known durable: the host said so (`durable`), or a
   * member accepted a round that was sent after them (the host held it until then).
   */
  private durablePersists = 0;
  /** Per recent round: how many persists its messages waited behind. */
  private readonly roundPersists = new Map<number, number>();
  /**
   * A round went out without a lease because it waited behind a write: once that write is known
   * durable, a leased round goes at once. A held renewal's lease, counted by the member from when
   * it arrives, would stretch past the leader's by however long the write took (sim seed 1529).
   */
  private leaseOwed = false;

  constructor(private readonly m: LeaderPort) {}

  /** The epoch this node leads and its lease rounds; null unless it is the leader. */
  get current(): Leadership | null {
    return this.leadership;
  }

  /** Starts leading `epoch` with the grants `rounds` already counted; renews at once. */
  begin(epoch: number, rounds: LeaseRounds): Leadership {
    this.leadership = { epoch, rounds, renewAtMs: this.m.nowMs };
    this.leaseOwed = false;
    this.roundPersists.clear();
    return this.leadership;
  }

  end(): void {
    this.leadership = null;
    this.leaseOwed = false;
  }

  /** The host has this machine's first `persists` writes on disk. */
  onDurable(persists: number): void {
    this.durablePersists = Math.max(this.durablePersists, persists);
    this.sendOwedLease();
  }

  private sendOwedLease(): void {
    const l = this.leadership;
    if (!l || !this.leaseOwed || this.held()) return;
    this.leaseOwed = false;
    this.renew(l);
  }

  /**
   * Whether a message sent now would wait behind a write not known durable. Never with quorum
   * none: it has no lease contract to keep (each side of a split leads), and its followers name
   * the leader on every renewal as before.
   */
  private held(): boolean {
    return !this.m.quorumNone() && this.m.out.persistEffects > this.durablePersists;
  }

  step(from: NodeId, message: BullyMessage): void {
    const l = this.leadership!;
    switch (message.type) {
      case 'COORDINATOR':
        if (message.kind === 'renew') return this.m.follower.onRenewal(from, message.epoch, message.round, message.leaseMs);
        // A leader holds its own lease: it yields only by handing off (TRANSFER) or resigning.
        this.m.reject(from, l.epoch);
        return;
      case 'ACCEPT':
        if (message.epoch === l.epoch) {
          l.rounds.ack(from, message.round);
          this.m.durable.earn(from);
          this.durablePersists = Math.max(this.durablePersists, this.roundPersists.get(message.round) ?? 0);
          this.sendOwedLease();
        } else {
          this.m.releaseStaleAccept(from, message.epoch);
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

  tick(): void {
    const l = this.leadership!;
    if (!this.checkLease()) return;
    if (this.m.nowMs >= l.renewAtMs) this.renew(l);
  }

  /** The lease's end (the summary stops saying leader then) and the next renewal. */
  deadline(): number {
    const l = this.leadership;
    return l ? Math.min(this.leaseExpiresAtMs(l), l.renewAtMs) : Infinity;
  }

  renew(l: Leadership): void {
    l.renewAtMs = this.m.nowMs + this.renewIntervalMs();
    const round = l.rounds.next(this.m.nowMs);
    this.roundPersists.set(round, this.m.out.persistEffects);
    this.roundPersists.delete(round - MAX_ROUNDS_KEPT);
    for (const p of this.m.view.reachablePeers()) this.sendRenewal(p.id, l);
  }

  /**
   * The current round, with the lease as it stands now (before this round's grants extend it),
   * or none (0: the member keeps what it was told) when the message waits behind a write.
   */
  sendRenewal(to: NodeId, l: Leadership): void {
    const nowMs = this.m.nowMs;
    const held = this.held();
    if (held) this.leaseOwed = true;
    const remainingMs = held ? 0 : Math.max(0, Math.floor(Math.min(this.leaseExpiresAtMs(l), nowMs + this.m.leaderLeaseDurationMs) - nowMs));
    this.m.out.send(to, { type: 'COORDINATOR', epoch: l.epoch, kind: 'renew', round: l.rounds.current, leaseMs: remainingMs });
  }

  /** A member that just joined or came back hears the current round at once, not at the next renewal. */
  renewToNewcomers(wasAlive: ReadonlySet<NodeId>): void {
    const l = this.leadership;
    if (!l) return;
    for (const p of this.m.view.alivePeers()) if (!wasAlive.has(p.id)) this.sendRenewal(p.id, l);
  }

  /** Steps down when the lease no longer holds; true while still leading. */
  checkLease(): boolean {
    const l = this.leadership;
    if (!l) return false;
    if (this.leaseExpiresAtMs(l) > this.m.nowMs) return true;
    this.m.stepDown();
    return false;
  }

  leaseExpiresAtMs(l: Leadership): number {
    return this.m.quorumNone() ? Infinity : this.leaseExpiresAt(l.rounds);
  }

  /**
   * A lease rests only on members that count towards the cluster and whose connection to us
   * still stands: a leader that loses its connections to a majority steps down at once.
   */
  leaseExpiresAt(rounds: LeaseRounds): number {
    const { selfId, view, config } = this.m;
    const counted = new Set(this.m.durable.countedMemberIds());
    const anyAcceptor = config.expectedSize !== null;
    return rounds.expiresAtMs(majorityOf(this.m.durable.size()), (id) => id !== selfId && (anyAcceptor || counted.has(id)) && !view.member(id)?.connectionLost);
  }

  /**
   * Whether `id` follows us now: its grant of one of our recent rounds still holds. Only such a
   * member relays an operator's command (it asked us as our follower), and only such a member can
   * take over (it would otherwise not claim, and the hand-off would end in a leaderless election).
   */
  isFollower(id: NodeId): boolean {
    return this.leadership !== null && this.leadership.rounds.grantHolds(id, this.m.nowMs);
  }

  /**
   * Whether `id` accepted this leadership's rounds but none of the last two: frozen or cut off,
   * though membership may still show it alive. A leader hands off to such a member only when no
   * other is left (view.ts successor): it would never claim, and the others, released, would wait
   * out an election. A member that never accepted a round is not judged by this (a higher-ranked
   * member that came after the claim, say: skipping it would hand off to one it then refuses).
   */
  silentLately(id: NodeId): boolean {
    const l = this.leadership;
    return l !== null && l.rounds.acked(id) && !l.rounds.ackedSince(id, this.m.nowMs - 2 * this.renewIntervalMs());
  }

  private renewIntervalMs(): number {
    return Math.max(1, Math.floor(this.m.config.leaseMs / 4));
  }
}
