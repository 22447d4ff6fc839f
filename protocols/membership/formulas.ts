/**
 * Pure timing formulas of membership (memberlist's util.go, suspicion.go, awareness.go).
 * Each one is a plain function of numbers so it can be tested and benchmarked on its own.
 */

/** Lifeguard caps the confirmations it waits for: beyond three, more voices add little certainty. */
export const MAX_EXPECTED_CONFIRMATIONS = 3;

/**
 * A change of this node's own election summary is gossiped this long after it happens (a fifth
 * of the heartbeat interval: lan 200 ms), so the several changes of one hand-off (lease released,
 * a claim accepted, the new leader named) leave as one heartbeat instead of three. Every
 * heartbeat costs each receiver a decryption, a parse and a membership step; three of them from
 * every member at the moment a new leader is being elected slowed that election on a loaded host.
 * Gossip decides nothing about leadership, so the delay costs no fail-over time.
 */
export function selfChangePublishDelayMs(heartbeatIntervalMs: number): number {
  return Math.max(1, Math.round(heartbeatIntervalMs / 5));
}

/** A gap between two runs of this node longer than this many heartbeat intervals may be a stall (isLocalStall). */
export const STALL_GAP_INTERVALS = 2;

/**
 * A step this many heartbeat intervals or more past the machine's deadline() is late, not merely
 * imprecise: a host ticks at deadline() or sooner, and its timers are off by milliseconds.
 */
export const STALL_LATE_INTERVALS = 1;

/**
 * The gap between leave announcements: one heartbeat interval, but at most 200 ms. Far enough
 * apart that one lost packet (or one busy moment at a receiver) does not take all of them, close
 * enough that a SIGTERM ends in well under two seconds even on the wan preset (the daemon waits
 * for the last one before it exits).
 */
export function leaveAnnounceGapMs(heartbeatIntervalMs: number): number {
  return Math.min(heartbeatIntervalMs, 200);
}

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
 * Lifeguard's local health as a function of time: the highest multiplier that lag called for and
 * when, decaying since. Only a raise changes it, so ticking more often (without new lag) cannot.
 */
export interface HealthPeak {
  multiplier: number;
  atMs: number;
}

/** The health multiplier at `nowMs`: the peak, less HEALTH_DECAY_PER_SECOND since it was reached, never below 1. */
export function healthAt(peak: HealthPeak, nowMs: number): number {
  const decayed = peak.multiplier - (HEALTH_DECAY_PER_SECOND * Math.max(0, nowMs - peak.atMs)) / 1000;
  return Math.max(1, decayed);
}

/**
 * Health after lag `localLagMs` was seen at `nowMs`: rises at once to what the lag calls for (a
 * slow node must widen its timeouts before it judges anyone); otherwise the peak stays, so the
 * decay runs on undisturbed.
 */
export function raiseHealth(
  peak: HealthPeak,
  localLagMs: number,
  nowMs: number,
  heartbeatIntervalMs: number,
  maxHealthMultiplier: number,
): HealthPeak {
  const target = healthTarget(localLagMs, heartbeatIntervalMs, maxHealthMultiplier);
  return target > healthAt(peak, nowMs) ? { multiplier: target, atMs: nowMs } : peak;
}

/**
 * When a timeout of `timeoutMs` from `fromMs`, stretched by local health, runs out: the first
 * moment t with t - fromMs >= timeoutMs * healthAt(peak, t). Elapsed time grows and health only
 * falls, so there is one such moment, found in closed form; a later raise of health moves it
 * later. The machine's ticks and its deadline() both ask this function, so they cannot disagree.
 */
export function stretchedTimeoutEndMs(fromMs: number, timeoutMs: number, peak: HealthPeak): number {
  const atPeakMs = fromMs + timeoutMs * peak.multiplier;
  if (atPeakMs <= peak.atMs) return atPeakMs;
  const decayPerMs = HEALTH_DECAY_PER_SECOND / 1000;
  const unstretchedMs = fromMs + timeoutMs;
  if (unstretchedMs >= peak.atMs + (peak.multiplier - 1) / decayPerMs) return unstretchedMs;
  // While decaying, with u = t - peak.atMs: u - (fromMs - peak.atMs) = timeoutMs * (multiplier - decayPerMs * u).
  return peak.atMs + (fromMs - peak.atMs + timeoutMs * peak.multiplier) / (1 + timeoutMs * decayPerMs);
}

/**
 * True when a step shows that this node was not running (SIGSTOP, a blocked loop): it came more
 * than STALL_GAP_INTERVALS intervals after the previous run, as with the fixed tick, and at least
 * STALL_LATE_INTERVALS past the deadline the machine gave its host. A host ticks at deadline() or
 * sooner, so while it runs the step is never late; the gap alone would misread a long quiet spell
 * with nothing due as a stall.
 */
export function isLocalStall(gapMs: number, lateMs: number, heartbeatIntervalMs: number): boolean {
  return gapMs > STALL_GAP_INTERVALS * heartbeatIntervalMs && lateMs >= STALL_LATE_INTERVALS * heartbeatIntervalMs;
}
