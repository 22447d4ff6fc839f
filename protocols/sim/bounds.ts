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
  // A node whose clock runs slow takes that much longer, in real time, to time out.
  const slowestRate = Math.min(1, ...s.clockRates);
  const timed = (ms: number) => Math.ceil(ms / slowestRate);
  return {
    maxPathDelayMs,
    // Silence long enough to suspect, then the longest (unconfirmed) suspicion.
    detectDeadMs: timed(t.suspectAfterMs + t.suspicionMaxMs + slackMs),
    // A suspicion already running at heal time may still expire, then needs a refutation round.
    convergeMs: timed(t.suspectAfterMs + t.suspicionMaxMs + 3 * t.heartbeatIntervalMs + slackMs),
    // Long enough for any suspicion that began before the quiet to be refuted.
    quietBeforeJudgingMs: timed(t.suspectAfterMs + slackMs),
    // Lifeguard's health multiplier rises at once and decays over several heartbeat intervals.
    lagRecoveryMs: timed(4 * t.maxHealthMultiplier * t.heartbeatIntervalMs),
  };
}
