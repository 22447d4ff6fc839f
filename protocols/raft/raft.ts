/**
 * The Raft election machine (Ongaro's thesis; etcd-io/raft where the text is silent). This file
 * owns the machine's state, the Election interface (step, summary, status, deadline), the term
 * check every message passes first, the voter's side of elections, and the transitions between
 * roles. Each role has its own step function, swapped on transition (raft.go's stepFollower /
 * stepCandidate / stepLeader). A campaign's requests and grants are candidate.ts, the leader's
 * replication and lease leader.ts, the follower's AppendEntries follower.ts, commands and
 * shutdown commands.ts (relayed to the leader by relay.ts), configuration changes confchange.ts
 * (what to change: autopilot.ts), the bootstrap rule bootstrap.ts; the log, per-follower
 * progress, majority arithmetic and durable effects have their own files.
 *
 * Leadership is a lease (../lease.ts): a follower that heard from its leader within T refuses
 * (pre-)votes (stickiness), so a leader may count T, scaled down for clock drift, from when it
 * sent the newest round a majority acknowledged. It reports itself leader only while that lease
 * holds and once its leader record (the first entry of its term) is committed; followers name it
 * only once they know that record committed, and no longer than the lease it told them of.
 */
import { MAX_COUNTER } from '../bounds.js';
import type { Election, ElectionImage, ElectionInput, ElectionLogCounters, ElectionLogStatus, ElectionMember, ElectionStatus, StepDownReason } from '../election.js';
import { leaderLeaseMs } from '../lease.js';
import { NO_CARRY_OVER, raftCarryOver, type CarryOver } from '../carry-over.js';
import type { Rng } from '../rng.js';
import { StallClock } from '../stall.js';
import type { ElectionSummary, LogEntry, NodeId, Snapshot } from '../types.js';
import { refusal as refusalOf } from './admission.js';
import { aliveRaftMembers, bootstrapSet, switchBootstrapSet } from './bootstrap.js';
import { CandidateState } from './candidate.js';
import { Commands } from './commands.js';
import type { KvSnapshotData } from '../kv/types.js';
import { KvService } from './kv.js';
import { SessionTimers } from './sessions.js';
import { ConfChanges } from './confchange.js';
import { appendEntries } from './follower.js';
import type { RaftConfig } from './config.js';
import { INITIAL_RAFT_STATE, type RaftHardState } from './durable.js';
import { LeaderState } from './leader.js';
import { RaftLog, type RaftSnapshot } from './log.js';
import type { RaftConfiguration, RaftEntry, RaftMessage } from './messages.js';
import { Outbox, type RaftEffect } from './outbox.js';
import { majorityOf } from './quorum.js';
import { DEFAULT_SNAPSHOT_CHUNK_BYTES, Snapshots } from './snapshots.js';

/** Without a frame size from the host: a quarter of the daemon's default 64 KiB frame, as a snapshot chunk. */
export const DEFAULT_APPEND_BYTES = DEFAULT_SNAPSHOT_CHUNK_BYTES;
/** Answers to its leaders a node remembers (answerRef): a hand-off names one of the last few. */
const MAX_ANSWERS_REMEMBERED = 64;
/** Each life's answer refs start at random below this (well inside the codec's counter bound). */
const ANSWER_REF_START_MAX = 2 ** 40;
import { RELAY_BOUND_TIMEOUTS, Relay } from './relay.js';

export interface RaftInit {
  selfId: NodeId;
  config: RaftConfig;
  /** `cluster.bootstrapExpect`: the configuration forms once at least this many raft members are alive in view (bootstrap.ts). */
  bootstrapExpect: number;
  rng: Rng;
  persisted: RaftHardState | null;
  /** The log as the previous lives left it: the snapshot (its data a RaftConfiguration) and the entries after it. */
  log: { snapshot: Snapshot | null; entries: readonly LogEntry[] };
  nowMs: number;
  /** Largest snapshot chunk one message carries (UTF-8 bytes of JSON text); the daemon fits it to messaging.maxFrameBytes. */
  snapshotChunkBytes?: number;
  /** Most bytes of entries (JSON text) one append carries; a key-value write larger than this is refused. The daemon fits it to messaging.maxFrameBytes. */
  appendBytes?: number;
  /** What another protocol that ran on this node obliges this one to (../carry-over.ts); absent: nothing. */
  carryOver?: CarryOver;
}

/** The machine's own role; the summary shows a pre-candidate as `candidate`. */
export type RaftRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** What `raftStatus()` reports, for the API and for the simulator's invariants. */
export interface RaftStatus extends ElectionLogStatus {
  role: RaftRole;
  term: number;
  votedFor: NodeId | null;
  /** The leader this node believes leads `term` (itself when leading), named or not yet. */
  leader: NodeId | null;
}

/** The Election interface plus the inspection methods the API and the simulator use. */
export interface RaftElection extends Election<RaftMessage, RaftHardState> {
  raftStatus(): RaftStatus;
  /** The whole log this node holds (read only): for Log Matching and Leader Completeness checks. */
  logEntries(): readonly RaftEntry[];
  /** The term of the snapshot's last entry (0 without a snapshot). */
  snapshotTerm(): number;
  /** The key-value store as applied here (what a snapshot at the applied index would hold). */
  kvState(): KvSnapshotData;
}

export function createRaft(init: RaftInit): RaftElection {
  return new Raft(init);
}

type Step = (from: NodeId, message: RaftMessage) => void;

