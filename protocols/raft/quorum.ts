/**
 * Majority arithmetic over one voter set (etcd-raft's quorum/majority.go): pure functions of
 * per-voter values, so the commit rule and the vote count are tested on their own.
 */
import type { NodeId } from '../types.js';

/** Smallest number of voters that is more than half of `size`. */
export function majorityOf(size: number): number {
  return Math.floor(size / 2) + 1;
}

/**
 * The highest index a majority of `voters` holds (§5.3): sort the match indexes descending and
 * take the majority-th. A voter missing from `match` holds nothing (0).
 */
export function committedIndex(voters: readonly NodeId[], match: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const sorted = voters.map(match).sort((a, b) => b - a);
  return sorted[majorityOf(voters.length) - 1]!;
}

export type VoteResult = 'won' | 'lost' | 'pending';

/** Won once a majority granted, lost once a majority can no longer grant; only voters count. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let refused = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) refused++;
  }
  const need = majorityOf(voters.length);
  if (granted >= need) return 'won';
  if (voters.length - refused < need) return 'lost';
  return 'pending';
}
