/**
 * Retry delays, for the daemon's redials and the dashboard's reconnects: exponential in the
 * number of failed attempts, capped, with "equal jitter" (half fixed, half random) so peers that
 * lost a node at the same moment do not retry in step. Pure: the caller draws the random number.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Delay before the attempt that follows `failures` failed ones; `random01` is uniform in [0, 1). */
export function backoffDelayMs(failures: number, options: BackoffOptions, random01: number): number {
  const exponent = Math.min(Math.max(0, failures), 30);
  const ceilingMs = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return ceilingMs / 2 + (ceilingMs / 2) * random01;
}
