/**
 * Redial delays: exponential in the number of failed attempts, capped, with "equal jitter"
 * (half fixed, half random) so peers that lost a node at the same moment do not redial in step.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Defaults for a LAN: a restarted daemon is back within a second; a gone one costs a dial per 30 s. */
export const REDIAL_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 30_000 };

/** Delay before the dial that follows `failures` failed ones; `random01` is uniform in [0, 1). */
export function backoffDelayMs(failures: number, options: BackoffOptions, random01: number): number {
  const exponent = Math.min(Math.max(0, failures), 30);
  const ceilingMs = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return ceilingMs / 2 + (ceilingMs / 2) * random01;
}
