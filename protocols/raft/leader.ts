/**
 * The leader's side: replication (§5.3) with per-follower progress and the fast back-off, the
 * commit rule (§5.4.2: only an entry of the current term is committed by counting replicas), the
 * leader record appended on election, heartbeat rounds and the lease they earn, check-quorum
 * measured in time (etcd #13527), and the transfer's catch-up and TimeoutNow (thesis §3.10).
 */
import type { ElectionPeerProgress } from '../election.js';
import { leaderLeaseMs, quorumLeaseExpiryMs } from '../lease.js';
import type { NodeId } from '../types.js';
import { MAX_ENTRIES_PER_MESSAGE, type RaftEntry, type RaftEntryData, type RaftMessage } from './messages.js';
import { Progress } from './progress.js';
import { committedIndex, majorityOf } from './quorum.js';
import { Snapshots } from './snapshots.js';
import type { Raft } from './raft.js';

/** A transfer in progress: the target, when it is abandoned, and whether TimeoutNow left. */
export interface Transfer {
  to: NodeId;
  deadlineMs: number;
  timeoutNowSent: boolean;
}

export class LeaderState {
  private readonly progress = new Map<NodeId, Progress>();
  /** The index of this term's leader record. */
  private recordIndex = Infinity;
  private round = 0;
  /** When each recent round was sent (rounds older than two lease lengths can earn nothing). */
  private readonly roundSentMs = new Map<number, number>();
  private heartbeatDueMs = Infinity;
  /** Rounds sent before this earn no lease (after TimeoutNow: the lease was given away). */
  private leaseFloorMs = -Infinity;
  /** The lease's and check-quorum's per-voter times, reused: both are asked several times per input. */
  private readonly scratch: number[] = [];
  /**
   * A leader that woke from a stall of its own past its check-quorum deadline leads on for one
   * heartbeat interval (`untilMs`) on probation: it sent a round at once (`fromMs`), and only
   * answers to rounds sent since count as hearing a follower (what waited in its socket through
   * the stall may be old). A majority of them keeps it leading; none steps it down. Null: none.
   */
  private probation: { fromMs: number; untilMs: number } | null = null;
  transfer: Transfer | null = null;
  /** The round broadcast once this leader was announced: the first that may name it. */
  private establishedRound = Infinity;
  /** The highest commit index sent to followers so far. */
  private sentCommit = 0;
  /**
   * The persists the drain that first showed this leader established handed out (the host holds
   * that drain's summary, the one reporting this node leader, until all of them are on disk).
   */
  private announceAfter: number | null = null;
  /**
   * Left out of the next round: the leader that handed over on shutdown (begin), when that round
   * is the one naming this leader. It hears the round after, a heartbeat interval later.
   */
  private quiet: NodeId | null = null;

  constructor(private readonly m: Raft) {}

  /**
   * §5.2/§8: a new leader appends its record, then sends a first round (its heartbeat). A leader
   * elected by a bootstrap set (raft.ts bootstrapSet) first writes that set as the configuration.
   * One elected with the handover record that names it already committed (`handover`, its index:
   * raft.ts handoverCommitted) has its record: it appends none, and is established at once. Its
   * lease counts by the grants that promised (`promises`, candidate.ts promisedFromMs), from its
   * vote requests or from its own answer to the old leader that a grant names, so it reports on
   * winning; else once its first round is answered. Its log is then
   * committed to its end, so its commit index is as current as any (reads may use it, §6.4), and
   * no entry of an earlier term is left uncommitted (configuration changes may follow).
   *
   * `handedOverBy`, the leader that handed over to this one, is sent to last in every round, and
   * not at all in the round that names us after a shutdown's hand-off (below): on shutdown it is
   * leaving, and the others are the ones to name us. Each send to a peer wakes
   * it, and on a host where the members share cores the woken one often runs before the sender
   * sends its next (traced: a fan-out of four reached its last receiver up to 2 ms after its first).
   */
  begin(bootstrapVoters: NodeId[] | null, handover: number | null, promises: ReadonlyMap<NodeId, number>, handedOverBy: NodeId | null = null): void {
    const m = this.m;
    this.progress.clear();
    this.roundSentMs.clear();
    this.transfer = null;
    this.probation = null;
    this.leaseFloorMs = m.nowMs;
    this.establishedRound = Infinity;
    this.sentCommit = 0;
    this.announceAfter = null;
    this.quiet = null;
    // Targets first, so that each one's next index is the first of the entries appended below
    // and the first round carries them (etcd's becomeLeader resets progress before appending its
    // empty entry). Added after, they start past the record: the first round is an empty probe
    // that every follower refuses, one round trip lost on every election.
    this.addTargets(handedOverBy);
    if (handover !== null) {
      this.recordIndex = handover;
      m.advanceCommit(handover);
      // The promises of a transfer's grants count from our vote request, or from our answer to the
      // old leader that a grant it asked for names (candidate.ts promisedFromMs), both before now;
      // one that comes after this counts too (onLateResponse). No round of this term went before,
      // and a transfer abandoned later raises the floor again.
      this.leaseFloorMs = -Infinity;
      for (const [id, fromMs] of promises) this.onPromise(id, fromMs);
      // Reportable already: the round that tells followers so leaves as this step's effects do
      // (beforeDrain), not a round before it, and it skips the old leader. That one is leaving;
      // told now, it would step down, write its term and publish its events on the cores the
      // followers need to name us. It hears the next round. Not reportable yet, we need the
      // round's answers for our lease, perhaps the old leader's too (a cluster of three with a
      // voter down), so that round goes to everyone.
      if (!this.reportable()) this.broadcast();
      else this.quiet = handedOverBy;
      return;
    }
    if (bootstrapVoters) {
      const config: RaftEntry = { index: m.log.lastIndex() + 1, term: m.hard.term, data: { kind: 'config', voters: bootstrapVoters, learners: [] } };
      m.log.append(config);
      m.out.persistEntry(config);
    }
    this.recordIndex = m.log.lastIndex() + 1;
    const record: RaftEntry = { index: this.recordIndex, term: m.hard.term, data: { kind: 'leader', leader: m.selfId, term: m.hard.term } };
    m.log.append(record);
    m.out.persistEntry(record);
    this.maybeCommit();
    this.broadcast();
  }