export class Raft implements RaftElection {
  readonly protocol = 'raft' as const;
  readonly keepsStore = true;
  readonly selfId: NodeId;
  readonly config: RaftConfig;
  readonly bootstrapExpect: number;
  readonly rng: Rng;
  readonly out = new Outbox();
  readonly log: RaftLog;
  readonly leader: LeaderState;
  readonly commands: Commands;
  readonly snapshots: Snapshots;
  readonly relay: Relay;
  /** The campaign in progress, its grants and the election episode (candidate.ts). */
  readonly candidate: CandidateState;
  /** Most bytes of entries one append carries (RaftInit.appendBytes); a longer entry goes alone. */
  readonly appendBytes: number;
  /** The key-value store this node applies the log to, and its clients' requests (kv.ts). */
  readonly kv: KvService;
  /** On the leader: when each session of the store lapses (sessions.ts). */
  readonly sessions: SessionTimers;
  readonly changes: ConfChanges;
  nowMs: number;
  hard: RaftHardState;
  members: readonly ElectionMember[] = [];

  role: RaftRole = 'follower';
  private stepRole: Step;
  /** Who leads `term` as far as this node knows (itself when leading). */
  leaderId: NodeId | null = null;
  /** The last success this node answered an append with (follower.ts: an append that changes nothing of it goes unanswered). */
  lastAppendAnswer: { to: NodeId; term: number; round: number; index: number } | null = null;
  /** When the election timer fires (follower and candidates). */
  private electionDueMs: number;
  /** Leader stickiness: (pre-)votes are refused before this, unless for a transfer. */
  private voteHoldUntilMs: number;
  /** The refs of this life's recent answers to its leaders and when each was made (answerRef). */
  private readonly answers = { next: 0, sentMs: new Map<number, number>() };
  /**
   * The leader another protocol promised its support to here, honoured until carriedUntilMs
   * (../carry-over.ts): the only node this one votes for meanwhile. When it is this node (it led
   * when the cluster switched to Raft), it campaigns as soon as a majority runs Raft, so the
   * leader stays leader across a live switch (host/switch.ts).
   */
  private readonly carriedLeader: NodeId | null;
  /**
   * The highest token another protocol held or saw here (../carry-over.ts): reported until Raft's
   * own is above it. Not written: every start derives it again from the other protocol's state.
   */
  private readonly carriedTokenFloor: number;
  private readonly carriedUntilMs: number;
  private carriedCampaigned = false;
  /** How long this follower may name `leaderId` (the lease the leader last told it of). */
  private namedUntilMs = -Infinity;
  /** After membership reported the leader gone: when the pre-vote starts. */
  private hintCampaignAtMs = Infinity;
  /** Whether what we read may have waited out a stall of our own (../stall.ts). */
  private readonly stall: StallClock;
  /**
   * The configuration last reported (configuration-changed is emitted when it differs after a
   * step): its index, lists and their JSON.
   */
  private reportedConfig: { index: number; voters: readonly NodeId[] | undefined; learners: readonly NodeId[] | undefined; key: string };
  readonly counters: ElectionLogCounters = { proposalsCommitted: 0, proposalsFailed: 0, preVotesGranted: 0, preVotesRefused: 0, votesGranted: 0, votesRefused: 0, kvResends: 0 };

  constructor(init: RaftInit) {
    this.selfId = init.selfId;
    this.config = init.config;
    this.bootstrapExpect = Math.max(1, init.bootstrapExpect);
    this.rng = init.rng;
    this.nowMs = init.nowMs;
    this.stall = new StallClock(init.config.electionTimeoutMs, init.nowMs, init.carryOver?.staleUntilMs);
    const carry = init.carryOver ?? NO_CARRY_OVER;
    this.hard = withTokenFloor({ ...(init.persisted ?? INITIAL_RAFT_STATE) }, carry.tokenFloor);
    this.log = new RaftLog(init.log.snapshot as RaftSnapshot | null, init.log.entries as readonly RaftEntry[], this.hard.commit ?? 0);
    // The commit index and the token floor are written only along with other writes (advanceCommit),
    // so the stored floor may lag the last token reported. That token was the term of a leader
    // record this node had on disk before it reported it, and the record is still in the log
    // (committed entries are never cut, only compacted into a snapshot that keeps the newest
    // record): the newest record in the log bounds every token reported before the restart.
    // A handover record names the next term (messages.ts): it bounds a token only once this node reached that term.
    this.hard.fencingFloor = Math.max(this.hard.fencingFloor, Math.min(this.log.lastLeaderTerm(), this.hard.term));
    // A previous life may have acknowledged a leader a moment ago: honour that for T (stickiness
    // survives a restart). A node that never persisted anything acknowledged no one.
    // Another protocol that ran here last may have promised a leader its support: honour that too.
    const restarted = init.persisted !== null || this.log.lastIndex() > 0;
    const holdMs = Math.max(restarted ? this.config.electionTimeoutMs : 0, carry.leaseTo !== null ? carry.holdMs : 0);
    this.voteHoldUntilMs = holdMs > 0 ? init.nowMs + holdMs : -Infinity;
    this.carriedTokenFloor = carry.tokenFloor;
    this.carriedLeader = carry.holdMs > 0 ? carry.leaseTo : null;
    this.carriedUntilMs = this.carriedLeader !== null ? init.nowMs + carry.holdMs : -Infinity;
    this.electionDueMs = this.randomElectionDue();
    this.candidate = new CandidateState(this);
    this.leader = new LeaderState(this);
    this.commands = new Commands(this);
    this.snapshots = new Snapshots(this, init.snapshotChunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES);
    this.appendBytes = init.appendBytes ?? DEFAULT_APPEND_BYTES;
    this.relay = new Relay(this);
    this.kv = new KvService(this);
    this.sessions = new SessionTimers(this);
    this.kv.applyCommitted();
    this.changes = new ConfChanges(this);
    this.stepRole = this.stepFollower;
    this.reportedConfig = this.configurationSeen();
    this.out.track(() => this.log.lastIndex(), this.log.lastIndex());
  }

