/**
 * The candidate role and the elections that lead to it: an episode (from `election-started` to
 * `election-finished`) runs ELECTION rounds towards higher-ranked members, waits for their
 * COORDINATOR after an ANSWER, and, when none takes over, claims the next epoch: COORDINATOR(E),
 * persisted before it leaves, resent until a majority granted it (then lead) or the claim times
 * out (then retry later).
 */
import { MAX_COUNTER } from '../bounds.js';
import type { NodeId } from '../types.js';
import type { BullyContext, RoleMachine } from './context.js';
import type { Commands } from './commands.js';
import type { Durable } from './durable.js';
import type { Follower } from './follower.js';
import type { HandOff } from './handoff.js';
import type { Leader } from './leader.js';
import type { BullyMessage, CoordinatorKind } from './messages.js';
import { majorityOf } from './quorum.js';
import { outranks } from './rank.js';
import { LeaseRounds } from './rounds.js';

/** An election that keeps meeting answering-but-silent higher nodes gives up after this many rounds. */
const MAX_ELECTION_ROUNDS = 4;

/** One election at this node, from `election-started` to `election-finished`. */
interface Episode {
  startedMs: number;
  term: number;
  forced: boolean;
  rounds: number;
  /** A member gossiped that it leads: it was asked (an ELECTION) before we claim over it. */
  askedGossipedLeader: boolean;
}

type Candidacy =
  /** ELECTION sent to higher-ranked members (or a grant of ours still runs); claim at `deadlineMs`. */
  | { stage: 'electing'; deadlineMs: number }
  /** A higher member answered; re-elect if its COORDINATOR has not come by `deadlineMs`. */
  | { stage: 'awaiting'; deadlineMs: number }
  /** COORDINATOR(epoch) sent; lead once a majority granted, give up at `deadlineMs`. */
  | {
      stage: 'claiming';
      epoch: number;
      kind: CoordinatorKind;
      rounds: LeaseRounds;
      deadlineMs: number;
      resendAtMs: number;
      /** Members that refused because they promised a newer epoch: each speaks only for itself. */
      rejectedBy: Set<NodeId>;
      /**
       * How many of this life's persists must be durable before this node may lead: the claim's
       * own write, when its COORDINATOR left beside it (a hand-off, see tryClaim); else 0.
       */
      leadAfterPersists: number;
    };

export interface CandidatePort extends BullyContext {
  readonly durable: Pick<Durable, 'state' | 'nextEpoch' | 'promise' | 'majorityAlive' | 'size' | 'earn'>;
  readonly follower: Pick<Follower, 'activeGrant' | 'onRenewal' | 'onClaim' | 'scheduleRetry' | 'retryAt'>;
  readonly leader: Pick<Leader, 'leaseExpiresAt'>;
  readonly commands: Pick<Commands, 'answerElects'>;
  readonly handoff: Pick<HandOff, 'shuttingDown'>;
  mayStand(): boolean;
  quorumNone(): boolean;
  /** The term the summary reports now: what a given-up election finished at. */
  currentTerm(): number;
  becomeCandidate(): void;
  becomeFollower(): void;
  becomeLeader(epoch: number, rounds: LeaseRounds): void;
  release(epoch: number): void;
  releaseStaleAccept(from: NodeId, epoch: number): void;
}

export class Candidate implements RoleMachine {
  private candidacy: Candidacy | null = null;
  private episode: Episode | null = null;
  /** How many of this life's persists the host reported durable. */
  private durablePersists = 0;

  constructor(private readonly m: CandidatePort) {}

  /** The epoch this node claims (COORDINATOR sent, majority not yet granted), or null. */
  claiming(): number | null {
    return this.candidacy?.stage === 'claiming' ? this.candidacy.epoch : null;
  }

  /** Whether this node is a candidate at any stage. */
  active(): boolean {
    return this.candidacy !== null;
  }

  /** Leaves the role (the machine became follower or leader); a running episode stays. */
  clear(): void {
    this.candidacy = null;
  }

  /** True while an election runs here; a `forced` request makes it a forced one. */
  joinElection(forced: boolean): boolean {
    if (!this.episode) return false;
    this.episode.forced ||= forced;
    return true;
  }

  // ---- the role ----

