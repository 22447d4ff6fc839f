/**
 * Which configuration change the leader proposes next, if any (Consul autopilot's rules, decided
 * by a pure function of what the leader knows): gossip only triggers proposals, the log decides.
 * One server changes at a time (thesis §4.1); confchange.ts makes sure a change is proposed only
 * once the previous one committed and the leader committed an entry of its own term.
 *
 * In order of precedence:
 * 1. A voter membership has held `dead` or `left` (or lost from view) for deadVoterRemoveMs is
 *    replaced: while the live voters are fewer than maxVoters and a stable, caught-up learner
 *    exists, that learner is promoted first; the dead voter is removed on a later round, and only
 *    while that leaves at least minQuorum voters.
 *    Why promote first: the failures the cluster still survives are the same in between either
 *    way (A live voters and D dead ones: promote first needs a majority of A+D+1 from A+1 live
 *    nodes, remove first a majority of A+D-1 from A; both leave A - floor((A+D+1)/2) failures to
 *    spare), but promoting first never shrinks the voter set, so minQuorum holds throughout and a
 *    3-voter cluster can replace a voter at all; and a leader that fails in between leaves one
 *    more live voter behind, not one fewer.
 *    Nothing is removed while more voters look gone than (voters - 1) / 2: the cluster cannot
 *    have lost that many and still commit, so the leader's view is the likelier fault.
 * 2. A learner alive without a break for stabilizationMs and caught up is promoted while voters
 *    are fewer than maxVoters (a 50-node fleet keeps 5 voters).
 * 3. An alive raft member that is in no configuration is added as a learner, unless it was
 *    removed and has not restarted since (`barred`, see confchange.ts).
 * 4. A learner gone for deadVoterRemoveMs is removed (it never counted; this keeps the
 *    configuration readable, and it is added again if it comes back).
 */
import type { ElectionMember } from '../election.js';
import type { NodeId } from '../types.js';
import type { RaftConfig } from './config.js';
import type { RaftConfiguration } from './messages.js';

/** A learner this many entries or fewer behind the leader's last index counts as caught up. */
export const CAUGHT_UP_MAX_LAG = 4;

export type ConfigChange =
  | { kind: 'add-learner'; id: NodeId }
  | { kind: 'promote'; id: NodeId }
  | { kind: 'remove'; id: NodeId };

export type AutopilotConfig = Pick<RaftConfig, 'stabilizationMs' | 'maxVoters' | 'deadVoterRemoveMs' | 'minQuorum'>;

/** What the leader knows when it plans. */
export interface AutopilotView {
  selfId: NodeId;
  configuration: RaftConfiguration;
  members: readonly ElectionMember[];
  nowMs: number;
  lastIndex: number;
  /** The highest index known replicated on `id` (0: unknown). */
  match(id: NodeId): number;
  /** Since when membership has held `id` dead, left or absent; null while it is alive or suspect. */
  goneSinceMs(id: NodeId): number | null;
  /** Removed, and not yet seen gone and back (confchange.ts). */
  barred(id: NodeId): boolean;
  config: AutopilotConfig;
}

/** The configuration after `change` (a voter or learner appears at most once, in id order). */
export function applyChange(c: RaftConfiguration, change: ConfigChange): RaftConfiguration {
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== change.id);
  const add = (ids: readonly NodeId[]) => [...without(ids), change.id].sort();
  switch (change.kind) {
    case 'add-learner':
      return { voters: [...c.voters], learners: add(c.learners) };
    case 'promote':
      return { voters: add(c.voters), learners: without(c.learners) };
    case 'remove':
      return { voters: without(c.voters), learners: without(c.learners) };
  }
}

/** The next change autopilot wants, or null (rules in the header, in that order). */
export function nextChange(v: AutopilotView): ConfigChange | null {
  return replaceDeadVoter(v) ?? promoteLearner(v) ?? addLearner(v) ?? removeDeadLearner(v);
}

function member(v: AutopilotView, id: NodeId): ElectionMember | undefined {
  return v.members.find((m) => m.id === id);
}

/** Gone for at least deadVoterRemoveMs. */
function goneLongEnough(v: AutopilotView, id: NodeId): boolean {
  const since = v.goneSinceMs(id);
  return id !== v.selfId && since !== null && v.nowMs - since >= v.config.deadVoterRemoveMs;
}

/** Learners fit to vote: alive without a break for stabilizationMs and caught up; most caught up first, then by id. */
export function promotableLearners(v: AutopilotView): NodeId[] {
  return v.configuration.learners
    .filter((id) => {
      const m = member(v, id);
      const stable = m?.state === 'alive' && v.nowMs - (m.stateSinceMs ?? -Infinity) >= v.config.stabilizationMs;
      // match > 0: it accepted entries from this leader (a small log makes any lag look small).
      return stable && !v.barred(id) && v.match(id) > 0 && v.match(id) >= v.lastIndex - CAUGHT_UP_MAX_LAG;
    })
    .sort((a, b) => v.match(b) - v.match(a) || (a < b ? -1 : 1));
}

function replaceDeadVoter(v: AutopilotView): ConfigChange | null {
  const voters = v.configuration.voters;
  const dead = voters.filter((id) => goneLongEnough(v, id)).sort();
  if (dead.length === 0) return null;
  const notAlive = voters.filter((id) => id !== v.selfId && member(v, id)?.state !== 'alive').length;
  if (notAlive > Math.floor((voters.length - 1) / 2)) return null;
  const replacement = promotableLearners(v)[0];
  if (replacement !== undefined && voters.length - dead.length < v.config.maxVoters) return { kind: 'promote', id: replacement };
  if (voters.length - 1 >= v.config.minQuorum) return { kind: 'remove', id: dead[0]! };
  return null;
}

function promoteLearner(v: AutopilotView): ConfigChange | null {
  if (v.configuration.voters.length >= v.config.maxVoters) return null;
  const id = promotableLearners(v)[0];
  return id === undefined ? null : { kind: 'promote', id };
}

function addLearner(v: AutopilotView): ConfigChange | null {
  const c = v.configuration;
  const known = new Set([...c.voters, ...c.learners]);
  const id = v.members
    .filter((m) => m.protocol === 'raft' && m.state === 'alive' && !m.self && m.id !== v.selfId && !known.has(m.id) && !v.barred(m.id))
    .map((m) => m.id)
    .sort()[0];
  return id === undefined ? null : { kind: 'add-learner', id };
}

function removeDeadLearner(v: AutopilotView): ConfigChange | null {
  const id = v.configuration.learners.filter((x) => goneLongEnough(v, x)).sort()[0];
  return id === undefined ? null : { kind: 'remove', id };
}

/**
 * When the plan may change with time alone (a learner becomes stable, a gone member's wait ends):
 * the earliest such moment after now, or Infinity. Everything else that changes it arrives as an
 * input (a members view, an append response).
 */
export function nextPlanTimeMs(v: AutopilotView): number {
  const c = v.configuration;
  const times: number[] = [];
  for (const id of c.learners) {
    const m = member(v, id);
    if (m?.state === 'alive' && m.stateSinceMs !== undefined) times.push(m.stateSinceMs + v.config.stabilizationMs);
  }
  for (const id of [...c.voters, ...c.learners]) {
    const since = v.goneSinceMs(id);
    if (since !== null && id !== v.selfId) times.push(since + v.config.deadVoterRemoveMs);
  }
  return Math.min(Infinity, ...times.filter((t) => t > v.nowMs));
}
