/**
 * The leader's configuration changes (thesis §4.1, §4.2.2): one server at a time, each a
 * configuration entry that takes effect as soon as it is in a log (raft.ts uses the newest
 * configuration it holds, committed or not). A change is proposed only once the leader committed
 * an entry of its own term (its leader record) and no configuration entry is uncommitted: the fix
 * to the single-server change bug (Ongaro, raft-dev, 2015), without which two leaders of
 * consecutive terms could each add a server to an old configuration and commit with disjoint
 * majorities. What to change comes from operators (`remove`, `forget`, first) and from autopilot.ts.
 *
 * A leader removed from the voters stops advertising its lease at once (it hands over), keeps
 * replicating until the configuration without it commits, then steps down (`removed`) and sends
 * TimeoutNow to the most caught-up voter so the next leader need not wait out a timeout.
 *
 * A removed node is not re-added at once merely because it still runs for a moment (`conclave
 * leave` removes the node, then it exits): it is barred until membership showed it gone (not
 * alive) and back, or its state changed after the removal (a restart). A new leader bars the nodes
 * the newest configuration entry removed, since it cannot know whether they have restarted since.
 */
import type { NodeId } from '../types.js';
import { applyChange, nextChange, nextPlanTimeMs, type AutopilotView, type ConfigChange } from './autopilot.js';
import { RAFT_COMMAND_ERRORS } from './commands.js';
import type { RaftConfiguration } from './messages.js';
import type { Raft } from './raft.js';
import { answer, fail, RELAY_BOUND_TIMEOUTS, RELAY_ERRORS, type Requester } from './relay.js';

/** Operator removals waiting for their turn; more are refused as busy. */
const MAX_REQUESTS = 16;

interface RemovalRequest {
  requester: Requester;
  id: NodeId;
  deadlineMs: number;
}

export class ConfChanges {
  private requests: RemovalRequest[] = [];
  /** The change proposed and not yet committed, and who waits for it. */
  private inFlight: { index: number; change: ConfigChange; requesters: Requester[] } | null = null;
  /** Removed nodes not to re-add until they restarted (see the header). */
  private readonly bars = new Map<NodeId, { sinceMs: number; sawGone: boolean }>();
  /** Configuration members missing from the view, since when (membership forgets dead members after a while). */
  private readonly absentSinceMs = new Map<NodeId, number>();

  constructor(private readonly m: Raft) {}

  /** A new leadership: nothing pending; bar the nodes the newest configuration entry removed. */
  begin(): void {
    this.requests = [];
    this.inFlight = null;
    this.bars.clear();
    this.absentSinceMs.clear();
    const configs = this.m.logEntries().flatMap((e) => (e.data.kind === 'config' ? [e.data] : []));
    const [previous, newest] = configs.slice(-2);
    if (!previous || !newest) return;
    const kept = new Set([...newest.voters, ...newest.learners]);
    for (const id of [...previous.voters, ...previous.learners]) if (!kept.has(id)) this.bar(id);
  }

  /** Leadership ended: whoever waits is told; an entry already proposed may still commit under the next leader. */
  end(): void {
    const waiting = [...this.requests.map((r) => r.requester), ...(this.inFlight?.requesters ?? [])];
    this.requests = [];
    this.inFlight = null;
    for (const req of waiting) fail(this.m, req, RAFT_COMMAND_ERRORS.leadershipLost, 'this node stopped leading before the change committed; it may still take effect');
  }

  /** `remove` (any member) or `forget` (a member membership holds gone), asked of the leader. */
  request(requester: Requester, kind: 'remove' | 'forget', id: NodeId): void {
    const m = this.m;
    const c = m.configuration()!;
    const member = m.members.find((x) => x.id === id);
    if (kind === 'forget' && (id === m.selfId || member?.state === 'alive' || member?.state === 'suspect')) {
      return fail(m, requester, RAFT_COMMAND_ERRORS.memberAlive, `${id} is ${id === m.selfId ? 'this leader' : member!.state}: forget only removes members membership holds dead or left (use remove)`);
    }
    if (!c.voters.includes(id) && !c.learners.includes(id)) return fail(m, requester, RAFT_COMMAND_ERRORS.notAMember, `${id} is not in the configuration`);
    if (c.voters.length === 1 && c.voters[0] === id) return fail(m, requester, RAFT_COMMAND_ERRORS.lastVoter, `${id} is the only voter; the cluster would have none`);
    const f = this.inFlight;
    if (f && f.change.kind === 'remove' && f.change.id === id) return void f.requesters.push(requester);
    if (this.requests.length >= MAX_REQUESTS) return fail(m, requester, RELAY_ERRORS.busy, `${MAX_REQUESTS} removals are already waiting`);
    this.requests.push({ requester, id, deadlineMs: m.nowMs + RELAY_BOUND_TIMEOUTS * m.config.electionTimeoutMs });
  }

  /**
   * After every step of a leader: follow the view, answer a committed change, step down if the
   * committed configuration has no place for this node, then propose the next change if allowed.
   */
  afterStep(): void {
    const m = this.m;
    if (m.role !== 'leader') return;
    this.observeMembers();
    this.expireRequests();
    this.settle();
    if (m.role !== 'leader' || !this.mayPropose()) return;
    this.proposeNext();
    this.settle();
  }

  /** When time alone may change the plan, or a waiting removal times out (Infinity when not leading). */
  deadline(): number {
    if (this.m.role !== 'leader' || this.m.configuration() === null) return Infinity;
    return Math.min(nextPlanTimeMs(this.view()), ...this.requests.map((r) => r.deadlineMs));
  }