  step(from: NodeId, message: BullyMessage): void {
    const c = this.candidacy!;
    const m = this.m;
    switch (message.type) {
      case 'ANSWER': {
        const sender = m.view.member(from);
        if (c.stage === 'electing' && (!sender || outranks(sender, m.view.self))) {
          this.candidacy = { stage: 'awaiting', deadlineMs: m.nowMs + m.config.coordinatorTimeoutMs };
        }
        return;
      }
      case 'COORDINATOR':
        // An established leader is reachable: follow it rather than add a leader change.
        if (message.kind === 'renew') return m.follower.onRenewal(from, message.epoch, message.round, message.leaseMs);
        return m.follower.onClaim(from, message.epoch, message.kind, message.round);
      case 'ACCEPT':
        if (c.stage !== 'claiming' || message.epoch !== c.epoch) return m.releaseStaleAccept(from, message.epoch);
        c.rounds.ack(from, message.round);
        m.durable.earn(from);
        this.leadIfGranted();
        return;
      case 'REJECT': {
        if (c.stage !== 'claiming' || message.epoch <= c.epoch) return;
        // That member promised a newer epoch: its refusal speaks for itself alone. Give up only
        // once the refusals leave no majority to be had.
        c.rejectedBy.add(from);
        const size = m.durable.size();
        if (size - c.rejectedBy.size < majorityOf(size)) this.giveUp('lost', message.epoch);
        return;
      }
      default:
        return;
    }
  }

  tick(): void {
    const c = this.candidacy!;
    const m = this.m;
    if (c.stage === 'electing') {
      if (m.nowMs >= c.deadlineMs) this.tryClaim(this.episode?.forced ? 'takeover' : 'claim');
    } else if (c.stage === 'awaiting') {
      if (m.nowMs >= c.deadlineMs) this.runElectionRound();
    } else if (m.nowMs >= c.deadlineMs) {
      this.giveUp('aborted', c.epoch);
    } else if (m.nowMs >= c.resendAtMs) {
      // Covers lost COORDINATORs, and members whose grant to another node had not run out yet.
      c.resendAtMs = m.nowMs + m.config.answerTimeoutMs;
      const round = c.rounds.next(m.nowMs);
      for (const p of m.view.reachablePeers()) {
        if (!c.rounds.acked(p.id)) m.out.send(p.id, { type: 'COORDINATOR', epoch: c.epoch, kind: c.kind, round, leaseMs: 0 });
      }
    }
  }

  /** The host has this machine's first `persists` writes on disk: a claim that waited for its own may lead. */
  onDurable(persists: number): void {
    this.durablePersists = Math.max(this.durablePersists, persists);
    if (this.candidacy?.stage === 'claiming') this.leadIfGranted();
  }

  /**
   * Lead once the claim is on this node's disk and a majority's grants hold. A node never leads
   * an epoch its disk does not hold: after a crash it could otherwise accept another claimant's
   * COORDINATOR for the epoch it led, and two reigns would share one fencing token.
   */
  private leadIfGranted(): void {
    const c = this.candidacy;
    const m = this.m;
    if (c?.stage !== 'claiming' || this.durablePersists < c.leadAfterPersists) return;
    if (m.quorumNone() || m.leader.leaseExpiresAt(c.rounds) > m.nowMs) m.becomeLeader(c.epoch, c.rounds);
  }

  /** The stage's deadline, and while claiming the next resend. */
  deadline(): number {
    const c = this.candidacy;
    if (!c) return Infinity;
    return c.stage === 'claiming' ? Math.min(c.deadlineMs, c.resendAtMs) : c.deadlineMs;
  }

  // ---- elections ----

  /**
   * Starts (or, within a running episode, repeats) an election. `handOff`: the leader handed
   * over to this node (TRANSFER), which claims at once with its COORDINATOR beside its write.
   */
  startElection(reason: string, forced: boolean, kind?: CoordinatorKind, handOff = false): void {
    const m = this.m;
    if (m.handoff.shuttingDown || (!forced && !m.mayStand())) return;
    if (!this.episode && !forced && this.waitForSettlingHigher()) return;
    if (!this.episode) {
      // Without a reachable majority, or before the cluster has been seen whole, an election
      // cannot succeed: wait quietly instead of inflating epochs.
      if (!m.durable.state.bootstrapped || (!forced && !m.quorumNone() && !m.durable.majorityAlive())) {
        m.follower.scheduleRetry();
        return;
      }
      const term = m.durable.nextEpoch();
      this.episode = { startedMs: m.nowMs, term, forced, rounds: 0, askedGossipedLeader: false };
      m.out.emit({ type: 'election-started', term, reason });
    } else {
      this.episode.forced ||= forced;
    }
    if (kind === 'takeover') this.tryClaim('takeover', handOff);
    else this.runElectionRound();
  }

  /** An election or claim that ended without this node leading. */
  giveUp(result: 'lost' | 'aborted', term: number): void {
    this.abandonClaim();
    this.m.becomeFollower();
    this.m.follower.scheduleRetry();
    this.finishEpisode(result, term);
  }

  /** Our claim is over: members that granted it may grant others now. */
  abandonClaim(): void {
    const c = this.candidacy;
    if (c?.stage !== 'claiming') return;
    this.m.release(c.epoch);
    this.candidacy = null;
  }