  end(): void {
    this.progress.clear();
    this.roundSentMs.clear();
    this.recordIndex = Infinity;
    this.heartbeatDueMs = Infinity;
    this.transfer = null;
  }

  /** Its record is committed: the leader may report itself (the host shows that once it is on disk). */
  established(): boolean {
    return this.m.log.committed >= this.recordIndex;
  }

  /**
   * The host has reported this node leader: the writes its report waited behind are on disk. Only
   * now may followers learn that the record committed and name it (a follower naming a leader
   * whose own API never said so, if it crashed first, would be a ghost: sim seeds 322, 464, 14).
   */
  private announced(): boolean {
    return this.announceAfter !== null && this.m.out.durablePersists >= this.announceAfter;
  }

  /**
   * Before each drain: a leader established in this step with all it wrote already on disk is
   * reported as this drain's effects leave (the host holds its summary behind nothing), so its
   * followers are told in this drain. (The commit itself is not written before a report, see
   * Raft.advanceCommit, so no write of its own would announce it: without this they would hear
   * at the next heartbeat.)
   */
  beforeDrain(): void {
    if (this.announceAfter !== null || !this.reportable()) return;
    const out = this.m.out;
    out.flush();
    if (out.durablePersists < out.persistEffects) return;
    this.announceAfter = out.persistEffects;
    if (this.sendableCommit() > this.sentCommit) this.broadcast();
  }

  /**
   * After each drain: the first that shows this leader reportable (established, its lease
   * running) fixes what its report waits for. A lease that ran out ends the announcement: the
   * host reports this node as no longer leading, and followers must not be given a lease again
   * until the host reports it leading again, which waits for the writes of that drain (a leader
   * that regains its lease while a write is on its way would otherwise be named before it says
   * it leads: simulator seed 115 with key-value clients).
   */
  afterDrain(): void {
    if (!this.reportable()) {
      if (this.established()) this.announceAfter = null;
      return;
    }
    this.announceAfter ??= this.m.out.persistEffects;
  }

  /** What summary() reports as leading: the record committed and the lease running. */
  private reportable(): boolean {
    return this.established() && this.leaseExpiryMs() > this.m.nowMs;
  }

  /** What followers may be told is committed: not the record (nor past it) before this leader is announced. */
  private sendableCommit(): number {
    // Once told, always told: a lease that ran out later withholds the lease, not the commit.
    return this.announced() || this.sentCommit >= this.recordIndex ? this.m.log.committed : Math.min(this.m.log.committed, this.recordIndex - 1);
  }