  /** Whether `id` is held out of the configuration until it restarts. */
  barred(id: NodeId): boolean {
    const bar = this.bars.get(id);
    if (!bar) return false;
    const member = this.m.members.find((x) => x.id === id);
    if (!member || member.state !== 'alive') return true;
    return !(bar.sawGone || (member.stateSinceMs ?? -Infinity) > bar.sinceMs);
  }

  private bar(id: NodeId): void {
    const member = this.m.members.find((x) => x.id === id);
    this.bars.set(id, { sinceMs: this.m.nowMs, sawGone: member?.state !== 'alive' });
  }

  private observeMembers(): void {
    const m = this.m;
    const c = m.configuration();
    const inView = new Set(m.members.map((x) => x.id));
    for (const id of [...(c?.voters ?? []), ...(c?.learners ?? [])]) {
      if (inView.has(id) || id === m.selfId) this.absentSinceMs.delete(id);
      else if (!this.absentSinceMs.has(id)) this.absentSinceMs.set(id, m.nowMs);
    }
    for (const [id, bar] of this.bars) {
      const state = m.members.find((x) => x.id === id)?.state;
      if (state !== 'alive') bar.sawGone = true;
    }
  }

  private expireRequests(): void {
    const m = this.m;
    const expired = this.requests.filter((r) => m.nowMs >= r.deadlineMs);
    this.requests = this.requests.filter((r) => m.nowMs < r.deadlineMs);
    for (const r of expired) fail(m, r.requester, RELAY_ERRORS.timeout, `the removal of ${r.id} waited ${RELAY_BOUND_TIMEOUTS} election timeouts for its turn`);
  }

  /** §4.1: one change at a time, once this leader committed an entry of its term (the 2015 fix). */
  private mayPropose(): boolean {
    const m = this.m;
    return m.leader.established() && m.log.configurationIndex() <= m.log.committed && this.inFlight === null && m.leader.transfer === null && !m.commands.stopping && m.promotable();
  }

  /** The committed change is answered; §4.2.2: once the configuration without it commits, a removed leader steps down. */
  private settle(): void {
    const m = this.m;
    const f = this.inFlight;
    if (f && f.index <= m.log.committed) {
      this.inFlight = null;
      for (const req of f.requesters) answer(m, req, { ok: true, detail: `${describe(f.change)} committed at index ${f.index}` });
    }
    const c = m.configuration();
    if (!c || c.voters.includes(m.selfId) || m.log.configurationIndex() > m.log.committed) return;
    const to = m.leader.mostCaughtUp();
    if (to !== null && m.leader.matchOf(to) === m.log.lastIndex()) m.leader.handOver(to);
    m.becomeFollower(m.hard.term, null, 'removed');
  }

  private proposeNext(): void {
    const m = this.m;
    const c = m.configuration()!;
    const request = this.nextRequest(c);
    const change: ConfigChange | null = request ? { kind: 'remove', id: request.id } : nextChange(this.view());
    if (!change) return;
    const next: RaftConfiguration = applyChange(c, change);
    if (next.voters.length === 0) return;
    if (change.kind === 'remove') this.bar(change.id);
    if (change.kind === 'add-learner') this.bars.delete(change.id);
    const index = m.leader.propose({ kind: 'config', voters: next.voters, learners: next.learners });
    this.inFlight = { index, change, requesters: request?.requesters ?? [] };
  }

  /** The first operator removal still to do, with everyone waiting for it; those already done are answered on the way. */
  private nextRequest(c: RaftConfiguration): { id: NodeId; requesters: Requester[] } | null {
    while (this.requests.length > 0) {
      const r = this.requests.shift()!;
      if (!c.voters.includes(r.id) && !c.learners.includes(r.id)) {
        answer(this.m, r.requester, { ok: true, detail: `${r.id} is no longer in the configuration` });
        continue;
      }
      const same = this.requests.filter((x) => x.id === r.id);
      this.requests = this.requests.filter((x) => x.id !== r.id);
      return { id: r.id, requesters: [r.requester, ...same.map((x) => x.requester)] };
    }
    return null;
  }

  private view(): AutopilotView {
    const m = this.m;
    return {
      selfId: m.selfId,
      configuration: m.configuration()!,
      members: m.members,
      nowMs: m.nowMs,
      lastIndex: m.log.lastIndex(),
      match: this.matchOf,
      goneSinceMs: this.goneSince,
      barred: this.isBarred,
      config: m.config,
    };
  }

  // The view's lookups, made once: a leader builds a view after every step it takes (deadline,
  // proposeNext), and new closures each time were 1 % of a busy leader's time.
  private readonly matchOf = (id: NodeId): number => this.m.leader.matchOf(id);
  private readonly goneSince = (id: NodeId): number | null => this.goneSinceMs(id);
  private readonly isBarred = (id: NodeId): boolean => this.barred(id);

  private goneSinceMs(id: NodeId): number | null {
    const member = this.m.members.find((x) => x.id === id);
    if (!member) return this.absentSinceMs.get(id) ?? this.m.nowMs;
    return member.state === 'dead' || member.state === 'left' ? (member.stateSinceMs ?? -Infinity) : null;
  }
}

function describe(change: ConfigChange): string {
  return change.kind === 'add-learner' ? `${change.id} added as a learner` : change.kind === 'promote' ? `${change.id} promoted to voter` : `${change.id} removed`;
}
