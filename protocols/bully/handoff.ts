/**
 * Handing leadership to a successor, for a transfer and for a graceful shutdown: the leader
 * releases its followers first, then tells the target to take over (TRANSFER), so the hand-off
 * never has two leaders. A pending transfer is answered once the target leads a newer epoch or
 * its bound runs out. On shutdown a leader hands off and emits `shutdown-ready` once a successor
 * leads (or at the bound); any other node stops at once.
 */
import type { CommandResult } from '../election.js';
import type { NodeId } from '../types.js';
import type { Candidate } from './candidate.js';
import type { BullyContext } from './context.js';
import type { Commands } from './commands.js';
import type { Follower } from './follower.js';
import type { Leader } from './leader.js';

/**
 * A hand-off under way. Only ever held by a node that no longer leads: handOff ends leadership,
 * and while a transfer is pending this node does not stand (mayStand), so it cannot claim again.
 */
interface PendingTransfer {
  commandId: number | null;
  to: NodeId;
  /** The epoch this node led when it handed off. */
  fromEpoch: number;
  deadlineMs: number;
}

export interface HandOffPort extends BullyContext {
  readonly leader: Pick<Leader, 'current' | 'silentLately'>;
  readonly follower: Pick<Follower, 'namedLeader' | 'scheduleRetry'>;
  readonly candidate: Pick<Candidate, 'active' | 'giveUp'>;
  readonly commands: Pick<Commands, 'failElects'>;
  currentTerm(): number;
  stepDown(): void;
  endLeadership(): void;
  /** RELEASE to every reachable member but `except`. */
  release(epoch: number, except?: NodeId): void;
}

export class HandOff {
  private transfer: PendingTransfer | null = null;
  private stopping = false;
  private shutdownReadySent = false;
  private shutdownDeadlineMs: number | null = null;
  /** While shutting down after a hand-off: the epoch we led; leave once a successor leads a newer one. */
  private handedOffEpoch: number | null = null;

  constructor(private readonly m: HandOffPort) {}

  /** Whether a graceful shutdown began (this node no longer stands or takes commands that need it). */
  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** Whether this node is stopping or handing off: it does not stand meanwhile. */
  handingOff(): boolean {
    return this.stopping || this.transfer !== null;
  }

  onShutdown(): void {
    if (this.stopping) return;
    this.stopping = true;
    const m = this.m;
    m.commands.failElects();
    const l = m.leader.current;
    const successor = l ? m.view.successor((id) => m.leader.silentLately(id)) : null;
    if (l && successor) {
      this.shutdownDeadlineMs = m.nowMs + m.config.coordinatorTimeoutMs;
      this.handedOffEpoch = l.epoch;
      this.handOff(successor.id, null);
      return;
    }
    if (l) m.stepDown();
    if (m.candidate.active()) m.candidate.giveUp('aborted', m.currentTerm());
    this.shutdownReady();
  }

  /**
   * Stop leading, then RELEASE and TRANSFER: this node ends its leadership before anything leaves,
   * so no one may grant the target while it still leads and the hand-off never has two leaders.
   * The target claims at once and the others, released, accept it. The others' releases go
   * first and the target's TRANSFER after them: the target's claim leaves as it writes it
   * (candidate.ts), and a member that hears it before its release defers it, which costs the
   * hand-off a refusal and a write after the release comes.
   */
  handOff(to: NodeId, commandId: number | null): void {
    const m = this.m;
    const l = m.leader.current!;
    this.transfer = { commandId, to, fromEpoch: l.epoch, deadlineMs: m.nowMs + m.config.answerTimeoutMs + m.config.coordinatorTimeoutMs };
    m.endLeadership();
    m.release(l.epoch, to);
    m.out.send(to, { type: 'TRANSFER', epoch: l.epoch });
    m.out.send(to, { type: 'RELEASE', epoch: l.epoch });
  }

  /** The shutdown bound, then the transfer bound. */
  tick(): void {
    const m = this.m;
    if (this.shutdownDeadlineMs !== null && m.nowMs >= this.shutdownDeadlineMs) this.shutdownReady();
    if (this.transfer && m.nowMs >= this.transfer.deadlineMs) {
      const leader = m.follower.namedLeader(m.nowMs);
      const still = leader ? `${m.view.nameOf(leader.id)} leads` : 'a new election follows';
      this.finishTransfer({ ok: false, code: 'transfer-timeout', message: `${m.view.nameOf(this.transfer.to)} did not take over in time; ${still}` });
      if (!leader) m.follower.scheduleRetry();
    }
  }

  deadline(): number {
    return Math.min(this.shutdownDeadlineMs ?? Infinity, this.transfer?.deadlineMs ?? Infinity);
  }

  /** This node follows the leader of `epoch`: a transfer may be done, a handed-off shutdown too. */
  onFollow(epoch: number): void {
    this.checkTransferDone();
    if (this.stopping && this.handedOffEpoch !== null && epoch > this.handedOffEpoch) this.shutdownReady();
  }

  /** This node stopped leading: shutting down with nobody to hand off to, it may go now. */
  onLeadershipEnded(): void {
    if (this.stopping && this.handedOffEpoch === null) this.shutdownReady();
  }

  /** A pending transfer succeeded once its target leads a newer epoch. */
  private checkTransferDone(): void {
    const t = this.transfer;
    const leader = this.m.follower.namedLeader(this.m.nowMs);
    if (!t || !leader || leader.epoch <= t.fromEpoch) return;
    const view = this.m.view;
    if (leader.id === t.to) this.finishTransfer({ ok: true, detail: `leadership transferred to ${view.nameOf(t.to)} at epoch ${leader.epoch}` });
    else this.finishTransfer({ ok: false, code: 'not-leader', message: `${view.nameOf(leader.id)} took over at epoch ${leader.epoch} instead of ${view.nameOf(t.to)}` });
  }

  private finishTransfer(result: CommandResult): void {
    const t = this.transfer;
    this.transfer = null;
    if (t?.commandId != null) this.m.out.reply(t.commandId, result);
  }

  private shutdownReady(): void {
    if (!this.stopping) return;
    this.shutdownDeadlineMs = null;
    if (this.shutdownReadySent) return;
    this.shutdownReadySent = true;
    this.m.out.emit({ type: 'shutdown-ready' });
  }
}
