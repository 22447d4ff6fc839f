/**
 * The candidate's side of an election (§5.2, §9.6, thesis §3.10): a campaign's vote requests, the
 * grants it counts and how it ends, and the election episode the events report. raft.ts keeps the
 * roles and the transitions (campaign, becomeLeader, becomeFollower) and the voter's side
 * (onVote, voteForSuccessor); the leader a won campaign makes is leader.ts.
 */
import type { NodeId } from '../types.js';
import type { RaftMessage } from './messages.js';
import { majorityOf, voteResult } from './quorum.js';
import type { Raft } from './raft.js';

type VoteResponse = Extract<RaftMessage, { type: 'VOTE_RESPONSE' }>;

/** What a won campaign hands the leader it makes (LeaderState.begin). */
export interface CampaignWon {
  /** The bootstrap set, when the campaign formed the cluster (its voters become the first configuration). */
  bootstrapVoters: NodeId[] | null;
  /** The index of a handover record naming this node for the term it won, if it is committed (handoverCommitted). */
  handover: number | null;
  /**
   * The voters whose grants promised (VOTE_RESPONSE promise), each with the time (this node's
   * clock) its promise counts from: when our request left, or when we made the answer a grant the
   * old leader asked for names (`since`). The lease counts from these (LeaderState.begin).
   */
  promises: ReadonlyMap<NodeId, number>;
  /** The leader that handed over to this node (TimeoutNow, or the record naming it), if it did: it hears last (LeaderState.begin). */
  handedOverBy: NodeId | null;
}

export class CandidateState {
  /** The (pre-)votes counted in the campaign in progress, this node's own included once it counts. */
  private votes = new Map<NodeId, boolean>();
  /**
   * Voters whose grant said they hold the handover record at the index given (VOTE_RESPONSE
   * holds): with this node's own, a majority of them makes the record committed (handoverCommitted).
   */
  private handoverHolders = new Map<NodeId, number>();
  /** When the campaign in progress sent its vote requests, and the voters whose grants promised, from when (CampaignWon promises). */
  private sentMs = -Infinity;
  private promises = new Map<NodeId, number>();
  /**
   * Votes for this node in a term it has not reached: voters the leader asked to vote for it as
   * its successor (TRANSFER_VOTE) whose grants came before the leader's TimeoutNow did. Counted if
   * this node campaigns in exactly that term (a grant is the voter's durable vote for us in it).
   */
  private earlyGrants: { term: number; from: Map<NodeId, { holds: number | undefined; promisedFromMs: number | null }> } | null = null;
  /**
   * A real campaign's own vote counts once this many persists are on disk (the one holding the
   * new term and the vote for itself): its requests leave without waiting for that write.
   */
  private selfVoteAfter: number | null = null;
  /** The voters the campaign in progress counts (fixed when it began: the view may change meanwhile). */
  private voterIds: NodeId[] = [];
  /** Whether that campaign bootstraps the cluster (its voters become the first configuration). */
  private bootstrapping = false;
  /**
   * A transfer campaign's vote requests, held back (start) until `dueMs`, then sent to the voters
   * that have not answered. Only a candidate has one: becoming follower or leader drops it.
   */
  private heldVoteRequest: { dueMs: number; request: RaftMessage } | null = null;
  /** The leader that handed over to the campaign in progress, if one did (start). */
  private handedOverBy: NodeId | null = null;
  /** The election episode in progress (from the first campaign until a leader is known). */
  private episode: { startedMs: number } | null = null;

  constructor(private readonly m: Raft) {}

  /** The first campaign since a leader was known opens an episode (election-started). */
  beginEpisode(reason: string): void {
    if (this.episode) return;
    this.episode = { startedMs: this.m.nowMs };
    this.m.out.emit({ type: 'election-started', term: this.m.hard.term + 1, reason });
  }

  finishEpisode(result: 'won' | 'lost' | 'aborted'): void {
    if (!this.episode) return;
    this.m.out.emit({ type: 'election-finished', term: this.m.hard.term, result, durationMs: this.m.nowMs - this.episode.startedMs });
    this.episode = null;
  }

  /** Stopping for good: an election in progress ends unfinished. */
  abortEpisode(): void {
    this.finishEpisode('aborted');
  }

