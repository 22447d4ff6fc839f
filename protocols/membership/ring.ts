/**
 * Who watches whom, and whom a node probes (membership.ts): the live members in id order, a
 * ring in which each member's observers are the ones after it (Rapid's monitoring rings), and
 * SWIM's probe round, every member once in an order of the node's own, reshuffled each round.
 * Pure and deterministic: ids compare by code unit and shuffles draw from a hash, so every node
 * computes the same ring and a simulator seed replays the same probes.
 */
import type { NodeId } from '../types.js';
import type { Heartbeat } from './types.js';
import { sameStrings } from './meta.js';

/** The live members (alive or suspect), self included, in code-unit order. */
export class LiveRing {
  private readonly ids: NodeId[];

  constructor(selfId: NodeId) {
    this.ids = [selfId];
  }

  get size(): number {
    return this.ids.length;
  }

  /** A member became live (true) or stopped being live (false). */
  set(id: NodeId, live: boolean): void {
    const at = sortedIndex(this.ids, id);
    const present = this.ids[at] === id;
    if (live && !present) this.ids.splice(at, 0, id);
    else if (!live && present) this.ids.splice(at, 1);
  }

  /**
   * The `count` live members after `id` in id order, wrapping around; null while there are no
   * more others than that, when everyone watches everyone.
   */
  observersOf(id: NodeId, count: number): NodeId[] | null {
    const live = this.ids;
    if (live.length - 1 <= count) return null;
    const at = live.indexOf(id);
    return Array.from({ length: count }, (_, i) => live[(at + 1 + i) % live.length]!);
  }
}

/** SWIM's round of probes: each member once per round, in an order drawn from `seed` and the round. */
export class ProbeRound {
  private order: NodeId[] = [];
  private at = 0;
  private round = 0;

  constructor(private readonly seed: string) {}

  /**
   * The next member of this round that `eligible` accepts; a new round of `ids()`, freshly
   * shuffled, when this one is done; null when a whole new round has none either.
   */
  next(ids: () => readonly NodeId[], eligible: (id: NodeId) => boolean): NodeId | null {
    for (let rounds = 0; rounds < 2; rounds++) {
      while (this.at < this.order.length) {
        const id = this.order[this.at++]!;
        if (eligible(id)) return id;
      }
      this.round += 1;
      this.order = shuffled(ids(), this.seed, this.round);
      this.at = 0;
    }
    return null;
  }
}

export function sameObservers(a: readonly NodeId[] | null, b: readonly NodeId[] | null): boolean {
  return a === null || b === null ? a === b : sameStrings(a, b);
}

/** `heartbeat`'s sender is watched by `id`: it names no observers (everyone watches it), or names `id`. */
export function watches(heartbeat: Heartbeat, id: NodeId): boolean {
  return heartbeat.observers === undefined || heartbeat.observers.includes(id);
}

/** Code-unit order, not locale order: every node must iterate identically. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `ids` in an order drawn from `seed` and `round` (Fisher-Yates on hashOf). */
function shuffled(ids: readonly NodeId[], seed: string, round: number): NodeId[] {
  const out = [...ids];
  for (let i = out.length - 1; i > 0; i--) {
    const j = hashOf(seed, round * 65_537 + i) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** FNV-1a of `id` and `n`: a well-spread, deterministic choice. */
function hashOf(id: string, n: number): number {
  let h = 0x811c9dc5 ^ n;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

/** Where `id` is or would go in the code-unit-sorted `ids`. */
function sortedIndex(ids: readonly NodeId[], id: NodeId): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
