/**
 * What makes a set of membership timings usable, checked wherever timings come in: the config at
 * start (daemon/config/checks.ts) and a live change (`set-timings`, from `conclave reload`), which
 * the machine ignores unless this finds nothing wrong.
 */
import type { MembershipTimings } from './types.js';

export interface TimingProblem {
  field: keyof MembershipTimings;
  message: string;
}

const FIELDS = [
  'heartbeatIntervalMs',
  'suspectAfterMs',
  'suspicionMinMs',
  'suspicionMaxMs',
  'forgetAfterMs',
  'maxHealthMultiplier',
] as const satisfies readonly (keyof MembershipTimings)[];

/** Every reason `t` cannot run; empty when it can. */
export function membershipTimingProblems(t: MembershipTimings): TimingProblem[] {
  const problems: TimingProblem[] = [];
  // The config schema is stricter (whole ms, heartbeats of 10 ms or more); this is the floor below
  // which the machine's arithmetic stops making sense.
  for (const field of FIELDS) {
    const value = t[field];
    if (!Number.isFinite(value) || value <= 0) problems.push({ field, message: `must be a positive number, got ${String(value)}` });
  }
  if (problems.length > 0) return problems;
  if (t.maxHealthMultiplier < 1) {
    problems.push({ field: 'maxHealthMultiplier', message: 'must be at least 1 (1 turns the local-health stretch off)' });
  }
  if (t.suspectAfterMs <= t.heartbeatIntervalMs) {
    problems.push({
      field: 'suspectAfterMs',
      message: `must be greater than heartbeatIntervalMs (${t.heartbeatIntervalMs}): members would be suspected between two heartbeats`,
    });
  }
  if (t.suspicionMinMs > t.suspicionMaxMs) {
    problems.push({ field: 'suspicionMinMs', message: `must not exceed suspicionMaxMs (${t.suspicionMaxMs}): confirmations only ever shorten the suspicion` });
  }
  if (t.forgetAfterMs < t.suspicionMaxMs) {
    problems.push({ field: 'forgetAfterMs', message: `must be at least suspicionMaxMs (${t.suspicionMaxMs}): a dead member must stay listed long enough to refute` });
  }
  return problems;
}
