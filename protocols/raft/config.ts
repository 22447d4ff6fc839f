/** Raft settings (config key `raft`). The simulator and the tests start from DEFAULT_RAFT_CONFIG. */
export interface RaftConfig {
  /**
   * T, the minimum election timeout: a follower that heard nothing from its leader for a random
   * time in [T, 2T) campaigns; a follower that heard from a live leader within T refuses
   * (pre-)votes (leader stickiness), which is what lets a leader count a lease of T (scaled for
   * clock drift, ../lease.ts) from each round a majority acknowledged.
   */
  electionTimeoutMs: number;
  /** How often a leader sends a round of appends (a heartbeat, and the lease renewal). */
  heartbeatIntervalMs: number;
  /** Most entries one AppendEntries carries (bounded again by the codec: MAX_ENTRIES_PER_MESSAGE). */
  maxEntriesPerAppend: number;
  /** Most AppendEntries in flight to one follower while replicating optimistically. */
  maxInflight: number;
  /**
   * How long a follower with no client waiting on a write may hear of its commit late: it learns
   * with the next append it gets, at the latest this long after the commit (the follower whose
   * client waits hears at once). 0: every follower hears at once, as in etcd.
   */
  commitNoticeDelayMs: number;
  /**
   * After membership reports the leader dead (or its connection lost), the live voters pre-vote
   * one after another in id order, this far apart (plus jitter of a fifth of it): all at once,
   * every pre-vote succeeds (a pre-vote binds nobody) and the real votes split, which costs an
   * election timeout. A few round trips, so the first usually wins before the next starts.
   */
  leaderGoneStaggerMs: number;
  /**
   * Log compaction (§7): once this many entries committed since the last snapshot, the state as of
   * half that many entries back replaces the log up to there (so a follower a little behind still
   * catches up from entries, one further behind gets the snapshot in chunks).
   */
  snapshotEntries: number;
  /**
   * How long membership must have shown a learner `alive` without a break (and it must be caught
   * up) before the leader promotes it to voter: a node that flaps is never made a voter.
   */
  stabilizationMs: number;
  /** Voters the leader promotes learners up to; further nodes stay learners (never demoted). */
  maxVoters: number;
  /**
   * How long membership must have held a voter `dead` or `left` (or lost it from view) before the
   * leader replaces it by a caught-up learner, or removes it. `left` counts the same: a stopped
   * voter is usually restarting.
   */
  deadVoterRemoveMs: number;
  /** Dead voters are never removed below this many voters (Consul autopilot's MinQuorum). */
  minQuorum: number;
}

/** Defaults, each with its reason. */
export const DEFAULT_RAFT_CONFIG: Readonly<RaftConfig> = Object.freeze({
  // LAN-like: many round trips (a LAN round trip is well under 10 ms, a GC pause or a busy event
  // loop is tens of ms), and a lease of about a second; etcd's default is 1 s too.
  electionTimeoutMs: 1000,
  // A tenth of T: a follower misses several rounds before its timer can fire, and the lease is
  // renewed ten times per lease length, so one lost round never costs the leader its lease.
  heartbeatIntervalMs: 100,
  // Enough to catch up a follower quickly while keeping one message well under the frame limit.
  maxEntriesPerAppend: 64,
  // etcd's default is 256 for busy logs; the election log is small, a few in flight suffice.
  maxInflight: 8,
  // A commit-only append and its answer-less wake-up per follower per write were an eighth of a
  // one-client write's CPU on five daemons. A few ms delays what a follower applies (its watchers,
  // its serializable reads) by at most that; under load the next write's append carries it anyway.
  commitNoticeDelayMs: 5,
  // A pre-vote and a vote round trip, with fsyncs, on a busy LAN host; the first survivor waits none.
  leaderGoneStaggerMs: 50,
  // etcd compacts every 10,000 entries (--snapshot-count, 100,000 since 3.2), hashicorp/raft every
  // 8,192 (SnapshotThreshold). The election log grows by one or two entries per leader change, so
  // this bounds the log and start-up replay long before it matters.
  snapshotEntries: 8192,
  // Consul autopilot's ServerStabilizationTime: long enough to see a crash loop or a flapping link.
  stabilizationMs: 10_000,
  // Consul's and etcd's advice: 5 voters survive 2 failures; more voters only slow every commit.
  maxVoters: 5,
  // Longer than a daemon restart or a host reboot (a minute or so), the common reasons a voter is
  // gone, so those do not churn the configuration; short enough that a machine that died for good
  // is replaced long before a second failure is likely. A premature removal costs little anyway:
  // the node comes back as a learner and is promoted again after stabilizationMs.
  deadVoterRemoveMs: 120_000,
  // Consul autopilot's MinQuorum default: below 3 voters one more failure stops the cluster.
  minQuorum: 3,
});
