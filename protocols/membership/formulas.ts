/**
 * Pure timing formulas of membership (memberlist's util.go, suspicion.go, awareness.go).
 * Each one is a plain function of numbers so it can be tested and benchmarked on its own.
 */

/** Lifeguard caps the confirmations it waits for: beyond three, more voices add little certainty. */
export const MAX_EXPECTED_CONFIRMATIONS = 3;

/**
 * A change of this node's own election summary is gossiped this long after it happens (a fifth
 * of the heartbeat interval: lan 100 ms), so the several changes of one hand-off (lease released,
 * a claim accepted, the new leader named) leave as one heartbeat instead of three. Every
 * heartbeat costs each receiver a signature check; three of them from every member at the moment
 * a new leader is being elected slowed that election on a loaded host. Gossip decides nothing
 * about leadership, so the delay costs no fail-over time.
 */
export function selfChangePublishDelayMs(heartbeatIntervalMs: number): number {
  return Math.max(1, Math.round(heartbeatIntervalMs / 5));
}

/** A gap between two ticks longer than this many heartbeat intervals means this node itself stalled. */
export const STALL_GAP_INTERVALS = 2;

/**
 * How fast the health multiplier falls back once lag is gone, per second: one unit, as
 * memberlist's awareness drops by one per successful probe (one a second). Gradual on purpose:
 * a loop that blocked once is likely to block again soon (GC, a burst of work). Per second, not
 * per heartbeat, so a slower heartbeat does not make a node doubt itself for longer.
 */
export const HEALTH_DECAY_PER_SECOND = 1;

/**
 * Independent confirmations worth waiting for: the live members other than this node and the
 * suspect, capped, at least one (memberlist: `n - 2` of the estimated cluster size).
 */
export function expectedConfirmations(liveMembersIncludingSelf: number): number {
  return Math.max(1, Math.min(MAX_EXPECTED_CONFIRMATIONS, liveMembersIncludingSelf - 2));
}

/**
 * Lifeguard suspicion timeout: starts at `maxMs` and falls logarithmically towards `minMs` as
 * independent confirmations arrive, reaching `minMs` at `expected` confirmations.
 */
export function suspicionTimeoutMs(confirmations: number, expected: number, minMs: number, maxMs: number): number {
  const c = Math.max(0, confirmations);
  const k = Math.max(1, expected);
  const fraction = Math.log(c + 1) / Math.log(k + 1);
  return Math.max(minMs, maxMs - (maxMs - minMs) * fraction);
}

/** The multiplier the current lag alone calls for: one extra unit per heartbeat interval of lag. */
export function healthTarget(localLagMs: number, heartbeatIntervalMs: number, maxHealthMultiplier: number): number {
  const raw = 1 + Math.max(0, localLagMs) / heartbeatIntervalMs;
  return Math.min(maxHealthMultiplier, Math.max(1, raw));
}

/**
 * The next health multiplier: rises at once to what the lag calls for (a slow node must widen
 * its timeouts before it judges anyone) and decays gradually towards it when lag falls.
 */
export function nextHealthMultiplier(
  previous: number,
  localLagMs: number,
  elapsedMs: number,
  heartbeatIntervalMs: number,
  maxHealthMultiplier: number,
): number {
  const target = healthTarget(localLagMs, heartbeatIntervalMs, maxHealthMultiplier);
  const decayed = previous - (HEALTH_DECAY_PER_SECOND * Math.max(0, elapsedMs)) / 1000;
  return Math.min(maxHealthMultiplier, Math.max(target, decayed, 1));
}

/** True when the gap between two ticks shows that this node was not running (SIGSTOP, blocked loop). */
export function isLocalStall(tickGapMs: number, heartbeatIntervalMs: number): boolean {
  return tickGapMs > STALL_GAP_INTERVALS * heartbeatIntervalMs;
}
