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