  /**
   * When the lease ends: the oldest send time among the freshest majority's acknowledged rounds
   * plus T scaled for drift (../lease.ts). Nothing while a TimeoutNow is out: that lease is given away.
   */
  leaseExpiryMs(): number {
    // A leader whose own removal is in its log is handing over: it gives its lease away as at TimeoutNow.
    if (this.transfer?.timeoutNowSent || !this.selfVotes()) return -Infinity;
    const voters = this.voters();
    const acks = this.scratch;
    acks.length = 0;
    for (const id of voters) {
      if (id === this.m.selfId) continue;
      const ms = this.progress.get(id)?.ackedRoundSentMs ?? -Infinity;
      if (ms >= this.leaseFloorMs) acks.push(ms);
    }
    return quorumLeaseExpiryMs(acks, majorityOf(voters.length), leaderLeaseMs(this.m.config.electionTimeoutMs));
  }

  /** Whether this leader is a voter of the configuration it uses (not once its removal is in its log). */
  private selfVotes(): boolean {
    return this.voters().includes(this.m.selfId);
  }

  /** Check-quorum's deadline: when a majority has not been heard from within T, or probation ends. */
  private quorumLostAtMs(): number {
    return Math.max(this.heardQuorumUntilMs(), this.probation?.untilMs ?? -Infinity);
  }

  /** When a majority (itself included) will not have been heard from within T. */
  private heardQuorumUntilMs(): number {
    const voters = this.voters();
    const heard = this.scratch;
    heard.length = 0;
    for (const id of voters) {
      if (id === this.m.selfId) continue;
      const ms = this.progress.get(id)?.lastHeardMs ?? -Infinity;
      if (Number.isFinite(ms)) heard.push(ms);
    }
    // A leader being removed does not count itself (§4.2.2): it needs a majority of the others.
    return quorumLeaseExpiryMs(heard, majorityOf(voters.length) + (this.selfVotes() ? 0 : 1), this.m.config.electionTimeoutMs);
  }

  deadline(): number {
    const lease = this.leaseExpiryMs();
    return Math.min(this.heartbeatDueMs, this.quorumLostAtMs(), lease > this.m.nowMs ? lease : Infinity, this.transfer?.deadlineMs ?? Infinity, this.commitNoticeDueMs());
  }

  /**
   * Check-quorum, judged on the clock before every input (not only at the tick): steps down when
   * a majority was not heard from within T, and returns whether it did.
   *
   * A leader that wakes from a stall of its own (SIGSTOP, a blocked event loop) past that deadline
   * has heard nobody it can trust: it sends a round at once and is on probation for one heartbeat
   * interval (`probation`). If its followers still follow it (nobody was elected meanwhile), they
   * answer, and it leads on, as soon as it would have after a shorter pause. If not, it steps down
   * then. Until 2026-12-05 it acted on what waited in its socket (appending a client's write,
   * which restarted its followers' election timers) and judged at its late tick, which the daemon
   * runs after those reads: with answers from before the stall among them it led on, without them it
   * stepped down, and the followers it had just held back waited a whole election timeout more.
   */
  checkQuorum(): boolean {
    const m = this.m;
    const heardUntilMs = this.heardQuorumUntilMs();
    // Heard from a majority since it woke: probation is over.
    if (this.probation && heardUntilMs >= this.probation.untilMs) this.probation = null;
    if (m.nowMs < Math.max(heardUntilMs, this.probation?.untilMs ?? -Infinity)) return false;
    if (this.probation === null && m.justWoke()) {
      this.probation = { fromMs: m.nowMs, untilMs: m.nowMs + m.config.heartbeatIntervalMs };
      this.broadcast();
      return false;
    }
    m.becomeFollower(m.hard.term, null, 'check-quorum');
    return true;
  }

  tick(): void {
    const m = this.m;
    if (this.transfer && m.nowMs >= this.transfer.deadlineMs) m.commands.transferAborted(this.abortTransfer());
    if (m.nowMs >= this.heartbeatDueMs) {
      // etcd's "failed to send out heartbeat on time": a whole interval late, followers may campaign.
      const lateMs = m.nowMs - this.heartbeatDueMs;
      if (lateMs >= m.config.heartbeatIntervalMs) m.out.emit({ type: 'heartbeat-late', lateMs });
      this.broadcast();
    }
    this.sendDueCommits();
  }

  /** Raft members that joined the view since: replicate to them too (as non-voting followers). */
  onMembers(): void {
    this.addTargets();
  }

  /**
   * Replication targets: every voter and learner but itself, and every live raft member of the
   * view (they follow the log before they are learners, so they are caught up when autopilot
   * looks at them, and every node can name the leader).
   */
  private addTargets(last: NodeId | null = null): void {
    const m = this.m;
    const live = m.members.filter((x) => x.protocol === 'raft' && x.state === 'alive').map((x) => x.id);
    // Rounds go to followers in the map's order: `last` is added last.
    const ids = [...new Set([...this.voters(), ...(m.configuration()?.learners ?? []), ...live])];
    for (const id of [...ids.filter((x) => x !== last), ...ids.filter((x) => x === last)]) {
      if (id !== m.selfId && !this.progress.has(id)) this.progress.set(id, new Progress(id, m.log.lastIndex(), m.nowMs));
    }
  }