  /** How long this node has run, its stalls left out (../stall.ts ranMs). */
  ranMs(): number {
    return this.stall.ranMs();
  }

  /** Whether this node woke from a stall of its own a moment ago: what it reads now may be old (../stall.ts). */
  justWoke(): boolean {
    return this.stall.mayBeStale(this.nowMs);
  }

  kvState(): KvSnapshotData {
    return this.kv.stateAt(this.log, this.kv.applied);
  }

  // ---- Election interface ----

  step(input: ElectionInput<RaftMessage>): void {
    this.nowMs = Math.max(this.nowMs, input.nowMs);
    this.stall.onInput(this.nowMs, input.type === 'tick');
    // Check-quorum first: a leader woken past its deadline is judged, or put on probation, before it acts on what it read (leader.ts).
    if (this.role === 'leader') this.leader.checkQuorum();
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
      case 'kv':
        this.kv.onRequest(input.id, input.request);
        break;
      case 'shutdown':
        this.commands.onShutdown();
        break;
      case 'durable':
        this.out.durable(input.persists);
        if (this.role === 'leader') this.leader.onDurable();
        else if (this.role === 'candidate') this.candidate.countSelfVote();
        break;
    }
    this.changes.afterStep();
    this.commands.checkShutdown();
    this.reportConfiguration();
    this.out.flush();
  }

  /** The configuration at `index` (the one in use), with the JSON that tells two apart. */
  private configurationSeen(index = this.log.configurationIndex(), c = this.configuration()): Raft['reportedConfig'] {
    return { index, voters: c?.voters, learners: c?.learners, key: JSON.stringify([index, c]) };
  }

  /** After a step: the configuration in use changed (appended, truncated away, installed). */
  private reportConfiguration(): void {
    // Every step asks; the same index with the same lists (the log hands out the entry's own
    // arrays) is the same configuration, without building its JSON (a leader under a stream of
    // writes spent 0.8 % of its time on that JSON alone).
    const r = this.reportedConfig;
    const index = this.log.configurationIndex();
    const c = this.configuration();
    if (index === r.index && c?.voters === r.voters && c?.learners === r.learners) return;
    const seen = this.configurationSeen(index, c);
    const changed = seen.key !== r.key;
    this.reportedConfig = seen;
    if (!changed) return;
    this.out.emit({ type: 'configuration-changed', index, voters: [...(c?.voters ?? [])], learners: [...(c?.learners ?? [])] });
  }

  drain(): RaftEffect[] {
    if (this.role === 'leader') this.leader.beforeDrain();
    const effects = this.out.drain();
    if (this.role === 'leader') this.leader.afterDrain();
    return effects;
  }

  summary(nowMs: number): ElectionSummary {
    // Never below a token the protocol it replaced reported here (../carry-over.ts).
    const fencingToken = Math.max(this.hard.fencingFloor, this.carriedTokenFloor);
    const term = this.hard.term;
    if (this.role === 'leader') {
      if (!this.leader.established()) return { role: 'candidate', term, leader: null, fencingToken };
      if (this.leader.leaseExpiryMs() > nowMs) return { role: 'leader', term, leader: this.selfId, fencingToken };
      // The lease ran out since the last step: report what the next tick makes of it.
      return { role: 'follower', term, leader: null, fencingToken };
    }
    if (this.role !== 'follower') return { role: 'candidate', term, leader: null, fencingToken };
    return { role: 'follower', term, leader: this.namedLeader(nowMs), fencingToken };
  }

  carryOver(): CarryOver {
    const term = this.log.lastLeaderTerm();
    const leader = term > 0 ? (this.log.leaderRecord(term)?.leader ?? null) : null;
    const carry = { ...raftCarryOver(this.hard, leader !== null ? { term, leader } : null, this.config.electionTimeoutMs), staleUntilMs: this.stall.staleUntil() };
    return this.role === 'leader' ? { ...carry, leaseTo: this.selfId } : carry;
  }

  formed(): boolean {
    return this.hard.fencingFloor > 0;
  }

  durableImage(): ElectionImage {
    return { persisted: { ...this.hard }, log: { snapshot: this.log.snapshot(), entries: this.log.slice(this.log.snapshotIndex() + 1, Infinity) } };
  }

  status(nowMs: number): ElectionStatus {
    const expiresAtMs = this.role === 'leader' && this.leader.established() ? this.leader.leaseExpiryMs() : -Infinity;
    // A lease that never ends (a one-voter cluster) is reported as one full lease.
    const remainingMs = Number.isFinite(expiresAtMs) ? expiresAtMs - nowMs : leaderLeaseMs(this.config.electionTimeoutMs);
    const configuration = this.configuration();
    const s = this.raftStatus();
    return {
      leaseRemainingMs: expiresAtMs > nowMs ? Math.floor(remainingMs) : null,
      bootstrap: { expect: this.bootstrapExpect, seen: configuration?.voters.length ?? aliveRaftMembers(this.selfId, this.members).length, complete: configuration !== null },
      log: { ...s, peers: this.role === 'leader' ? this.leader.peers() : [] },
    };
  }

  /**
   * The earliest of: the election timer and the leader-gone pre-vote (not leading), the end of
   * the named leader's lease (follower), the leader's heartbeat, check-quorum and lease end, a
   * transfer's or shutdown's bound, and the liveness tick. Never before now.
   */
  /** A relayed command is answered within RELAY_BOUND_TIMEOUTS election timeouts (relay.ts); one more is the margin. */
  commandTimeoutMs(): number {
    return (RELAY_BOUND_TIMEOUTS + 1) * this.config.electionTimeoutMs;
  }

  deadline(): number {
    const due = Math.min(
      this.stall.livenessTickAtMs(),
      this.role === 'leader' ? Math.min(this.leader.deadline(), this.sessions.deadline()) : Math.min(this.mayCampaign() ? this.electionDueMs : Infinity, this.hintCampaignAtMs),
      this.candidate.deadline(),
      this.role === 'follower' && this.namedLeader(this.nowMs) !== null ? this.namedUntilMs : Infinity,
      this.commands.deadline(),
      this.relay.deadline(),
      this.changes.deadline(),
    );
    return Math.max(this.nowMs, due);
  }

  raftStatus(): RaftStatus {
    const c = this.configuration();
    return {
      role: this.role,
      term: this.hard.term,
      votedFor: this.hard.votedFor,
      leader: this.leaderId,
      commitIndex: this.log.committed,
      appliedIndex: this.kv.applied,
      kv: this.kv.summary(),
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      voters: [...(c?.voters ?? [])],
      learners: [...(c?.learners ?? [])],
      snapshotIndex: this.log.snapshotIndex(),
      peers: [],
      counters: { ...this.counters },
    };
  }

  snapshotTerm(): number {
    return this.log.snapshot()?.term ?? 0;
  }

  logEntries(): readonly RaftEntry[] {
    return this.log.slice(1, Number.MAX_SAFE_INTEGER);
  }

  // ---- inputs ----

  private tick(): void {
    this.relay.tick();
    this.kv.tick();
    if (this.role === 'leader') {
      this.sessions.tick();
      return this.leader.tick();
    }
    this.candidate.tick();
    if (this.nowMs >= this.hintCampaignAtMs) {
      this.hintCampaignAtMs = Infinity;
      return this.campaign('pre', 'leader-gone');
    }
    if (this.nowMs >= this.electionDueMs) {
      if (!this.mayCampaign()) this.resetElectionTimer();
      else if (this.promotable()) this.campaign('pre', 'election-timeout');
      else this.campaign('real', 'bootstrap-retry');
    }
  }

  private onMembers(members: readonly ElectionMember[]): void {
    this.members = members;
    // The first bootstrap attempt goes at once: nobody leads, nobody can have acknowledged anyone.
    if (this.hard.term === 0 && this.role === 'follower' && this.bootstrapSet()) this.campaign('real', 'bootstrap');
    this.campaignAsCarriedLeader();
    if (this.role === 'leader') {
      this.sessions.revokeOfGoneNodes();
      return this.leader.onMembers();
    }
    const leader = this.leaderId === null ? undefined : members.find((m) => m.id === this.leaderId);
    if (leader && !leader.self && (leader.state === 'dead' || leader.state === 'left' || (leader.state === 'suspect' && leader.connectionLost === true))) {
      this.forgetLeader(leader.state === 'dead' && leader.connectionLost !== true);
    }
  }

  /**
   * Fast fail-over: membership says the leader is gone (dead, left, or its connection closed and
   * it was not heard since). Forget it, so this node grants pre-votes at once, and pre-vote after
   * a small random delay; a majority must still agree, and those that still hear it refuse.
   *
   * A `dead` verdict is membership's silence, not raft's: heartbeats can be lost while appends
   * arrive (switch seed 3502: four heartbeats lost, the leader's appends acknowledged until a
   * partition, and the node that judged it dead won an election inside the lease its own
   * acknowledgement gave). Then the promise of the last append holds (`keepPromise`): this node
   * grants nothing and campaigns no sooner than it ends. A closed connection (the process died:
   * in a daemon that hint comes first, as `suspect`) and a leave release it at once.
   */
  private forgetLeader(keepPromise: boolean): void {
    const gone = this.leaderId;
    this.leaderId = null;
    this.namedUntilMs = -Infinity;
    if (!keepPromise) this.voteHoldUntilMs = -Infinity;
    // The survivors' turns (leaderGoneDelayMs) count from when they may campaign: at once, or when the promise ends.
    if (this.promotable()) this.hintCampaignAtMs = (keepPromise ? Math.max(this.nowMs, this.voteHoldUntilMs) : this.nowMs) + this.leaderGoneDelayMs(gone);
  }

  /**
   * This node's turn after the leader `gone` was reported gone: the live voters other than it, in
   * id order, one `leaderGoneStaggerMs` apart, with a fifth of that as jitter (see RaftConfig).
   */
  private leaderGoneDelayMs(gone: NodeId | null): number {
    const step = this.config.leaderGoneStaggerMs;
    const live = new Set(this.members.filter((x) => x.state === 'alive').map((x) => x.id));
    const turns = (this.configuration()?.voters ?? []).filter((id) => id !== gone && (id === this.selfId || live.has(id))).sort();
    const turn = Math.max(0, turns.indexOf(this.selfId));
    return turn * step + this.rng.int(0, Math.floor(step / 5));
  }

  private onMessage(from: NodeId, m: RaftMessage): void {
    if (from === this.selfId) return;
    if (m.type === 'COMMAND' || m.type === 'COMMAND_RESULT') return this.relay.onMessage(from, m);
    if (m.type === 'KV_PROPOSE' || m.type === 'KV_REFUSED' || m.type === 'READ_INDEX' || m.type === 'READ_INDEX_RESULT') return this.kv.onMessage(from, m);
    const refusal = refusalOf(this, from, m);
    if (refusal !== null) return this.out.refuse(from, refusal.reason, refusal.detail);
    if (m.type === 'VOTE_RESPONSE' && this.candidate.keptAsEarlyGrant(from, m)) return;
    if (m.term > this.hard.term) {
      // §4.2.3 stickiness: a live leader's follower ignores it (but a carried promise is kept to its
      // leader). A transfer overrides it only from a voter: a leader hands over to voters alone, and
      // anyone else claiming a transfer is forging one.
      if (m.type === 'VOTE' && !(m.transfer && this.isVoter(from)) && this.inLease() && !this.votesForCarried(from)) return;
      const futureTerm = (m.type === 'VOTE' && m.preVote) || (m.type === 'VOTE_RESPONSE' && m.preVote && m.granted);
      if (!futureTerm) this.becomeFollower(m.term, m.type === 'APPEND' || m.type === 'TIMEOUT_NOW' ? from : null);
    } else if (m.term < this.hard.term) {
      // A stale leader learns the newer term from the refusal and steps down (etcd: with
      // check-quorum and pre-vote it would otherwise never hear of it).
      if (m.type === 'APPEND') this.out.send(from, { type: 'APPEND_RESPONSE', term: this.hard.term, success: false, index: m.prevLogIndex, hintIndex: 0, hintTerm: 0, round: m.round });
      else if (m.type === 'SNAPSHOT') this.out.send(from, { type: 'SNAPSHOT_RESPONSE', term: this.hard.term, index: m.index, received: 0, installed: false, round: m.round });
      // §9.6 fix: a lower-term pre-vote is refused with our term, so its sender catches up.
      else if (m.type === 'VOTE' && m.preVote) this.answerVote(from, m, false);
      return;
    }
    if (m.type === 'VOTE') return this.onVote(from, m);
    this.stepRole(from, m);
  }

  private isVoter(id: NodeId): boolean {
    return this.configuration()?.voters.includes(id) ?? false;
  }

  /** Whether `id` says it speaks Raft dialect `dialect` or later (messages.ts RAFT_WIRE); this node does. Unknown to membership: no. */
  speaks(id: NodeId, dialect: number): boolean {
    return id === this.selfId || (this.members.find((x) => x.id === id)?.raftWire ?? 1) >= dialect;
  }

  /**
   * The `ref` of an answer to the leader `to` (an append's or a snapshot chunk's), remembered with
   * when it was made; undefined when `to` does not speak dialect 3. Refs count up from a random
   * start in each life, so a ref names one answer of one life: one the leader received and then
   * names (TRANSFER_VOTE answered) left no sooner than answerSentAt says.
   */
  answerRef(to: NodeId): number | undefined {
    if (!this.speaks(to, 3)) return undefined;
    const a = this.answers;
    if (a.next === 0) a.next = this.rng.int(1, ANSWER_REF_START_MAX);
    const ref = a.next++;
    a.sentMs.set(ref, this.nowMs);
    if (a.sentMs.size > MAX_ANSWERS_REMEMBERED) a.sentMs.delete(a.sentMs.keys().next().value!);
    return ref;
  }

  /** When this life made the answer `ref` (answerRef), by its clock; null if it did not, or no longer remembers. */
  answerSentAt(ref: number): number | null {
    return this.answers.sentMs.get(ref) ?? null;
  }

  /** Membership shows `id` alive (not suspect: a transfer's choices want members heard from now). */
  memberAlive(id: NodeId): boolean {
    return this.members.some((x) => x.id === id && x.state === 'alive');
  }

  /** Another protocol's promise to `from` still holds here, and no Raft leader is known yet: it may have our vote. */
  private votesForCarried(from: NodeId): boolean {
    return from === this.carriedLeader && this.nowMs < this.carriedUntilMs && this.role !== 'leader' && this.leaderId === null;
  }

  /**
   * The leader the cluster had under its previous protocol campaigns at once, as soon as most of
   * its voters run Raft (they vote for no one else meanwhile): the leader stays leader.
   */
  private campaignAsCarriedLeader(): void {
    if (this.carriedCampaigned || this.carriedLeader !== this.selfId || this.nowMs >= this.carriedUntilMs) return;
    if (this.role !== 'follower' || this.leaderId !== null || !this.mayCampaign()) return;
    const voters = this.campaignVoters();
    const running = new Set(aliveRaftMembers(this.selfId, this.members));
    if (voters.filter((id) => running.has(id)).length < majorityOf(voters.length)) return;
    this.carriedCampaigned = true;
    this.campaign('real', 'protocol-switch');
  }

  /** Within T of hearing the live leader (or leading): (pre-)votes are refused (thesis §4.2.3, §9.6). */
  private inLease(): boolean {
    return this.role === 'leader' || this.nowMs < this.voteHoldUntilMs;
  }

  /**
   * §5.2, §5.4.1: grant at most one vote per term, only to a log at least as up to date. A
   * pre-vote (§9.6) is granted for a future term whatever our vote, and changes nothing here.
   * The vote is persisted before the reply leaves (Outbox flushes ahead of the send).
   */
  private onVote(from: NodeId, m: Extract<RaftMessage, { type: 'VOTE' }>): void {
    // A term at or below a token the protocol this one replaced issued or saw here is that
    // protocol's: a leader of it could reuse a token (simulator, switch seed 282: a node that never
    // saw Bully's epoch 9 won Raft's term 9 with the vote of one whose term was raised to 9).
    if (m.term <= this.carriedTokenFloor) return this.answerVote(from, m, false);
    const canVote = this.hard.votedFor === from || (this.hard.votedFor === null && this.leaderId === null) || (m.preVote && m.term > this.hard.term);
    if (!canVote || !this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) return this.answerVote(from, m, false);
    if (!m.preVote) {
      // Asked again after an early vote (TRANSFER_VOTE): the vote is on its way to disk already.
      if (this.hard.votedFor !== from) this.setHardState({ votedFor: from });
      this.resetElectionTimer();
      // A transfer's candidate leads at once if it wins: promise it what an append would (stickiness), so it may count a lease from its request.
      if (m.transfer) this.voteHoldUntilMs = Math.max(this.voteHoldUntilMs, this.nowMs + this.config.electionTimeoutMs);
      // Another survivor is already campaigning with our vote: our own turn would only split it.
      this.hintCampaignAtMs = Infinity;
    }
    // The candidate's last entry is a handover record naming it, which we hold too: say so, it may count us as holding it.
    const holds = !m.preVote && this.log.holdsHandover(m.lastLogIndex, from, m.term) && this.log.term(m.lastLogIndex) === m.lastLogTerm ? m.lastLogIndex : undefined;
    this.answerVote(from, m, true, holds, !m.preVote && m.transfer);
  }

  /** A (pre-)vote answer, counted; a refusal carries our term, a grant the term asked for. */
  private answerVote(from: NodeId, m: Extract<RaftMessage, { type: 'VOTE' }>, granted: boolean, holds?: number, promise = false): void {
    const c = this.counters;
    if (m.preVote) granted ? c.preVotesGranted++ : c.preVotesRefused++;
    else granted ? c.votesGranted++ : c.votesRefused++;
    // A candidate of the older dialect would refuse the whole answer for either field (messages.ts RAFT_WIRE).
    const dialect2 = this.speaks(from, 2);
    this.out.send(from, { type: 'VOTE_RESPONSE', term: granted ? m.term : this.hard.term, preVote: m.preVote, granted, ...(holds !== undefined && dialect2 ? { holds } : {}), ...(promise && dialect2 ? { promise } : {}) });
  }

  // ---- role step functions (after the term check: m.term === term, or a pre-vote's future term) ----

  private readonly stepFollower: Step = (from, m) => {
    if (m.type === 'APPEND' || m.type === 'SNAPSHOT') {
      this.leaderId = from;
      // A snapshot chunk says nothing of the lease: it neither extends nor ends the naming (as keepLease).
      this.heardFromLeader(m.type === 'APPEND' ? m.leaseMs : 0, m.type === 'SNAPSHOT' || m.keepLease === true);
      if (m.type === 'SNAPSHOT') return this.snapshots.onChunk(from, m);
      appendEntries(this, from, m);
      // The leader's handover record naming us for the next term (leader.ts handOver) is its
      // TimeoutNow already, a moment ahead of the message itself: campaign in this step, so the
      // record and the new term and vote go to disk in one write instead of two in a row (the
      // successor's own write was the longest step of a traced hand-off).
      const last = m.entries.at(-1);
      if (last && this.log.holdsHandover(last.index, this.selfId, this.hard.term + 1) && this.promotable() && !this.commands.stopping) this.campaign('transfer', `transfer-from-${from}`, from);
      return;
    }
    // Thesis §3.10: the leader hands over; campaign at once, past everyone's stickiness.
    if (m.type === 'TIMEOUT_NOW' && this.promotable() && !this.commands.stopping) this.campaign('transfer', `transfer-from-${from}`, from);
    if (m.type === 'TRANSFER_VOTE' && from === this.leaderId) this.voteForSuccessor(m);
  };

  /**
   * The leader of our term hands over to `m.candidate` and, beside its TimeoutNow, asks us for our
   * vote in the next term: we give it now, as we would answer the candidate's own request a hop
   * later (§5.2, §5.4.1: one vote per term, to a log at least as up to date as ours, judged by the
   * log the leader knows the candidate holds, which it can only have grown since), and send the
   * grant to the candidate. The leader gave its lease away with the TimeoutNow (leader.ts), so
   * setting aside the stickiness we owe it takes nothing from it. Anything amiss, and we do
   * nothing: the candidate's own request still comes.
   */
  private voteForSuccessor(m: Extract<RaftMessage, { type: 'TRANSFER_VOTE' }>): void {
    const term = this.hard.term + 1;
    if (m.candidate === this.selfId || !this.promotable() || !this.isVoter(m.candidate) || term <= this.carriedTokenFloor) return;
    // The leader sent us its handover record naming the candidate just before, and the candidate
    // too: judged as ending there, the candidate's log is ours, and our grant says so (`holds`).
    const holds = m.handover !== undefined && this.log.holdsHandover(m.handover, m.candidate, term) && this.speaks(m.candidate, 2) ? m.handover : undefined;
    if (holds !== undefined ? holds !== this.log.lastIndex() : !this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) return;
    this.becomeFollower(term, null);
    this.setHardState({ votedFor: m.candidate });
    this.hintCampaignAtMs = Infinity;
    this.counters.votesGranted++;
    // The promise a transfer's own request gets (onVote), from now: the candidate counts it from
    // its answer `answered`, which the leader had before it asked us, so before now. It
    // spares the candidate a round of requests and answers before it may report (candidate.ts).
    const since = m.answered !== undefined && this.speaks(m.candidate, 3) ? m.answered : undefined;
    if (since !== undefined) this.voteHoldUntilMs = Math.max(this.voteHoldUntilMs, this.nowMs + this.config.electionTimeoutMs);
    // Persisted before it leaves, as every answer (the outbox flushes ahead of a send): the
    // handover record it holds is on disk by then too.
    this.out.send(m.candidate, {
      type: 'VOTE_RESPONSE',
      term,
      preVote: false,
      granted: true,
      ...(holds !== undefined ? { holds } : {}),
      ...(since !== undefined ? { promise: true as const, since } : {}),
    });
  }

  private readonly stepCandidate: Step = (from, m) => {
    if (m.type === 'APPEND' || m.type === 'SNAPSHOT') {
      // §5.2: a candidate that hears from the leader of its term returns to follower.
      this.becomeFollower(this.hard.term, from);
      return this.stepFollower(from, m);
    }
    if (m.type === 'VOTE_RESPONSE') this.candidate.onResponse(from, m);
  };

  private readonly stepLeader: Step = (from, m) => {
    if (m.type === 'APPEND_RESPONSE') this.leader.onAppendResponse(from, m);
    else if (m.type === 'SNAPSHOT_RESPONSE') this.leader.onSnapshotResponse(from, m);
    else if (m.type === 'VOTE_RESPONSE') this.candidate.onLateResponse(from, m);
  };

  // ---- follower side of replication ----

  /** An append from the leader of our term: stickiness and the lease we may name it for. */
  private heardFromLeader(leaseMs: number, keepLease: boolean): void {
    this.voteHoldUntilMs = Math.max(this.voteHoldUntilMs, this.nowMs + this.config.electionTimeoutMs);
    this.hintCampaignAtMs = Infinity;
    this.resetElectionTimer();
    // Read just after a stall, the append may be old: it restrains us but names no one. One that
    // waited behind an older leader's write (keepLease, messages.ts) neither extends nor ends the naming.
    if (!this.stall.mayBeStale(this.nowMs) && !keepLease) this.namedUntilMs = leaseMs > 0 ? this.nowMs + leaderLeaseMs(leaseMs) : Math.min(this.namedUntilMs, this.nowMs);
    this.candidate.finishEpisode('lost');
  }

  /**
   * The commit index rises (never falls); a newly committed leader record raises the fencing
   * token. Neither is waited for on disk: they ride with the next write (Outbox.rideHardState),
   * so a leader reports, and a follower names it, as soon as the record is known committed. A
   * restart cannot lose the token (see the constructor) and learns the commit index again from
   * the leader. Once snapshotEntries entries committed since the last snapshot, the log is
   * compacted (snapshots.ts).
   */
  advanceCommit(index: number): void {
    if (index <= this.log.committed) return;
    this.log.committed = Math.min(index, this.log.lastIndex());
    this.hard = { ...this.hard, commit: this.log.committed, fencingFloor: this.committedTokenFloor(this.hard.term) };
    this.out.rideHardState(this.hard);
    this.kv.applyCommitted();
    this.snapshots.maybeCompact();
  }

  /** Whom a follower names: the leader whose record of this term it knows committed, within the lease it was told of. */
  private namedLeader(nowMs: number): NodeId | null {
    if (this.leaderId === null || nowMs >= this.namedUntilMs) return null;
    const record = this.log.leaderRecord(this.hard.term);
    return record !== null && record.index <= this.log.committed && record.leader === this.leaderId ? this.leaderId : null;
  }

  // ---- transitions ----

  /**
   * To follower in `term` (a higher one is persisted with no vote). A leader that steps down says
   * why: `reason`, or `transfer` when its TimeoutNow is out (the successor's higher term ends it).
   */
  becomeFollower(term: number, leader: NodeId | null, reason: StepDownReason = 'higher-term'): void {
    const higher = term > this.hard.term;
    const wasLeader = this.role === 'leader';
    if (wasLeader) {
      this.kv.onLeadershipLost();
      const why = this.leader.transfer?.timeoutNowSent ? 'transfer' : reason;
      this.counters.proposalsFailed += this.leader.uncommittedOwnEntries();
      this.out.emit({ type: 'stepped-down', term: this.hard.term, reason: why });
    }
    if (higher) this.setHardState({ term, votedFor: null });
    this.role = 'follower';
    this.stepRole = this.stepFollower;
    this.leaderId = leader;
    this.candidate.drop();
    this.resetElectionTimer();
    if (wasLeader) {
      this.leader.end();
      this.sessions.end();
      this.commands.onLeadershipEnded(higher);
      this.changes.end();
    }
  }

  /**
   * `pre`: §9.6 pre-vote at term + 1, changing no term; the pre-candidate forgets its leader
   * (etcd #8243, #9586). `real`: §5.2, term + 1 and a vote for itself. `transfer`: a real
   * campaign after TimeoutNow, flagged so voters set stickiness aside.
   * The requests leave at once, while the new term and the vote are still being written (as
   * etcd-raft's asynchronous storage writes send MsgVote): only answers wait for a write. The
   * vote for itself counts, and a majority of the others' votes elects, only once that write is
   * durable (candidate.ts countSelfVote, tally), so no node leads a term its disk does not hold: a candidate
   * that crashes first can campaign for the same term again after its restart, but it never led
   * it the first time.
   *
   * `handedOverBy`: the leader that handed over to this node. Beside its TimeoutNow it asked every
   * other voter for its vote here (TRANSFER_VOTE), and those grants are on their way: asking them
   * again would cost every voter a message and an answer in the very milliseconds the hand-off
   * needs (measured: median hand-off 18 ms against 20 over 36 SIGTERM trials each way). So the
   * request to a voter it asked that membership shows alive is held for a heartbeat interval, and
   * goes then only if that voter has not answered (its TRANSFER_VOTE lost, or refused in silence,
   * or the voter frozen while membership still shows it alive). Voters membership does not show
   * alive are asked at once, and so is the old leader, which asked for no vote of its own, unless
   * the grants on their way would elect this node with one of them missing: in a cluster of three
   * with one voter down or frozen, the old leader's vote is the one that elects. A grant already
   * counted is never asked for again. The requests and the count are CandidateState's.
   */
  campaign(kind: 'pre' | 'real' | 'transfer', reason: string, handedOverBy: NodeId | null = null): void {
    const voters = this.campaignVoters();
    this.hintCampaignAtMs = Infinity;
    this.resetElectionTimer();
    if (!this.mayCampaign() || !voters.includes(this.selfId)) return;
    this.candidate.beginEpisode(reason);
    this.leaderId = null;
    this.namedUntilMs = -Infinity;
    if (kind === 'pre') {
      this.role = 'pre-candidate';
    } else {
      this.role = 'candidate';
      this.setHardState({ term: this.hard.term + 1, votedFor: this.selfId });
    }
    this.stepRole = this.stepCandidate;
    this.candidate.start(kind, voters, handedOverBy, reason);
  }

  becomeLeader(): void {
    this.role = 'leader';
    this.stepRole = this.stepLeader;
    this.leaderId = this.selfId;
    const won = this.candidate.won();
    this.hintCampaignAtMs = Infinity;
    this.leader.begin(won.bootstrapVoters, won.handover, won.promises, won.handedOverBy);
    this.changes.begin();
    this.sessions.begin();
  }

  // ---- configuration and bootstrap ----

  /** The newest configuration this node holds, or null before bootstrap. */
  configuration(): RaftConfiguration | null {
    return this.log.configuration();
  }

  /** A voter of a configuration: the only kind of node that campaigns. */
  promotable(): boolean {
    return this.configuration()?.voters.includes(this.selfId) ?? false;
  }

  /** This node's bootstrap set, or null when it is no bootstrap candidate (bootstrap.ts). */
  bootstrapSet(): NodeId[] | null {
    if (this.log.lastIndex() !== 0 || this.log.snapshot() !== null) return null;
    // While another protocol's promise holds, only its leader forms the first configuration.
    if (this.nowMs < this.carriedUntilMs) return this.carriedLeader === this.selfId ? switchBootstrapSet(this.selfId, this.bootstrapExpect, this.members) : null;
    return bootstrapSet(this.selfId, this.bootstrapExpect, this.members, this.config.maxVoters);
  }

  /** Whether a campaign may start: a voter (or bootstrap candidate), not stopping, with terms left. */
  private mayCampaign(): boolean {
    return !this.commands.stopping && this.hard.term < MAX_COUNTER && (this.promotable() || this.bootstrapSet() !== null);
  }

  /** The voters a campaign counts: the configuration's, or the bootstrap set. */
  campaignVoters(): NodeId[] {
    return this.configuration()?.voters ?? this.bootstrapSet() ?? [];
  }

  // ---- helpers ----

  setHardState(change: Partial<Omit<RaftHardState, 'v'>>): void {
    this.hard = { ...this.hard, ...change };
    // A committed handover record counts from the term it names (committedTokenFloor): reaching that term raises the floor.
    if (change.term !== undefined) this.hard.fencingFloor = this.committedTokenFloor(change.term);
    this.out.persistHardState(this.hard);
  }

  /**
   * The token floor the committed log proves at `term`: the newest committed leader record's
   * term, but no higher than `term`. Only a handover record (messages.ts) can be higher: it
   * names the next term, which this node may not have reached (its old leader, a follower that
   * was not asked to vote). No token of that term was reported here before it reached it, and
   * the hard state never holds a floor above its term.
   */
  committedTokenFloor(term: number): number {
    return Math.max(this.hard.fencingFloor, Math.min(this.log.committedLeaderTerm(), term));
  }

  /**
   * §5.2 "randomized election timeouts", in [T, 2T). A follower that hears from a leader takes its
   * turn in that range: the voters other than the leader, in the order the leader-gone hint uses
   * (leaderGoneDelayMs), `leaderGoneStaggerMs` apart with a fifth of that as jitter, the first a
   * fifth of it past T. So when the leader freezes or is cut off (nothing hints at it) the first
   * survivor pre-votes just after T, when every other survivor's stickiness has run out (each
   * heard the same last round within a few ms), and the next only if it could not win. Drawn
   * uniformly in [T, 2T), as etcd and hashicorp/raft do, the first of four followers' timers
   * comes about T/5 past T on average (200 ms at the defaults), and two come within a round trip
   * of each other often enough to split a vote now and then (README "A frozen leader"). A node
   * that names no leader (a cold start, a lost election) draws uniformly: there is no turn to
   * agree on, and randomness is what breaks the tie.
   */
  private randomElectionDue(): number {
    const t = this.config.electionTimeoutMs;
    const step = this.config.leaderGoneStaggerMs;
    if (step > 0 && this.role === 'follower' && this.leaderId !== null && this.promotable()) {
      const turnMs = Math.floor(step / 5) + this.leaderGoneDelayMs(this.leaderId);
      if (turnMs < t) return this.nowMs + t + turnMs;
    }
    return this.nowMs + this.rng.int(t, 2 * t - 1);
  }

  resetElectionTimer(): void {
    this.electionDueMs = this.randomElectionDue();
  }
}

/**
 * A hard state at or above another protocol's token floor (../carry-over.ts): the first term
 * this node campaigns or votes in is above it, so the first leader record, the first token, is
 * too. A raised term carries no vote (this node never voted in it). The fencing floor is Raft's
 * own (the newest leader record's term: `formed` reads it); the summary reports the carried
 * floor beside it.
 */
function withTokenFloor(hard: RaftHardState, floor: number): RaftHardState {
  return floor > hard.term ? { ...hard, term: floor, votedFor: null } : hard;
}
