/**
 * Rate limit for reject logs: a misbehaving peer can send thousands of bad frames a second,
 * and each is counted, but only the first per (peer, reason) in each window is logged.
 */
export const REJECT_LOG_WINDOW_MS = 60_000;

/** Bound on remembered (peer, reason) pairs; the oldest are forgotten first. */
const MAX_ENTRIES = 4096;

export interface RejectLogLimiter {
  /** True when this reject should be logged now; then it is suppressed until the window passes. */
  shouldLog(peer: string, reason: string, nowMs: number): boolean;
}

export function createRejectLogLimiter(windowMs = REJECT_LOG_WINDOW_MS): RejectLogLimiter {
  const lastLoggedMs = new Map<string, number>();
  return {
    shouldLog(peer, reason, nowMs) {
      const key = `${peer}\u0000${reason}`;
      const last = lastLoggedMs.get(key);
      if (last !== undefined && nowMs - last < windowMs) return false;
      lastLoggedMs.delete(key);
      lastLoggedMs.set(key, nowMs);
      if (lastLoggedMs.size > MAX_ENTRIES) lastLoggedMs.delete(lastLoggedMs.keys().next().value!);
      return true;
    },
  };
}