  /**
   * A campaign of `kind` counting `voters`, the role already taken (Raft.campaign): this node's
   * own vote, the early grants kept for this term, and the requests. See Raft.campaign for
   * `handedOverBy` and why requests are held back.
   */
  start(kind: 'pre' | 'real' | 'transfer', voters: NodeId[], handedOverBy: NodeId | null, reason: string): void {
    const m = this.m;
    this.votes = new Map();
    this.handoverHolders = new Map();
    this.promises = new Map();
    this.sentMs = m.nowMs;
    this.voterIds = voters;
    this.bootstrapping = m.configuration() === null;
    const preVote = kind === 'pre';
    this.handedOverBy = preVote ? null : handedOverBy;
    if (preVote) {
      this.selfVoteAfter = null;
      this.votes.set(m.selfId, true);
    } else {
      // The batch holding the vote is the next persist (nothing else flushes before it).
      this.selfVoteAfter = m.out.persistEffects + 1;
      if (this.earlyGrants?.term === m.hard.term) {
        for (const [id, grant] of this.earlyGrants.from) {
          if (!this.grantCounts(id, grant.holds, m.hard.term)) continue;
          this.votes.set(id, true);
          if (grant.promisedFromMs !== null) this.promises.set(id, grant.promisedFromMs);
        }
      }
      this.earlyGrants = null;
    }
    if (preVote && voteResult(voters, this.votes) === 'won') return m.campaign('real', reason);
    const request: RaftMessage = { type: 'VOTE', term: m.hard.term + (preVote ? 1 : 0), preVote, lastLogIndex: m.log.lastIndex(), lastLogTerm: m.log.lastTerm(), transfer: kind === 'transfer' };
    // Handed over with a record naming us for this term (leader.ts handOver): we lead the moment we
    // win, so we want grants that promise (`promise`) what a first round's answers would, and we
    // report on winning, a round sooner. A voter of dialect 3 that the old leader (of dialect 3)
    // asked (TRANSFER_VOTE) promises in that grant already; any other voter is asked at once, one
    // that already granted without a promise too.
    const leaseRound = kind === 'transfer' && m.log.holdsHandover(m.log.lastIndex(), m.selfId, m.hard.term);
    const promisesUnasked = (id: NodeId) => handedOverBy !== null && m.speaks(handedOverBy, 3) && m.speaks(id, 3);
    // Voters the old leader asked that membership shows alive: their grants are on their way.
    const asked = (id: NodeId) => handedOverBy !== null && !preVote && id !== handedOverBy && m.memberAlive(id) && (!leaseRound || promisesUnasked(id));
    const held = voters.filter((id) => id !== m.selfId && this.votes.get(id) !== true && asked(id));
    // The old leader asked for no vote of its own. It is asked at once only when the grants on their
    // way (and those counted) would not elect us with one of them missing (a voter frozen while
    // membership shows it alive): in a cluster of three its vote is the one that elects. Else it is
    // held too, sparing it a vote to write and answer in the milliseconds of the hand-off.
    const coming = voters.filter((id) => id !== m.selfId && (this.votes.get(id) === true || held.includes(id))).length;
    if (handedOverBy !== null && !preVote && voters.includes(handedOverBy) && this.votes.get(handedOverBy) !== true && coming >= majorityOf(voters.length)) held.push(handedOverBy);
    this.heldVoteRequest = held.length > 0 ? { dueMs: m.nowMs + m.config.heartbeatIntervalMs, request } : null;
    const wanted = (id: NodeId) => (leaseRound ? !this.promises.has(id) : this.votes.get(id) !== true);
    for (const id of voters) if (id !== m.selfId && wanted(id) && !held.includes(id)) m.out.sendParallel(id, request);
    if (this.votes.size > 0 && !preVote) this.tally();
  }

  /** An answer to this campaign's requests (the step function of both candidate roles). */
  onResponse(from: NodeId, msg: VoteResponse): void {
    const m = this.m;
    if (msg.preVote !== (m.role === 'pre-candidate')) return;
    if (msg.granted && !this.grantCounts(from, msg.holds, m.hard.term)) return;
    const promisedFromMs = this.promisedFromMs(msg);
    if (promisedFromMs !== null) this.promises.set(from, Math.max(promisedFromMs, this.promises.get(from) ?? -Infinity));
    this.votes.set(from, msg.granted);
    this.tally();
  }

  /** A promise that came after we won (on the grants the old leader asked for): it still counts from when it says. */
  onLateResponse(from: NodeId, msg: VoteResponse): void {
    const promisedFromMs = this.promisedFromMs(msg);
    if (promisedFromMs !== null && this.grantCounts(from, msg.holds, this.m.hard.term)) this.m.leader.onPromise(from, promisedFromMs);
  }

  /**
   * When a grant's promise counts from, by this node's clock: the send of our request, or, for a
   * grant the old leader asked for (`since`), our answer it names, which the old leader had before
   * it asked, so before the voter promised. Null: no promise, or an answer we do not remember
   * (another life's, or too old), which then counts for the vote alone.
   */
  private promisedFromMs(msg: VoteResponse): number | null {
    if (!msg.granted || !msg.promise || msg.preVote) return null;
    return msg.since !== undefined ? this.m.answerSentAt(msg.since) : this.sentMs;
  }

  /** A real campaign's own write is durable: its vote for itself counts (see Raft.campaign). */
  countSelfVote(): void {
    if (this.selfVoteAfter === null || this.m.out.durablePersists < this.selfVoteAfter) return;
    this.selfVoteAfter = null;
    this.votes.set(this.m.selfId, true);
    this.tally();
  }