  finishEpisode(result: 'won' | 'lost' | 'aborted', term: number): void {
    const episode = this.episode;
    if (!episode) return;
    this.episode = null;
    this.m.out.emit({ type: 'election-finished', term, result, durationMs: this.m.nowMs - episode.startedMs });
    this.m.commands.answerElects(result, term);
  }

  /**
   * A higher-ranked member that joined or came back within settleMs is still settling: it answers
   * an ELECTION late, or not yet, and would claim itself once settled. Electing now would let a
   * lower node lead a cluster whose highest rank is about to arrive (the last node of a cold
   * start is the busiest one). Wait until it has settled; true while waiting.
   */
  private waitForSettlingHigher(): boolean {
    let untilMs = -Infinity;
    for (const p of this.m.view.higherReachable()) {
      if (p.stateSinceMs !== undefined && p.state === 'alive') untilMs = Math.max(untilMs, p.stateSinceMs + this.m.config.settleMs);
    }
    if (untilMs <= this.m.nowMs) return false;
    this.m.follower.retryAt(untilMs);
    return true;
  }

  private runElectionRound(): void {
    const episode = this.episode!;
    const m = this.m;
    if (++episode.rounds > MAX_ELECTION_ROUNDS) {
      this.giveUp('aborted', m.currentTerm());
      return;
    }
    const higher = m.view.higherReachable();
    if (higher.length === 0) {
      this.tryClaim(episode.forced ? 'takeover' : 'claim');
      return;
    }
    m.out.sendAll(higher, { type: 'ELECTION', epoch: m.durable.state.acceptedEpoch, forced: episode.forced });
    this.enter({ stage: 'electing', deadlineMs: m.nowMs + m.config.answerTimeoutMs });
  }

  private tryClaim(kind: CoordinatorKind, handOff = false): void {
    const m = this.m;
    if (!m.mayStand() || !m.durable.state.bootstrapped) return this.giveUp('aborted', m.currentTerm());
    if (!m.quorumNone() && !m.durable.majorityAlive()) return this.giveUp('aborted', m.currentTerm());
    const g = m.follower.activeGrant();
    if (g) {
      // We granted a lease to another node: we may not help elect anyone, ourselves included,
      // until it ends. Claim then (a renewal meanwhile makes us follow instead).
      this.enter({ stage: 'electing', deadlineMs: g.untilMs });
      return;
    }
    const episode = this.episode;
    if (kind === 'claim' && episode && !episode.askedGossipedLeader) {
      // A live member gossips that it leads: gossip may prompt, never decide. Ask it first (a
      // leader answers an ELECTION with a renewal, which we follow); claim if it stays silent.
      const gossiped = m.view.gossipedLeader();
      if (gossiped && gossiped.term >= m.durable.state.acceptedEpoch) {
        episode.askedGossipedLeader = true;
        m.out.send(gossiped.id, { type: 'ELECTION', epoch: m.durable.state.acceptedEpoch, forced: episode.forced });
        this.enter({ stage: 'awaiting', deadlineMs: m.nowMs + m.config.answerTimeoutMs });
        return;
      }
    }
    const epoch = m.durable.nextEpoch();
    if (epoch > MAX_COUNTER) return this.giveUp('aborted', m.currentTerm());
    // Persisted before the COORDINATOR leaves (the host writes persists first): a restarted node
    // never announces an epoch at or below one it already used. A hand-off's claim leaves beside
    // its write instead (`parallel`), and the claimant leads only once that write is durable
    // (leadIfGranted): until then nothing of its reign can be seen (its renewals, which name it,
    // wait behind the write), so a crash before it lands leaves an epoch nobody led, and a
    // restart that claims it again is one claimant's resend. Members write their promise while
    // the claimant writes its own, instead of after it: one fsync less before they name it.
    m.durable.promise(epoch, m.selfId);
    const rounds = new LeaseRounds(m.leaderLeaseDurationMs);
    const round = rounds.next(m.nowMs);
    this.enter({
      stage: 'claiming',
      epoch,
      kind,
      rounds,
      deadlineMs: m.nowMs + m.config.coordinatorTimeoutMs,
      resendAtMs: m.nowMs + m.config.answerTimeoutMs,
      rejectedBy: new Set(),
      leadAfterPersists: handOff ? m.out.persistEffects : 0,
    });
    const claim: BullyMessage = { type: 'COORDINATOR', epoch, kind, round, leaseMs: 0 };
    for (const p of m.view.reachablePeers()) {
      if (handOff) m.out.emit({ type: 'send', to: p.id, message: claim, parallel: true });
      else m.out.send(p.id, claim);
    }
    this.leadIfGranted();
  }

  private enter(candidacy: Candidacy): void {
    this.candidacy = candidacy;
    this.m.becomeCandidate();
  }
}
