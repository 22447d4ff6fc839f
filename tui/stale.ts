/**
 * Whether a view may still be trusted. A disconnected view keeps its last state on screen; shown in
 * its usual colours a dead leader would look healthy. Pure: the dashboard clock comes in as `nowMs`.
 */
import type { DaemonView } from './model.js';

/**
 * Silence that makes a connected view stale anyway: three polls missed (the link polls every
 * second). Covers a daemon that holds its stream open but stopped answering, until the link gives
 * up on it.
 */
export const STALE_AFTER_MS = 3000;

export interface Staleness {
  /** Since the last snapshot, event or poll. */
  ageMs: number;
}

/** Null while the view is fresh, and before its first snapshot (nothing is shown to distrust). */
export function staleness(view: DaemonView, nowMs: number): Staleness | null {
  if (view.status === null || view.updatedAtMs === null) return null;
  const ageMs = Math.max(0, nowMs - view.updatedAtMs);
  return view.connection.kind === 'connected' && ageMs < STALE_AFTER_MS ? null : { ageMs };
}