  private voters(): readonly NodeId[] {
    return this.m.configuration()?.voters ?? [];
  }

  /**
   * Appends `data` at this term and sends it to every follower at once (a configuration change,
   * confchange.ts); a single voter commits it here. Returns its index.
   */
  propose(data: RaftEntryData): number {
    const m = this.m;
    const entry: RaftEntry = { index: m.log.lastIndex() + 1, term: m.hard.term, data };
    m.log.append(entry);
    m.out.persistEntry(entry);
    this.addTargets();
    // At once to a follower with nothing in flight; to one with an append on its way, with the
    // next append, when that one is answered (afterAnswer): proposals that arrive meanwhile go
    // together, one message and one follower fsync for many (etcd batches a Ready's entries so).
    for (const p of this.progress.values()) if (p.inflight.length === 0) this.sendAppend(p, false);
    this.maybeCommit();
    return entry.index;
  }

  /** The number the last heartbeat round carried. */
  lastRound(): number {
    return this.round;
  }

  /** Whether this leader sent round `round` within the last two election timeouts. */
  sentRecently(round: number): boolean {
    return this.roundSentMs.has(round);
  }

  /** Sends the next heartbeat round now (a read waits for a majority to acknowledge it). */
  roundNow(): void {
    this.broadcast();
  }

  /** The voters of the configuration in use. */
  voterIds(): readonly NodeId[] {
    return this.voters();
  }

  /** The newest round `id` acknowledged in this term (0: none). */
  ackedRoundOf(id: NodeId): number {
    return this.progress.get(id)?.ackedRound ?? 0;
  }

  /** The highest index known replicated on `id` (the leader's own last index for itself). */
  matchOf(id: NodeId): number {
    return id === this.m.selfId ? this.m.log.lastIndex() : (this.progress.get(id)?.match ?? 0);
  }

  /** A heartbeat round to every follower: it renews the lease and retries what was lost. */
  private broadcast(): void {
    const m = this.m;
    this.round++;
    this.roundSentMs.set(this.round, m.nowMs);
    if (this.establishedRound === Infinity && this.announced()) this.establishedRound = this.round;
    for (const [round, sentMs] of this.roundSentMs) if (sentMs < m.nowMs - 2 * m.config.electionTimeoutMs) this.roundSentMs.delete(round);
    this.heartbeatDueMs = m.nowMs + m.config.heartbeatIntervalMs;
    const quiet = this.quiet;
    this.quiet = null;
    for (const p of this.progress.values()) {
      if (p.id === quiet) continue;
      p.heartbeat(m.config.maxInflight);
      this.sendAppend(p, true);
    }
  }

  /**
   * One AppendEntries from p.next (empty when caught up); `heartbeat` sends even with nothing new.
   * It leaves at once, while this node may still be writing the same entries (thesis §10.2.1:
   * the leader writes in parallel with its followers, and counts itself towards a commit only
   * for what is on its disk, maybeCommit). The record's commit and a lease go only once followers
   * may name this leader (announced).
   */
  private sendAppend(p: Progress, heartbeat: boolean): void {
    const m = this.m;
    if (!p.canSend(m.config.maxInflight)) return;
    const prevLogIndex = p.next - 1;
    const prevLogTerm = m.log.term(prevLogIndex);
    // Compacted away (§7): the follower gets the snapshot instead, chunk by chunk.
    if (p.snapshot || prevLogTerm === null) {
      this.sendSnapshotChunk(p);
      if (heartbeat) this.sendLeaseHeartbeat(p);
      return;
    }
    // Never more than a receiver's codec accepts, whatever the config says.
    const entries = this.withinBytes(m.log.slice(p.next, Math.min(m.config.maxEntriesPerAppend, MAX_ENTRIES_PER_MESSAGE)));
    if (entries.length === 0 && !heartbeat) return;
    const leaseMs = this.leaseToSend();
    const leaderCommit = this.sendableCommit();
    this.sentCommit = Math.max(this.sentCommit, leaderCommit);
    p.commitSent = Math.max(p.commitSent, leaderCommit);
    p.commitDueMs = Infinity;
    m.out.sendParallel(p.id, { type: 'APPEND', term: m.hard.term, prevLogIndex, prevLogTerm, entries, leaderCommit, round: this.round, leaseMs });
    p.sent(entries.at(-1)?.index ?? prevLogIndex);
  }

