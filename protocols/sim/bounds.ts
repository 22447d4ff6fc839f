import type { Scenario, SimBounds } from './types.js';

/**
 * Time bounds the invariants judge by, derived from the preset and the network. Each is a
 * detection cycle plus the slack a correct machine needs: heartbeats to cross the network,
 * ticks to notice, refutations to travel back.
 */
export function boundsFor(s: Scenario): SimBounds {
  const t = s.timings;
  const maxPathDelayMs = s.baseDelayMaxMs + s.jitterMaxMs;
  const slackMs = 2 * t.heartbeatIntervalMs + 2 * maxPathDelayMs + 2 * s.tickMs;
  return {
    maxPathDelayMs,
    // Silence long enough to suspect, then the longest (unconfirmed) suspicion.
    detectDeadMs: t.suspectAfterMs + t.suspicionMaxMs + slackMs,
    // A suspicion already running at heal time may still expire, then needs a refutation round.
    convergeMs: t.suspectAfterMs + t.suspicionMaxMs + 3 * t.heartbeatIntervalMs + slackMs,
    // Long enough for any suspicion that began before the quiet to be refuted.
    quietBeforeJudgingMs: t.suspectAfterMs + slackMs,
    // Lifeguard's health multiplier rises at once and decays over several heartbeat intervals.
    lagRecoveryMs: 4 * t.maxHealthMultiplier * t.heartbeatIntervalMs,
  };
}
