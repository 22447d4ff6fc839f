import { electionMembers, type Election, type ElectionEffect, type ElectionMember } from '../election.js';
import type { Heartbeat, MembershipEvent } from '../membership/types.js';
import { OBSERVER_SUMMARY, type ElectionSummary, type NodeId } from '../types.js';
import type { MembershipMachine, StepRecord } from './types.js';

/** Same bound as daemon/runtime.ts: a healthy pump needs 2–3 rounds. */
const MAX_PUMP_ROUNDS = 32;

export interface HostOutputs {
  publish(heartbeat: Heartbeat): void;
  send(to: NodeId, message: unknown): void;
  /** Written before any later send of the same drain leaves. */
  persist(state: unknown): void;
  record(record: StepRecord): void;
  /** The pump did not go quiet within its bound (the daemon logs and defers the rest). */
  pumpOverflow(): void;
  /** The election has handed off (or had nothing to hand off) after `shutdown`. */
  shutdownReady(): void;
}

/**
 * One node's machines, driven the way daemon/runtime.ts drives them: every input is followed by
 * a pump that routes effects between membership and election until both are quiet.
 */
export class NodeHost {
  private summaryNow: ElectionSummary;

  constructor(
    readonly id: NodeId,
    readonly membership: MembershipMachine,
    readonly election: Election<unknown, unknown> | null,
    private readonly out: HostOutputs,
    nowMs: number,
  ) {
    this.summaryNow = election ? { ...election.summary(nowMs) } : { ...OBSERVER_SUMMARY };
  }

  get summary(): ElectionSummary {
    return this.summaryNow;
  }

  /** The daemon's start(): an immediate first tick. */
  tick(nowMs: number, localLagMs: number): void {
    this.membership.step({ type: 'tick', nowMs, localLagMs });
    this.election?.step({ type: 'tick', nowMs });
    this.pump(nowMs);
  }

  heartbeat(nowMs: number, from: NodeId, heartbeat: Heartbeat): void {
    this.membership.step({ type: 'heartbeat', nowMs, from, heartbeat });
    this.pump(nowMs);
  }

  message(nowMs: number, from: NodeId, message: unknown): void {
    if (!this.election) return;
    this.election.step({ type: 'message', nowMs, from, message });
    this.pump(nowMs);
  }

  /** Graceful stop, first half: a leader hands off; `shutdownReady` follows. */
  shutdown(nowMs: number): void {
    if (!this.election) {
      this.out.shutdownReady();
      return;
    }
    this.election.step({ type: 'shutdown', nowMs });
    this.pump(nowMs);
  }

  /** Graceful stop, second half: membership announces `left`. */
  leave(nowMs: number): void {
    this.membership.step({ type: 'leave', nowMs });
    this.pump(nowMs);
  }

  connectionClosed(nowMs: number, peer: NodeId): void {
    this.membership.step({ type: 'connection-closed', nowMs, peer });
    this.pump(nowMs);
  }

  private pump(nowMs: number): void {
    for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
      let busy = false;
      let membersChanged = false;
      for (const effect of this.membership.drain()) {
        busy = true;
        if (effect.type === 'publish') this.out.publish(effect.heartbeat);
        else if (effect.type === 'event') membersChanged = this.onMembershipEvent(effect.event) || membersChanged;
      }
      if (this.election) {
        if (membersChanged) this.election.step({ type: 'members', nowMs, members: this.electionView() });
        const effects = this.election.drain();
        if (effects.length > 0) busy = true;
        this.applyElectionEffects(effects);
        this.checkSummary(nowMs);
      }
      if (!busy) return;
    }
    this.out.pumpOverflow();
  }

  /** As the runtime: refutations do not change the view; everything else does. */
  private onMembershipEvent(event: MembershipEvent): boolean {
    this.out.record({ type: 'membership', node: this.id, event });
    return event.type !== 'refuted' && event.type !== 'accusation-ignored';
  }

  private electionView(): ElectionMember[] {
    return electionMembers(this.membership.members());
  }


  private applyElectionEffects(effects: ElectionEffect<unknown, unknown>[]): void {
    for (const effect of effects) if (effect.type === 'persist') this.out.persist(effect.batch.hardState);
    for (const effect of effects) {
      switch (effect.type) {
        case 'send':
          this.out.send(effect.to, effect.message);
          break;
        case 'election-started':
          this.out.record({ type: 'election', node: this.id, event: effect.type, term: effect.term, detail: effect.reason });
          break;
        case 'election-finished':
          this.out.record({ type: 'election', node: this.id, event: effect.type, term: effect.term, detail: effect.result });
          break;
        case 'shutdown-ready':
          this.out.shutdownReady();
          break;
        default:
          break;
      }
    }
  }

  private checkSummary(nowMs: number): void {
    const next = this.election!.summary(nowMs);
    const prev = this.summaryNow;
    if (next.role === prev.role && next.term === prev.term && next.leader === prev.leader && next.fencingToken === prev.fencingToken) return;
    this.summaryNow = { ...next };
    this.out.record({ type: 'summary', node: this.id, from: prev, to: { ...next } });
    this.membership.step({ type: 'update-self', nowMs, meta: { ...next } });
  }
}
