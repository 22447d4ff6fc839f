/**
 * Leadership as a lease: the contract every election protocol keeps (README "Leadership you can
 * trust"), as pure arithmetic. Times are each node's own monotonic clock; no clock is compared
 * with another, only clock *rates* are assumed close.
 *
 * A member that accepts a leader's claim or renewal at its local time A promises, for `grantMs`
 * on its own clock, to help elect no one else (unless the leader is known gone or releases it).
 * The leader counts that promise from the moment S it *sent* the message (S <= A in real time,
 * whatever the network did) and only for `leaderLeaseMs(grantMs)` on its own clock. With every
 * clock's rate within [1 - d, 1 + d] of real time, the leader's count ends (at real time at most
 * S + L / (1 - d)) no later than the member's promise (at real time at least A + grantMs / (1 + d)),
 * because L = grantMs * (1 - d) / (1 + d). So while a majority's promises hold, no other node can
 * gather a majority, and a leader reports itself leader only inside that window: no two nodes
 * report leadership at the same instant.
 */

/**
 * The clock-rate drift bound d: any node's monotonic clock runs at most 2 % fast or slow against
 * real time. NTP slews CLOCK_MONOTONIC by at most 0.05 %; 2 % leaves a forty-fold margin for
 * unsynchronised or virtualised hosts and costs about 4 % of the lease.
 */
export const MAX_CLOCK_DRIFT = 0.02;

/** How long after sending a claim or renewal a leader may count the promises it earned. */
export function leaderLeaseMs(grantMs: number, drift = MAX_CLOCK_DRIFT): number {
  return (grantMs * (1 - drift)) / (1 + drift);
}

/**
 * When a leader's lease ends: `ackSentAtMs` holds, per member other than the leader that counts
 * towards the quorum, when the leader sent the newest message that member accepted. The leader's
 * own promise always holds, so it needs `votesNeeded - 1` others; the lease rests on the oldest
 * of the freshest such set. `Infinity` when the leader alone is a majority (a one-node cluster),
 * `-Infinity` when too few members accepted anything.
 */
export function quorumLeaseExpiryMs(ackSentAtMs: readonly number[], votesNeeded: number, leaderLeaseDurationMs: number): number {
  const others = votesNeeded - 1;
  if (others <= 0) return Infinity;
  if (ackSentAtMs.length < others) return -Infinity;
  return nthNewest(ackSentAtMs, others) + leaderLeaseDurationMs;
}

/**
 * The n-th largest of `values` (1: the largest), ties counted each. Without sorting a copy: a
 * Raft leader asks for its lease and check-quorum deadline several times per input, over a
 * handful of voters.
 */
function nthNewest(values: readonly number[], n: number): number {
  for (const v of values) {
    let greater = 0;
    let equal = 0;
    for (const w of values) {
      if (w > v) greater++;
      else if (w === v) equal++;
    }
    if (greater < n && n <= greater + equal) return v;
  }
  throw new Error(`nthNewest: no ${n}th of ${values.length} values`);
}
