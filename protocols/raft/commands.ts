/**
 * Leadership commands from the API and graceful shutdown. `transfer` and `resign` move leadership
 * by thesis §3.10 (catch the target up, TimeoutNow, give up after one election timeout), answered
 * once the leadership moved or the attempt was abandoned; `remove` and `forget` take a member out
 * of the configuration (confchange.ts), answered once that committed. A follower relays all four
 * to the leader it knows (relay.ts). `elect` asks the leader this node follows to hand over to it
 * (a campaign could not win past the followers' stickiness), or, with no leader known, campaigns
 * here, now, through pre-vote.
 * On shutdown a leader hands off to the most caught-up voter and is `shutdown-ready` once it
 * names its successor, within a bound; any other node is ready at once.
 */
import type { LeadershipCommand } from '../election.js';
import type { NodeId } from '../types.js';
import type { RelayedCommand } from './messages.js';
import type { Raft } from './raft.js';
import { answer, fail, type Requester } from './relay.js';

/** Error codes of command results, one per condition (tests assert on these). */
export const RAFT_COMMAND_ERRORS = {
  notLeader: 'not-leader',
  notAVoter: 'not-a-voter',
  noSuccessor: 'no-successor',
  transferInProgress: 'transfer-in-progress',
  transferTimedOut: 'transfer-timed-out',
  leadershipLost: 'leadership-lost',
  stopping: 'stopping',
  /** remove/forget of a node that is neither voter nor learner. */
  notAMember: 'not-a-member',
  /** forget of a member membership still holds alive or suspect (remove takes a live one out). */
  memberAlive: 'member-alive',
  /** remove of the only voter: the cluster would have none. */
  lastVoter: 'last-voter',
} as const;

/** A leader shutting down waits at most this many election timeouts for its successor. */
const SHUTDOWN_BOUND_TIMEOUTS = 2;

export class Commands {
  /** Who waits for the transfer in progress, if an operator asked for it. */
  private pendingTransfer: Requester | null = null;
  stopping = false;
  private stopDeadlineMs = Infinity;
  private readyEmitted = false;
  /** It led when the shutdown began: it stays until its successor is established, within the bound. */
  private handingOff = false;

  constructor(private readonly m: Raft) {}

  /** A command from the local API: `elect` here; the others here when leading, else relayed to the leader. */
  onCommand(id: number, command: LeadershipCommand): void {
    const m = this.m;
    const out = m.out;
    if (this.stopping) return out.fail(id, RAFT_COMMAND_ERRORS.stopping, 'this node is shutting down');
    if (command.kind === 'elect') {
      if (!m.promotable()) return out.fail(id, RAFT_COMMAND_ERRORS.notAVoter, 'this node is not a voter of the configuration');
      if (m.role === 'leader') return out.reply(id, { ok: true, detail: 'this node already leads' });
      // A live leader's followers refuse pre-votes (stickiness), so a campaign could not win: ask
      // the leader to hand over to this node instead, answered once it did (or could not).
      if (m.leaderId !== null && m.role === 'follower') return m.relay.forward(id, { kind: 'transfer', to: m.selfId });
      m.campaign('pre', 'operator-elect');
      return out.reply(id, { ok: true, detail: `pre-vote for term ${m.hard.term + 1} started` });
    }
    if (m.role === 'leader') return this.execute({ kind: 'local', id }, command);
    m.relay.forward(id, command);
  }

  /** A command for the leader, asked here or relayed by a member: executed only by an established leader. */
  execute(req: Requester, command: RelayedCommand): void {
    const m = this.m;
    if (this.stopping) return fail(m, req, RAFT_COMMAND_ERRORS.stopping, `${m.selfId} is shutting down`);
    if (m.role !== 'leader' || !m.leader.established()) return fail(m, req, RAFT_COMMAND_ERRORS.notLeader, `${m.selfId} does not lead; ask the leader (${m.leaderId ?? 'none known'})`);
    if (command.kind === 'remove' || command.kind === 'forget') return m.changes.request(req, command.kind, command.id);
    if (m.leader.transfer) return fail(m, req, RAFT_COMMAND_ERRORS.transferInProgress, `a transfer to ${m.leader.transfer.to} is in progress`);
    const to = command.kind === 'transfer' && command.to !== null ? command.to : m.leader.mostCaughtUp();
    if (to === m.selfId) return answer(m, req, { ok: true, detail: `${m.selfId} already leads` });
    if (to === null) return fail(m, req, RAFT_COMMAND_ERRORS.noSuccessor, 'no other voter to hand leadership to');
    if (!m.configuration()?.voters.includes(to)) return fail(m, req, RAFT_COMMAND_ERRORS.notAVoter, `${to} is not a voter of the configuration`);
    this.pendingTransfer = req;
    m.leader.startTransfer(to);
  }

  onShutdown(): void {
    const m = this.m;
    if (this.stopping) return;
    this.stopping = true;
    m.candidate.abortEpisode();
    if (m.role !== 'leader' || !m.leader.established()) return;
    this.handingOff = true;
    this.stopDeadlineMs = m.nowMs + SHUTDOWN_BOUND_TIMEOUTS * m.config.electionTimeoutMs;
    if (m.leader.transfer) return;
    const to = m.leader.mostCaughtUp();
    if (to !== null) m.leader.startTransfer(to);
  }

  /**
   * After every step: a stopping node is ready at once, unless it led: then once it names its
   * successor (the successor's record committed), or when its transfer ended without one, or
   * when the bound passed. Leaving earlier would announce the departure while the successor's
   * votes and first append are on their way: every member handles the `left` member (events,
   * closed connections) in the very milliseconds the hand-off needs, and the old leader would
   * no longer take the append it is a voter for.
   */
  checkShutdown(): void {
    const m = this.m;
    if (!this.stopping || this.readyEmitted) return;
    if (this.handingOff && m.nowMs < this.stopDeadlineMs) {
      if (m.role === 'leader' && m.leader.established() && m.leader.transfer !== null) return;
      if (m.role !== 'leader' && m.summary(m.nowMs).leader === null) return;
    }
    // No successor took over (none caught up, the transfer aborted, the bound passed): stop
    // leading, or campaigning, before the leave is announced. Members release their promises to
    // a member that left, so a leader still leading then (switch seed 8812), or a candidate whose
    // votes arrive after (5444), could overlap the next.
    if (m.role !== 'follower') m.becomeFollower(m.hard.term, null, 'shutdown');
    this.readyEmitted = true;
    m.out.emit({ type: 'shutdown-ready' });
  }

  deadline(): number {
    return this.stopping && !this.readyEmitted ? this.stopDeadlineMs : Infinity;
  }

  /**
   * Leadership ended during a transfer: by a higher term (the transferee's campaign, or another
   * that won) the hand-off is done; by check-quorum in the same term, leadership was lost instead.
   */
  onLeadershipEnded(byHigherTerm: boolean): void {
    const req = this.pendingTransfer;
    if (req === null) return;
    this.pendingTransfer = null;
    if (byHigherTerm) answer(this.m, req, { ok: true, detail: `leadership handed over at term ${this.m.hard.term}` });
    else fail(this.m, req, RAFT_COMMAND_ERRORS.leadershipLost, 'the leader lost its quorum before the transfer finished');
  }

  transferAborted(to: NodeId): void {
    const req = this.pendingTransfer;
    if (req === null) return;
    this.pendingTransfer = null;
    fail(this.m, req, RAFT_COMMAND_ERRORS.transferTimedOut, `${to} did not take over within one election timeout`);
  }
}