  /**
   * A heartbeat round for a follower a snapshot is on its way to: an empty append at the
   * snapshot's index, so that it keeps its lease and leader like any follower (etcd's heartbeats
   * go to followers in StateSnapshot too). It renews nothing else: the follower's answer is a
   * refusal (ignored while the snapshot is on its way), or, if it holds that entry after all, a
   * success that ends the need for the snapshot.
   */
  private sendLeaseHeartbeat(p: Progress): void {
    const m = this.m;
    const prevLogIndex = m.log.snapshotIndex();
    const prevLogTerm = m.log.term(prevLogIndex) ?? 0;
    m.out.sendParallel(p.id, { type: 'APPEND', term: m.hard.term, prevLogIndex, prevLogTerm, entries: [], leaderCommit: this.sendableCommit(), round: this.round, leaseMs: this.leaseToSend() });
  }

  /** What the lease still runs, as an append tells followers: none before announced or once given away, a full one when it never ends. */
  private leaseToSend(): number {
    const m = this.m;
    const expiryMs = this.announced() ? this.leaseExpiryMs() : -Infinity;
    return Math.max(0, Math.floor(expiryMs === Infinity ? leaderLeaseMs(m.config.electionTimeoutMs) : expiryMs - m.nowMs));
  }

  /** The first of `entries` that fit one append's byte budget together (at least one: a proposal is refused if it alone would not, kv.ts). */
  private withinBytes(entries: RaftEntry[]): RaftEntry[] {
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      bytes += this.m.kv.bytesOf(entries[i]!);
      if (bytes > this.m.appendBytes && i > 0) return entries.slice(0, i);
    }
    return entries;
  }

  /** The next chunk of the snapshot `p` needs (starting one when none is on its way); one in flight. */
  private sendSnapshotChunk(p: Progress): void {
    const m = this.m;
    if (!p.snapshot) {
      p.snapshot = Snapshots.outgoing(m.log);
      if (!p.snapshot) return;
      m.out.emit({ type: 'snapshot', action: 'sent', index: p.snapshot.index, term: p.snapshot.term, peer: p.id });
    }
    m.out.send(p.id, m.snapshots.chunk(p.snapshot, this.round));
    p.snapshot.sentRound = this.round;
    p.paused = true;
  }

  onSnapshotResponse(from: NodeId, r: Extract<RaftMessage, { type: 'SNAPSHOT_RESPONSE' }>): void {
    const p = this.progress.get(from);
    if (!p) return;
    this.heard(p, r.round, r.ref);
    if (r.installed) {
      if (p.accepted(r.index)) this.maybeCommit();
    } else if (p.snapshot && p.snapshot.index === r.index) {
      const s = p.snapshot;
      if (r.received > s.offset || (r.received < s.offset && r.round >= s.sentRound)) {
        // The answer to the chunk in flight: on to the next. Or an answer to the last chunk sent
        // that holds less than we thought (the follower restarted, or refused a chunk that did not
        // continue what it holds): from where it stands.
        s.offset = Math.min(r.received, s.text.length);
        p.paused = false;
      }
      // Otherwise a duplicate or a late answer: the chunk in flight gets its own answer, or the
      // next heartbeat sends it again.
    }
    this.afterAnswer(p);
  }

  onAppendResponse(from: NodeId, r: Extract<RaftMessage, { type: 'APPEND_RESPONSE' }>): void {
    const m = this.m;
    const p = this.progress.get(from);
    if (!p) return;
    this.heard(p, r.round, r.ref);
    if (r.success) {
      if (p.accepted(r.index)) this.maybeCommit();
    } else {
      if (r.index < p.match) return; // stale: it refers to a position already matched
      // A snapshot is on its way: the refusal answers an append sent before it (etcd ignores
      // rejections in StateSnapshot). Restarting the snapshot here would send its first chunk
      // again after every stray refusal, and a large one would never arrive.
      if (p.snapshot) return this.afterAnswer(p);
      // Fast back-off: skip every entry of a term the follower cannot hold.
      p.refused(m.log.lastIndexAtOrBelowTerm(r.hintIndex, r.hintTerm) + 1);
    }
    this.afterAnswer(p);
  }

  /**
   * A voter granted our transfer campaign with a promise that counts from `sentMs` (VOTE_RESPONSE
   * promise, candidate.ts promisedFromMs): it counts for the lease as an answer to a round sent then would.
   */
  onPromise(from: NodeId, sentMs: number): void {
    const p = this.progress.get(from);
    if (!p || sentMs < this.leaseFloorMs) return;
    p.lastHeardMs = this.m.nowMs;
    p.ackedRoundSentMs = Math.max(p.ackedRoundSentMs, sentMs);
  }

  /**
   * Any answer in our term: check-quorum hears the follower, and it took us as its leader at that
   * round, so the round counts for the lease.
   */
  private heard(p: Progress, round: number, ref: number | undefined): void {
    if (ref !== undefined) p.answerRef = ref;
    const sentMs = this.roundSentMs.get(round);
    // On probation, an answer to a round sent before the stall says nothing of now.
    if (this.probation === null || (sentMs ?? -Infinity) >= this.probation.fromMs) p.lastHeardMs = this.m.nowMs;
    p.answered = true;
    p.answeredAt(this.m.nowMs, 2 * this.m.config.heartbeatIntervalMs);
    if (sentMs !== undefined && sentMs >= this.leaseFloorMs) p.ackedRoundSentMs = Math.max(p.ackedRoundSentMs, sentMs);
    p.ackedRound = Math.max(p.ackedRound, round);
    this.m.kv.onAcknowledged();
  }

  /**
   * More of this node's writes are on disk: its own entries may complete a majority, and once
   * this leader is announced, followers learn so at once (the record's commit, with a lease),
   * not a heartbeat later.
   */
  onDurable(): void {
    this.maybeCommit();
    this.notifyCommit(this.sentCommit);
    this.maybeSendTimeoutNow();
  }

  /**
   * The commit index followers may be told grew (entries after `from` are newly committed). The
   * first time it covers this leader's record every follower hears at once, with the lease (a
   * heartbeat round). After that, a follower whose client waits on a write just committed (the
   * entry's origin) hears now, for it answers that client as it applies. Any other follower
   * learns it with the next append it gets (the next write, the next heartbeat, the answer to
   * the append on its way: afterAnswer), or once it has waited `commitNoticeDelayMs` with nothing
   * on its way (sendDueCommits): a commit-only append and its wake-up per follower per write cost
   * a one-client write about an eighth of the members' CPU, and under load the next write's append
   * carries it anyway. With the delay at 0, every follower with nothing on its way hears at once
   * (etcd's way).
   */
  private notifyCommit(from: number): void {
    const commit = this.sendableCommit();
    if (this.sentCommit < this.recordIndex && commit >= this.recordIndex) return this.broadcast();
    const origins = this.originsBetween(from, commit);
    const dueMs = this.m.nowMs + this.m.config.commitNoticeDelayMs;
    for (const p of this.progress.values()) {
      if (p.commitSent >= commit || p.snapshot) continue;
      if (origins.has(p.id)) this.sendAppend(p, true);
      else p.commitDueMs = Math.min(p.commitDueMs, dueMs);
    }
    this.sendDueCommits();
  }

  /**
   * Whether `p` is owed a commit it could be sent now: nothing on its way to it (an answer to that
   * would carry it, afterAnswer). Not while a TimeoutNow is out: the successor's first append
   * carries the commit, and a notice of ours would reach followers in the very milliseconds they
   * take the successor in (traced: four appends of the old term, and four refusals, there).
   */
  private owesCommit(p: Progress, sendable: number): boolean {
    return p.commitSent < sendable && !p.snapshot && p.inflight.length === 0 && p.canSend(this.m.config.maxInflight) && !this.transfer?.timeoutNowSent;
  }

  /** Whether `p` should have heard of a commit by now and nothing on its way to it will tell it. */
  private commitNoticeDue(p: Progress, sendable: number): boolean {
    return this.m.nowMs >= p.commitDueMs && this.owesCommit(p, sendable);
  }

  /** Followers whose commit notice is due and that have nothing on their way get it now. */
  private sendDueCommits(): void {
    const sendable = this.sendableCommit();
    for (const p of this.progress.values()) if (this.commitNoticeDue(p, sendable)) this.sendAppend(p, true);
  }

  /** When the next commit notice falls due (only followers it could go to now: the others hear with their answer). */
  private commitNoticeDueMs(): number {
    let due = Infinity;
    const sendable = this.sendableCommit();
    for (const p of this.progress.values()) if (p.commitDueMs < due && this.owesCommit(p, sendable)) due = p.commitDueMs;
    return due;
  }

  /** The nodes that proposed the key-value writes in (after, upTo]. */
  private originsBetween(after: number, upTo: number): Set<NodeId> {
    const origins = new Set<NodeId>();
    if (upTo <= after) return origins;
    for (const e of this.m.log.slice(after + 1, upTo - after)) if (e.data.kind === 'kv' && e.data.origin) origins.add(e.data.origin.node);
    return origins;
  }

  /** After an answer: send what the follower can take now, a due TimeoutNow. */
  private afterAnswer(p: Progress): void {
    const m = this.m;
    if (p.snapshot && !p.paused) this.sendSnapshotChunk(p);
    while (!p.snapshot && p.next <= m.log.lastIndex() && p.canSend(m.config.maxInflight)) {
      const before = p.next;
      this.sendAppend(p, false);
      if (p.next === before) break;
    }
    // A commit it has not heard of yet and should have by now (notifyCommit left it for this answer).
    if (this.commitNoticeDue(p, this.sendableCommit())) this.sendAppend(p, true);
    this.maybeSendTimeoutNow();
  }

  /**
   * §5.3/§5.4.2: the highest index a majority holds is committed only if its entry is of the
   * current term (Figure 8); earlier entries commit with it. This node counts for what is on its
   * own disk. Followers learn at once, except of the record before this leader is announced.
   */
  private maybeCommit(): void {
    const m = this.m;
    const own = Math.min(m.log.lastIndex(), m.out.durableLogEnd);
    const index = committedIndex(this.voters(), (id) => (id === m.selfId ? own : (this.progress.get(id)?.match ?? 0)));
    if (index <= m.log.committed || m.log.term(index) !== m.hard.term) return;
    const before = m.log.committed;
    m.counters.proposalsCommitted += this.ownEntriesBetween(before, index);
    m.advanceCommit(index);
    this.notifyCommit(before);
  }

  /** Entries of this leader's term in (after, upTo]: what it proposed there. */
  private ownEntriesBetween(after: number, upTo: number): number {
    const m = this.m;
    let n = 0;
    for (let i = upTo; i > after && m.log.term(i) === m.hard.term; i--) n++;
    return n;
  }

  /** Entries of this leader's term it holds beyond the commit index (lost if it steps down now). */
  uncommittedOwnEntries(): number {
    return this.ownEntriesBetween(this.m.log.committed, this.m.log.lastIndex());
  }

  /** Per follower, for the API (`GET /v1/raft`): where it stands and when it last answered. */
  peers(): ElectionPeerProgress[] {
    const m = this.m;
    const voters = new Set(this.voters());
    return [...this.progress.values()]
      .map((p) => ({
        id: p.id,
        voter: voters.has(p.id),
        matchIndex: p.match,
        nextIndex: p.next,
        lag: Math.max(0, m.log.lastIndex() - p.match),
        lastContactMs: p.answered ? Math.max(0, m.nowMs - p.lastHeardMs) : null,
        state: p.snapshot ? ('snapshot' as const) : p.probing ? ('probe' as const) : ('replicate' as const),
      }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  // ---- leadership transfer (thesis §3.10) ----

  /**
   * The voter (not itself) to hand leadership to: one membership shows alive before one it does
   * not, then one that answered within two heartbeat intervals before one that did not (a voter
   * frozen or cut off while membership still shows it alive: handed over to, it would never
   * campaign, and the voters that gave it their vote (TRANSFER_VOTE) would wait out an election
   * timeout), then the one holding the most of the log, then the one in contact the longest
   * (Progress.contactSinceMs), ties to the lowest id; null if none.
   *
   * In contact the longest is etcd's choice when its leader stops (longestConnected, on its
   * transport's ActiveSince): a voter that came back a moment ago, a restarted daemon above all,
   * is the slowest to take over. Its code has run little yet (V8 compiled it at load, but runs it
   * without type feedback until it has) and its heap is still growing, with the collections that
   * brings: in the SIGTERM bench, which restarts each leader it stopped, such a successor spent
   * 13-19 ms of CPU on its take-over, one up a while 10-14 (README "Raft › Hand-off").
   */
  mostCaughtUp(): NodeId | null {
    const m = this.m;
    const heard = (p: Progress | undefined) => p !== undefined && p.answered && m.nowMs - p.lastHeardMs <= 2 * m.config.heartbeatIntervalMs;
    const rank = (id: NodeId): number[] => {
      const p = this.progress.get(id);
      return [m.memberAlive(id) ? 1 : 0, heard(p) ? 1 : 0, p?.match ?? 0, p?.answered ? -p.contactSinceMs : -Infinity];
    };
    let best: NodeId | null = null;
    let bestRank: number[] = [];
    for (const id of this.voters()) {
      if (id === m.selfId) continue;
      const r = rank(id);
      const i = r.findIndex((v, k) => v !== bestRank[k]);
      if (best === null || (i >= 0 && r[i]! > bestRank[i]!)) [best, bestRank] = [id, r];
    }
    return best;
  }

  /** Catch `to` up, then send it TimeoutNow; abandoned after one election timeout. */
  startTransfer(to: NodeId): void {
    const m = this.m;
    this.transfer = { to, deadlineMs: m.nowMs + m.config.electionTimeoutMs, timeoutNowSent: false };
    const p = this.progress.get(to);
    if (!p) return;
    if (p.match !== m.log.lastIndex()) {
      p.heartbeat(m.config.maxInflight);
      this.sendAppend(p, true);
    }
    this.maybeSendTimeoutNow();
  }

  /**
   * TimeoutNow leaves once the target holds the whole log and this leadership was announced: a
   * follower acknowledged a round sent since the host reported this node leader (announced);
   * handing off before then would leave followers naming a leader its own API never reported
   * (sim seeds 322, 464).
   */
  private maybeSendTimeoutNow(): void {
    const t = this.transfer;
    if (!t || t.timeoutNowSent || this.progress.get(t.to)?.match !== this.m.log.lastIndex()) return;
    if (![...this.progress.values()].some((p) => p.ackedRound >= this.establishedRound)) return;
    t.timeoutNowSent = true;
    this.handOver(t.to);
  }

  /**
   * TimeoutNow to `to`, which holds the whole log, and at the same moment TRANSFER_VOTE to the
   * other voters: each sends its vote straight to `to` instead of waiting for `to` to ask, so the
   * successor has its majority one hop after this send, not two (raft.ts voteForSuccessor).
   *
   * A leader that is shutting down first appends a handover record naming `to` as the leader of
   * the next term (messages.ts) and sends it to every follower ahead of these messages. The voters
   * write it with their vote, and their grants say they hold it: a successor elected by a
   * majority of holders has its record committed the moment it wins (raft.ts handoverCommitted),
   * instead of appending one of its own and waiting a round of follower writes for it to commit.
   * Only on shutdown: a leader that stays could lead on if the transfer fails, with a committed
   * record naming another for the next term in its log; one that leaves steps down instead
   * (commands.ts checkShutdown). These sends need not wait for this node's write of the record
   * (they leave in order behind the appends that carry it): it counts for nothing here.
   */
  handOver(to: NodeId): void {
    const m = this.m;
    const lastLogIndex = m.log.lastIndex();
    const lastLogTerm = m.log.lastTerm();
    const target = this.progress.get(to);
    let handover: number | undefined;
    // Every member it goes to must speak dialect 2 (messages.ts RAFT_WIRE): an older one would take it for this term's record.
    if (m.commands.stopping && target?.canSend(m.config.maxInflight) && [...this.progress.keys()].every((id) => m.speaks(id, 2))) {
      handover = lastLogIndex + 1;
      const record: RaftEntry = { index: handover, term: m.hard.term, data: { kind: 'leader', leader: to, term: m.hard.term + 1 } };
      // Its own copy counts for nothing (above), so its write may wait until the hand-off has
      // run (ElectionEffect persist `deferrable`): the successor and the voters write this record
      // at this very moment, on disks and cores a leaving node may share with them.
      m.out.flush();
      m.log.append(record);
      m.out.persistEntry(record);
      m.out.deferPending();
      // The lease is given away already (timeoutNowSent): these appends end every follower's
      // naming of this leader. The successor's first, with its TimeoutNow: it has the most to do.
      this.sendAppend(target, false);
    }
    m.out.sendParallel(to, { type: 'TIMEOUT_NOW', term: m.hard.term });
    if (handover !== undefined) for (const p of this.progress.values()) if (p !== target) this.sendAppend(p, false);
    const vote: RaftMessage = { type: 'TRANSFER_VOTE', term: m.hard.term, candidate: to, lastLogIndex, lastLogTerm, ...(handover !== undefined ? { handover } : {}) };
    // The target's answer received last: a voter of dialect 3 passes it on with a promise (raft.ts voteForSuccessor).
    const answered = target?.answerRef ?? null;
    const promising: RaftMessage | null = answered !== null ? { ...vote, answered } : null;
    for (const id of this.voters()) if (id !== to && id !== m.selfId) m.out.sendParallel(id, promising && m.speaks(id, 3) ? promising : vote);
  }

  /**
   * The target did not take over in time: lead on. Only rounds sent from now on earn a lease, as
   * TimeoutNow may have let the target gather votes past the stickiness of those who acknowledged.
   */
  private abortTransfer(): NodeId {
    const to = this.transfer!.to;
    this.transfer = null;
    this.leaseFloorMs = this.m.nowMs;
    for (const p of this.progress.values()) p.ackedRoundSentMs = -Infinity;
    this.broadcast();
    return to;
  }
}
