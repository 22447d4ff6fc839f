/**
 * What a leader knows of each follower (etcd-raft's tracker/progress.go, §5.3's nextIndex and
 * matchIndex), plus the two clocks the leader keeps per follower: when it last heard from it
 * (check-quorum) and when it sent the newest round the follower acknowledged (the lease).
 */
import type { NodeId } from '../types.js';
import type { OutgoingSnapshot } from './snapshots.js';

export class Progress {
  /** Highest index known replicated on the follower. */
  match = 0;
  /** Next index to send. */
  next: number;
  /**
   * Probing: one append at a time until the follower accepts (after a start or a refusal).
   * Otherwise replicating: `next` advances optimistically, with at most maxInflight in flight.
   */
  probing = true;
  /** While probing: an append is out, wait for its answer or the next heartbeat. */
  paused = false;
  /** While replicating: the last index of each append in flight, oldest first. */
  inflight: number[] = [];
  /**
   * A snapshot on its way (the follower needs entries the leader compacted away): no appends go
   * until it is installed; one chunk in flight (`paused` until answered or the next heartbeat).
   */
  snapshot: OutgoingSnapshot | null = null;
  /** When the leader last heard anything from this follower in its term (its clock). */
  lastHeardMs: number;
  /** Whether it answered anything in this term yet (lastHeardMs starts as the leader's start). */
  answered = false;
  /**
   * Since when it has answered without a silence longer than two heartbeat intervals: the
   * leader's start (or the follower's addition) while it answered from then on, else its first
   * answer after the latest such silence (a restart, a stall, a cut link). etcd's ActiveSince,
   * measured on answers rather than on a connection (leader.ts mostCaughtUp).
   */
  contactSinceMs: number;
  /** When it last answered (its start while it has not): the silence contactSinceMs looks for. */
  lastAnswerMs: number;
  /** When the leader sent the newest round this follower acknowledged (-Infinity: none yet). */
  ackedRoundSentMs = -Infinity;
  /** The newest round this follower answered (0: none). */
  ackedRound = 0;
  /** The `ref` of the follower's answer received last (null: none carried one), for a hand-off (TRANSFER_VOTE answered). */
  answerRef: number | null = null;
  /** The highest commit index sent to this follower. */
  commitSent = 0;
  /**
   * When this follower must have heard of a commit it has not been sent yet (Infinity: none owed);
   * the leader's commitNoticeDelayMs after the first such commit.
   */
  commitDueMs = Infinity;

  constructor(
    readonly id: NodeId,
    lastIndex: number,
    nowMs: number,
  ) {
    this.next = lastIndex + 1;
    // A new leader gives everyone one election timeout before check-quorum judges (etcd resets recentActive).
    this.lastHeardMs = nowMs;
    this.contactSinceMs = nowMs;
    this.lastAnswerMs = nowMs;
  }

  /** It answered at `nowMs`: a silence longer than `gapMs` before it starts its contact anew. */
  answeredAt(nowMs: number, gapMs: number): void {
    if (nowMs - this.lastAnswerMs > gapMs) this.contactSinceMs = nowMs;
    this.lastAnswerMs = nowMs;
  }

  /** An append of entries up to `lastIndex` left (probing pauses; replicating advances next). */
  sent(lastIndex: number): void {
    if (this.probing) {
      this.paused = true;
      return;
    }
    if (lastIndex >= this.next) {
      this.next = lastIndex + 1;
      this.inflight.push(lastIndex);
    }
  }

  /** Whether another append with entries may leave now. */
  canSend(maxInflight: number): boolean {
    return this.probing || this.snapshot ? !this.paused : this.inflight.length < maxInflight;
  }

  /** The follower holds everything up to `index` (§5.3: on success, update nextIndex and matchIndex). */
  accepted(index: number): boolean {
    const advanced = index > this.match;
    if (this.snapshot && index >= this.snapshot.index) this.snapshot = null;
    this.match = Math.max(this.match, index);
    this.next = Math.max(this.next, this.match + 1);
    this.inflight = this.inflight.filter((i) => i > this.match);
    this.probing = false;
    // While a snapshot is still on its way, its chunk in flight stays in flight: an answer about
    // an older position (a late success, an older snapshot's install) must not send another one
    // beside it, or every such answer adds a chunk to those circling and they multiply.
    if (!this.snapshot) this.paused = false;
    return advanced;
  }

  /** The follower refused: probe again from `next` (never below match + 1). */
  refused(next: number): void {
    this.snapshot = null;
    this.next = Math.max(this.match + 1, next);
    this.probing = true;
    this.paused = false;
    this.inflight = [];
  }

  /**
   * A heartbeat is due: a probing follower may be sent to again (the last probe or its answer may
   * be lost), and a replicating one whose window is full is assumed to have lost what is in flight.
   */
  heartbeat(maxInflight: number): void {
    this.paused = false;
    if (!this.probing && !this.snapshot && this.inflight.length >= maxInflight) this.refused(this.match + 1);
  }
}
