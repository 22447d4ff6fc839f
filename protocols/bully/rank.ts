/**
 * Bully rank: higher priority wins; equal priorities are broken by node id, the greater id
 * (JavaScript string order, i.e. UTF-16 code units) winning. Ids are unique, so ranks are total.
 */
import type { NodeId } from '../types.js';

export interface Ranked {
  id: NodeId;
  priority: number;
}

/** Positive when `a` outranks `b`, negative when `b` outranks `a`, zero only for the same id. */
export function compareRank(a: Ranked, b: Ranked): number {
  if (a.priority !== b.priority) return a.priority > b.priority ? 1 : -1;
  if (a.id === b.id) return 0;
  return a.id > b.id ? 1 : -1;
}

export function outranks(a: Ranked, b: Ranked): boolean {
  return compareRank(a, b) > 0;
}

/** The highest-ranked of `candidates`, or null when there are none. */
export function highestRanked<T extends Ranked>(candidates: readonly T[]): T | null {
  let best: T | null = null;
  for (const c of candidates) if (best === null || outranks(c, best)) best = c;
  return best;
}