  /**
   * A vote granted for the term after ours, to a follower: a voter the leader asked to vote for us
   * as its successor answered before the leader's TimeoutNow reached us. Kept for that term, and
   * the term is not taken up (that would make the TimeoutNow stale). Once the kept grants and our
   * own vote make a majority we campaign without waiting for the TimeoutNow, which may be lost:
   * those voters already left the old leader's term, so it cannot lead on. True when kept.
   */
  keptAsEarlyGrant(from: NodeId, msg: VoteResponse): boolean {
    const m = this.m;
    if (msg.preVote || !msg.granted || msg.term !== m.hard.term + 1 || m.role !== 'follower' || !m.promotable()) return false;
    // Kept, but counted only if it stands (grantCounts): a voter that judged our log by a handover record we lack voted for a log we do not hold.
    if (msg.holds !== undefined && !m.log.holdsHandover(msg.holds, m.selfId, msg.term)) return true;
    if (this.earlyGrants?.term !== msg.term) this.earlyGrants = { term: msg.term, from: new Map() };
    this.earlyGrants.from.set(from, { holds: msg.holds, promisedFromMs: msg.promise && msg.since !== undefined ? this.m.answerSentAt(msg.since) : null });
    const voters = m.campaignVoters();
    const granted = [...this.earlyGrants.from.keys()].filter((id) => voters.includes(id)).length;
    if (granted + 1 >= majorityOf(voters.length)) m.campaign('real', 'transfer-votes', m.leaderId);
    return true;
  }

  tick(): void {
    if (this.heldVoteRequest && this.m.nowMs >= this.heldVoteRequest.dueMs) this.sendHeldVoteRequest();
  }

  deadline(): number {
    return this.heldVoteRequest?.dueMs ?? Infinity;
  }

  /** The campaign ended without a win (this node follows now): nothing more is counted or sent. */
  drop(): void {
    this.votes.clear();
    this.heldVoteRequest = null;
  }

  /** The campaign was won: what the new leader starts from (LeaderState.begin), the episode finished. */
  won(): CampaignWon {
    this.drop();
    this.finishEpisode('won');
    return { bootstrapVoters: this.bootstrapping ? this.voterIds : null, handover: this.handoverCommitted(), promises: this.promises, handedOverBy: this.handedOverBy };
  }

  private tally(): void {
    const m = this.m;
    const result = voteResult(this.voterIds, this.votes);
    if (result === 'won') {
      if (m.role === 'pre-candidate') m.campaign('real', 'pre-vote-won');
      // A majority of the others may grant before our own write (the new term, our vote) is on
      // disk: we lead once it is (countSelfVote tallies again). Leading before, a crash could
      // bring us back in the old term, free to win this one again with a log other than the one
      // we sent as its leader: two entries at one index and term (Log Matching broken).
      else if (this.selfVoteAfter === null) m.becomeLeader();
    } else if (result === 'lost') {
      m.becomeFollower(m.hard.term, null);
    }
  }

  /** The vote requests a transfer campaign held back (start), to the voters that have not answered. */
  private sendHeldVoteRequest(): void {
    const { request } = this.heldVoteRequest!;
    this.heldVoteRequest = null;
    for (const id of this.voterIds) if (id !== this.m.selfId && !this.votes.has(id)) this.m.out.sendParallel(id, request);
  }

  /**
   * A grant that rests on our log holding a handover record (`holds`) counts only if it does: the
   * voter judged our log by it. Returns whether the grant counts, noting the voter as a holder.
   */
  private grantCounts(from: NodeId, holds: number | undefined, term: number): boolean {
    if (holds === undefined) return true;
    if (!this.m.log.holdsHandover(holds, this.m.selfId, term)) return false;
    this.handoverHolders.set(from, holds);
    return true;
  }

  /**
   * The index of a handover record naming this node for the term it just won, if it is committed;
   * else null. It is, once it is on the disks of a majority of the voters that elected us, ours
   * included (each said so with its grant, `holds`): every one of them took it in the old term,
   * before voting in any later one, and voted for us in this term, so no one else leads it, and
   * every leader of a later term needs a vote from one of them, whose log it must be as up to date
   * as (§5.4.1): the Leader Completeness argument of §5.4.3, for an entry of the term before ours,
   * which the old leader appended last and which no leader between could have overwritten.
   */
  private handoverCommitted(): number | null {
    const m = this.m;
    const h = m.log.lastIndex();
    if (this.bootstrapping || !m.log.holdsHandover(h, m.selfId, m.hard.term) || m.out.durableLogEnd < h) return null;
    const holders = this.voterIds.filter((id) => id === m.selfId || this.handoverHolders.get(id) === h);
    return holders.length >= majorityOf(this.voterIds.length) ? h : null;
  }
}
