/** Bully settings (config key `bully`). Defaults and their reasons live in daemon/config. */
export interface BullyConfig {
  /** How long a candidate waits for an ANSWER from any higher-ranked node. */
  answerTimeoutMs: number;
  /** After an ANSWER, how long to wait for the higher node's COORDINATOR before re-electing. */
  coordinatorTimeoutMs: number;
  /** At start, how long to listen to gossip for a current leader before electing. */
  settleMs: number;
  /** Whether a returning higher-ranked node deposes a working leader. */
  preempt: boolean;
  /** With preempt: how long membership must be stable before the higher node takes over. */
  preemptDelayMs: number;
  /** `majority`: lead only with a majority's acceptance (safe under partitions); `none`: unsafe. */
  quorum: 'majority' | 'none';
  /** Cluster size for the majority; null: members known (dead ones count until forgotten). */
  expectedSize: number | null;
  /** A leader that cannot reach a majority for this long steps down. */
  leaseMs: number;
  /** After `resign`, this node does not take leadership again for this long. */
  resignHoldMs: number;
}

/** Defaults, each with its reason (the daemon's config and the simulator both start here). */
export const DEFAULT_BULLY_CONFIG: Readonly<BullyConfig> = Object.freeze({
  // A live higher node answers within one round trip plus scheduling; on a LAN 200 ms is many
  // round trips, and a short wait keeps a leaderless gap short.
  answerTimeoutMs: 200,
  // The answering node must run its own election first (one answerTimeoutMs and a broadcast):
  // three times that before concluding it died and starting over.
  coordinatorTimeoutMs: 600,
  // Long enough to hear a few heartbeats (lan: 500 ms) naming the current leader, so a node that
  // joins a working cluster follows it instead of starting an election.
  settleMs: 1500,
  // Pre-emption by a returning higher node is Bully's classic flapping failure: off unless asked.
  preempt: false,
  // With preempt on, a returning node must look stable this long before it takes over.
  preemptDelayMs: 5000,
  // Two leaders on either side of a partition are worse than none: require a majority.
  quorum: 'majority',
  // null: the majority is of the members currently known, so no size has to be configured.
  expectedSize: null,
  // Several heartbeat intervals and a suspicion period: a leader steps down only after it has
  // really lost its majority, not after one late heartbeat.
  leaseMs: 3000,
  // After `resign`, long enough for another node to be elected and settle before this node may
  // win again; otherwise the highest-ranked node would take leadership straight back.
  resignHoldMs: 10_000,
});
