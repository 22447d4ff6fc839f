/**
 * The lease contract checked on a history recorded from real daemons (integration tests, the
 * Bully bench): what each node answered when asked, in rounds that ask every node at once. The
 * simulator checks the same promises at every instant (election-invariants.ts), by the same
 * rules (../election-safety.ts); a real cluster can only be sampled, so these checks read samples.
 */
import { leadersAtOnce, TermLeaders, TokenHighWater } from '../election-safety.js';
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
  /** An answer whose fencing token is below one the same node gave before. */
  tokenRegressions: { round: number; node: string; from: number; to: number }[];
  /** Distinct (leader, term) pairs seen, in order of first appearance. */
  reigns: { leader: string; term: number; firstRound: number }[];
}

export function checkLeadershipHistory(samples: readonly LeadershipSample[]): LeadershipHistoryReport {
  const byRound = new Map<number, LeadershipSample[]>();
  const led = new TermLeaders();
  const reigns: LeadershipHistoryReport['reigns'] = [];
  for (const s of samples) {
    byRound.set(s.round, [...(byRound.get(s.round) ?? []), s]);
    if (s.role === 'leader' && !led.led(s.node, s.term)) reigns.push({ leader: s.node, term: s.term, firstRound: s.round });
    led.observe(s.node, s);
  }
  const roundsWithTwoLeaders: LeadershipHistoryReport['roundsWithTwoLeaders'] = [];
  for (const [round, answers] of [...byRound].sort(([a], [b]) => a - b)) {
    const leaders = leadersAtOnce(answers).map((s) => s.node);
    if (leaders.length > 1) roundsWithTwoLeaders.push({ round, leaders });
  }
  const ghostLeaders: LeadershipHistoryReport['ghostLeaders'] = [];
  const tokenRegressions: LeadershipHistoryReport['tokenRegressions'] = [];
  const tokens = new TokenHighWater();
  for (const s of [...samples].sort((a, b) => a.round - b.round)) {
    // Sampling is coarse: a leader counts as real if it answered `leader` at that term in any round.
    if (s.leader !== null && s.leader !== s.node && !led.led(s.leader, s.term)) {
      ghostLeaders.push({ round: s.round, node: s.node, named: s.leader, term: s.term });
    }
    const before = tokens.observe(s.node, s.fencingToken);
    if (before !== null) tokenRegressions.push({ round: s.round, node: s.node, from: before, to: s.fencingToken });
  }
  return { rounds: byRound.size, samples: samples.length, roundsWithTwoLeaders, ghostLeaders, tokenRegressions, reigns };
}
