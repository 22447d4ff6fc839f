/**
 * A claimant's or leader's side of the lease (../lease.ts): every COORDINATOR it broadcasts is a
 * numbered round sent at a known time, every ACCEPT names the round it answers, and the lease
 * rests on when the rounds a majority accepted were sent.
 */
import { quorumLeaseExpiryMs } from '../lease.js';
import type { NodeId } from '../types.js';

/** Rounds remembered; older ones can no longer extend a lease (renewals go every lease/4). */
export const MAX_ROUNDS_KEPT = 64;

export class LeaseRounds {
  private round = 0;
  private readonly sentAtMs = new Map<number, number>();
  /** Per member: when the newest round it accepted was sent. */
  private readonly ackSentAtMs = new Map<NodeId, number>();

  constructor(private readonly leaseDurationMs: number) {}

  /** Numbers a new broadcast sent at `nowMs`. */
  next(nowMs: number): number {
    this.round += 1;
    this.sentAtMs.set(this.round, nowMs);
    if (this.sentAtMs.size > MAX_ROUNDS_KEPT) this.sentAtMs.delete(this.round - MAX_ROUNDS_KEPT);
    return this.round;
  }

  get current(): number {
    return this.round;
  }

  /** `from` accepted `round`; rounds never sent (or long forgotten) count for nothing. */
  ack(from: NodeId, round: number): void {
    const sentAtMs = this.sentAtMs.get(round);
    if (sentAtMs === undefined) return;
    if (sentAtMs > (this.ackSentAtMs.get(from) ?? -Infinity)) this.ackSentAtMs.set(from, sentAtMs);
  }

  /** `from` no longer promises anything (it refused a newer epoch, or its connection reset). */
  drop(from: NodeId): void {
    this.ackSentAtMs.delete(from);
  }

  acked(from: NodeId): boolean {
    return this.ackSentAtMs.has(from);
  }

  /** Whether `from` accepted a round sent at `sinceMs` or later. */
  ackedSince(from: NodeId, sinceMs: number): boolean {
    return (this.ackSentAtMs.get(from) ?? -Infinity) >= sinceMs;
  }

  /** Whether the newest round `from` accepted still counts towards a lease at `nowMs`. */
  grantHolds(from: NodeId, nowMs: number): boolean {
    const atMs = this.ackSentAtMs.get(from);
    return atMs !== undefined && atMs + this.leaseDurationMs > nowMs;
  }

  /** When the lease ends, counting only members `counts` accepts, with `votesNeeded` including self. */
  expiresAtMs(votesNeeded: number, counts: (id: NodeId) => boolean): number {
    const acks: number[] = [];
    for (const [id, atMs] of this.ackSentAtMs) if (counts(id)) acks.push(atMs);
    return quorumLeaseExpiryMs(acks, votesNeeded, this.leaseDurationMs);
  }
}
