/**
 * The lease contract checked on a history recorded from real daemons (integration tests, the
 * Bully bench): what each node answered when asked, in rounds that ask every node at once. The
 * simulator checks the same promises at every instant (election-invariants.ts); a real cluster
 * can only be sampled, so these checks read samples.
 */
import type { Role } from '../types.js';

/** One answer of one node (its /v1/status), within one sampling round. */
export interface LeadershipSample {
  round: number;
  node: string;
  role: Role;
  term: number;
  /** The leader it names (a name), or null. */
  leader: string | null;
  fencingToken: number;
}

export interface LeadershipHistoryReport {
  rounds: number;
  samples: number;
  /** Rounds in which two or more nodes answered `leader`. */
  roundsWithTwoLeaders: { round: number; leaders: string[] }[];
  /** Answers naming a leader (node, term) that never answered `leader` at that term itself. */
  ghostLeaders: { round: number; node: string; named: string; term: number }[];
  /** A node whose fencing token went down between two of its answers. */
  tokenRegressions: { round: number; node: string; from: number; to: number }[];
  /** Distinct (leader, term) pairs seen, in order of first appearance. */
  reigns: { leader: string; term: number; firstRound: number }[];
}

export function checkLeadershipHistory(samples: readonly LeadershipSample[]): LeadershipHistoryReport {
  const byRound = new Map<number, LeadershipSample[]>();
  const led = new Set<string>();
  const reigns: LeadershipHistoryReport['reigns'] = [];
  for (const s of samples) {
    byRound.set(s.round, [...(byRound.get(s.round) ?? []), s]);
    if (s.role !== 'leader') continue;
    const key = `${s.node}@${s.term}`;
    if (!led.has(key)) reigns.push({ leader: s.node, term: s.term, firstRound: s.round });
    led.add(key);
  }
  const roundsWithTwoLeaders: LeadershipHistoryReport['roundsWithTwoLeaders'] = [];
  for (const [round, answers] of [...byRound].sort(([a], [b]) => a - b)) {
    const leaders = answers.filter((s) => s.role === 'leader').map((s) => s.node);
    if (leaders.length > 1) roundsWithTwoLeaders.push({ round, leaders });
  }
  const ghostLeaders: LeadershipHistoryReport['ghostLeaders'] = [];
  const tokenRegressions: LeadershipHistoryReport['tokenRegressions'] = [];
  const lastToken = new Map<string, number>();
  for (const s of [...samples].sort((a, b) => a.round - b.round)) {
    if (s.leader !== null && s.leader !== s.node && !led.has(`${s.leader}@${s.term}`)) {
      ghostLeaders.push({ round: s.round, node: s.node, named: s.leader, term: s.term });
    }
    const before = lastToken.get(s.node);
    if (before !== undefined && s.fencingToken < before) tokenRegressions.push({ round: s.round, node: s.node, from: before, to: s.fencingToken });
    lastToken.set(s.node, s.fencingToken);
  }
  return { rounds: byRound.size, samples: samples.length, roundsWithTwoLeaders, ghostLeaders, tokenRegressions, reigns };
}
